// The differential test: our rrsync must take the same decision as upstream's /usr/bin/rrsync on
// every command the real rsync client sends (tests/data/corpus/client_commands.txt, captured by
// capture_corpus.sh) and on every hand-written hostile command (hostile_commands.txt), under every
// row of gatekeeper flags: same exit status, same refusal message, same rsync argv and cwd (pins
// resolved), same tree afterwards. Deliberate differences live in known_differences.txt, each with
// its reason.
//
// Knobs for people, not for CI (the defaults are what CI runs):
//   RRSYNC_DIFFERENTIAL_FULL=1     every command under every row (slower; default rotates rows)
//   RRSYNC_DIFFERENTIAL_OURS=upstream  compare upstream with itself (while our binary is broken)
//   RRSYNC_DIFFERENTIAL_JOBS=N     worker processes in parallel
//   RRSYNC_DIFFERENTIAL_REPORT=F   also write every mismatch to file F
//   RRSYNC_DIFFERENTIAL_EXEC=1     start upstream's interpreter for every run instead of
//                                  forking it from a warm one (harness.cc, ForkServer)
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "corpus.h"
#include "harness.h"

namespace rrsync {
namespace differential {
namespace {

const std::string kCorpusDir = CORPUS_DIR;
const std::string kUpstream = UPSTREAM_RRSYNC;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

class TempDir {
 public:
  TempDir() {
    std::string err;
    if (!MakeTempDir(&path_, &err)) ADD_FAILURE() << err;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::vector<CorpusCommand> LoadOrFail(const std::string& name, bool require_comment) {
  std::vector<CorpusCommand> commands;
  std::string err;
  EXPECT_TRUE(LoadCommands(kCorpusDir + "/" + name, require_comment, &commands, &err)) << err;
  return commands;
}

Program Ours() {
  return Program{
      "ours", {RRSYNC_BINARY, std::string("-rsync=") + ARGV_RECORDER}, "rrsync error: ", ""};
}

// A one-line label for a mismatch class: which aspects differ and what each side did, with the
// variable part of a message (after its first ':') left out.
std::string Summary(const Outcome& o) {
  if (o.timed_out) return "timed out";
  if (o.ran) return "ran, exit " + std::to_string(o.status);
  std::string m = o.message.substr(0, o.message.find('\n'));
  size_t colon = m.find(':');
  if (colon != std::string::npos) m = m.substr(0, colon + 1) + " ...";
  return "refused (" + m + ")";
}

// Where two texts first differ: a few characters of each from there on, so that two unrelated
// message differences behind the same prefix land in different classes.
std::string FirstDifference(const std::string& a, const std::string& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  auto piece = [&](const std::string& s) {
    std::string p = s.substr(i, 12);
    for (char& ch : p) {
      if (static_cast<unsigned char>(ch) < 0x20) ch = '?';
    }
    return "'" + p + (s.size() > i + 12 ? "...'" : "'");
  };
  return piece(a) + " vs " + piece(b);
}

std::string ClassOf(const Mismatch& m) {
  std::string aspects;
  for (const std::string& a : m.aspects) aspects += (aspects.empty() ? "" : ",") + a;
  std::string cls = "[" + aspects + "] upstream " + Summary(m.a) + " / ours " + Summary(m.b);
  if (m.a.ran == m.b.ran && m.a.message != m.b.message) {
    cls += ", message differs at " + FirstDifference(m.a.message, m.b.message);
  }
  return cls;
}

std::string Report(const Mismatch& m, const std::string& a_name, const std::string& b_name) {
  std::ostringstream s;
  s << "MISMATCH in " << ClassOf(m) << "\n"
    << "  command: " << m.c.command->command << "\n"
    << "  from:    " << m.c.command->source << " (" << m.c.command->comment << ")\n"
    << "  flags:   " << m.c.row->label << "\n"
    << "  " << a_name << ":\n"
    << Describe(m.a) << "  " << b_name << ":\n"
    << Describe(m.b);
  if (m.a.tree != m.b.tree) {
    std::set<std::string> ta(m.a.tree.begin(), m.a.tree.end());
    std::set<std::string> tb(m.b.tree.begin(), m.b.tree.end());
    for (const std::string& l : ta) {
      if (!tb.count(l)) s << "    tree only after " << a_name << ": " << l << "\n";
    }
    for (const std::string& l : tb) {
      if (!ta.count(l)) s << "    tree only after " << b_name << ": " << l << "\n";
    }
  }
  return s.str();
}

bool Excused(const Mismatch& m, const std::vector<KnownDifference>& known, std::vector<int>* used) {
  for (const std::string& aspect : m.aspects) {
    bool covered = false;
    for (size_t k = 0; k < known.size(); ++k) {
      const KnownDifference& d = known[k];
      if ((d.aspect == "any" || d.aspect == aspect) &&
          std::regex_match(m.c.command->command, d.command) &&
          std::regex_match(m.c.row->label, d.rows)) {
        covered = true;
        ++(*used)[k];
      }
    }
    if (!covered) return false;
  }
  return true;
}

TEST(DifferentialData, ClientCorpusIsLargeAndDistinct) {
  std::vector<CorpusCommand> commands = LoadOrFail("client_commands.txt", false);
  EXPECT_GE(commands.size(), 300u) << "re-run tests/differential/capture_corpus.sh";
  std::set<std::string> distinct;
  for (const CorpusCommand& c : commands) {
    EXPECT_TRUE(distinct.insert(c.command).second) << c.source << ": duplicate";
    EXPECT_FALSE(c.comment.empty()) << c.source << ": no client command line above it";
  }
}

TEST(DifferentialData, EveryHostileCommandSaysWhatItAttacks) {
  std::vector<CorpusCommand> commands;
  std::string err;
  ASSERT_TRUE(LoadCommands(kCorpusDir + "/hostile_commands.txt", true, &commands, &err)) << err;
  EXPECT_GE(commands.size(), 100u);
}

TEST(DifferentialData, KnownDifferencesEachHaveAReason) {
  std::vector<KnownDifference> known;
  std::string err;
  ASSERT_TRUE(LoadKnownDifferences(kCorpusDir + "/known_differences.txt", &known, &err)) << err;
  for (const KnownDifference& d : known) EXPECT_FALSE(d.reason.empty()) << d.source;
}

TEST(DifferentialData, DecodesEscapedLinesAndRejectsTypos) {
  std::string out, err;
  ASSERT_TRUE(DecodeEscapes("a\\nb\\\\c\\rd\\te\\x41", &out, &err)) << err;
  EXPECT_EQ(out, "a\nb\\c\rd\teA");
  EXPECT_FALSE(DecodeEscapes("a\\qb", &out, &err));
  EXPECT_EQ(err, "unknown escape \\q");
  EXPECT_FALSE(DecodeEscapes("a\\", &out, &err));
  EXPECT_FALSE(DecodeEscapes("\\x4", &out, &err));
}

TEST(DifferentialData, KnownDifferenceWithoutReasonIsRejected) {
  TempDir tmp;
  std::string path = tmp.path() + "/known";
  std::ofstream(path) << "# comment\ncommand: rsync .*\n";
  std::vector<KnownDifference> known;
  std::string err;
  EXPECT_FALSE(LoadKnownDifferences(path, &known, &err));
  EXPECT_NE(err.find("needs both a reason: line and a command: line"), std::string::npos) << err;
}

// The rotating rows must stay a covering array: each mode with both values of every flag, and
// every pair of flags with all four value pairs.
TEST(DifferentialRows, CoverEveryPair) {
  const std::vector<std::string> modes = {"", "-ro", "-wo"};
  const std::vector<std::string> flags = {"-munge", "-no-del", "-no-overwrite", "-absolute",
                                          "-no-lock"};
  std::vector<Row> rows;
  for (const Row& r : Rows()) {
    if (!r.every_command && !IsRootRow(r)) rows.push_back(r);
  }
  auto has = [](const Row& r, const std::string& f) {
    return std::find(r.flags.begin(), r.flags.end(), f) != r.flags.end();
  };
  auto mode_of = [&](const Row& r) { return has(r, "-ro") ? "-ro" : has(r, "-wo") ? "-wo" : ""; };
  for (const std::string& mode : modes) {
    for (const std::string& f : flags) {
      std::set<bool> seen;
      for (const Row& r : rows) {
        if (mode_of(r) == mode) seen.insert(has(r, f));
      }
      EXPECT_EQ(seen.size(), 2u) << "mode '" << mode << "' with " << f;
    }
  }
  for (size_t i = 0; i < flags.size(); ++i) {
    for (size_t j = i + 1; j < flags.size(); ++j) {
      std::set<std::pair<bool, bool>> seen;
      for (const Row& r : rows) seen.insert({has(r, flags[i]), has(r, flags[j])});
      EXPECT_EQ(seen.size(), 4u) << flags[i] << " x " << flags[j];
    }
  }
}

TEST(DifferentialRows, RootRowsOnlyTakeReadOnlyPullsThatCreateNothing) {
  for (const Row& r : Rows()) {
    if (IsRootRow(r)) {
      EXPECT_EQ(r.flags.front(), "-ro") << r.label;
    }
  }
  EXPECT_TRUE(SafeUnderRoot("rsync --server --sender -logDtpre.iLsfxCIvu . /etc/"));
  EXPECT_FALSE(SafeUnderRoot("rsync --server -logDtpre.iLsfxCIvu . /etc/"));
  EXPECT_FALSE(SafeUnderRoot("rsync --server --sender -e.iLsfxCIvu --partial-dir /x . /"));
  EXPECT_FALSE(SafeUnderRoot("rsync --server --sender -e.iLsfxCIvu --link-dest=/x . /"));
  EXPECT_FALSE(SafeUnderRoot("rsync --server --sender -e.iLsfxCIvu --log-file=/x . /"));
  EXPECT_FALSE(SafeUnderRoot("rsync --server --sender -e.iLsfxCIvu . /proc/*"));
}

// The harness is deterministic: upstream compared with itself agrees on a spread of commands
// under every row (fixtures, pins and trees do not depend on which run came first). And the
// fork server changes nothing: "first" runs through it, "second" as `python3 rrsync` afresh.
TEST(DifferentialHarness, UpstreamAgreesWithItself) {
  TempDir tmp;
  Program a, b;
  std::string err;
  ASSERT_TRUE(MakeUpstreamProgram(kUpstream, tmp.path(), ARGV_RECORDER, {}, "first", &a, &err))
      << err;
  ASSERT_TRUE(MakeUpstreamProgram(kUpstream, tmp.path(), ARGV_RECORDER, {}, "second", &b, &err))
      << err;
  ASSERT_FALSE(a.fork_server.empty());
  b.fork_server.clear();
  std::vector<CorpusCommand> all = LoadOrFail("client_commands.txt", false);
  std::vector<CorpusCommand> hostile = LoadOrFail("hostile_commands.txt", true);
  std::vector<CorpusCommand> sample;
  for (size_t i = 0; i < all.size(); i += 45) sample.push_back(all[i]);
  for (size_t i = 0; i < hostile.size(); i += 25) sample.push_back(hostile[i]);
  std::vector<Row> rows = Rows();
  std::vector<Case> cases = PlanCases(sample, rows, PlanOptions());
  std::vector<Mismatch> mismatches;
  ASSERT_TRUE(RunDifferential(a, b, cases, DefaultJobs(), &mismatches, &err)) << err;
  for (const Mismatch& m : mismatches) ADD_FAILURE() << Report(m, "first", "second");
  int ran = 0;
  for (const Case& c : cases) ran += c.row->every_command;
  EXPECT_GT(ran, 0);
}

// A test that cannot fail is a defect: a mutated upstream that takes a different decision in
// each aspect must be caught in exactly that aspect, and nowhere else.
TEST(DifferentialHarness, NoticesEveryKindOfDifferentDecision) {
  TempDir tmp;
  Program upstream, mutant;
  std::string err;
  ASSERT_TRUE(
      MakeUpstreamProgram(kUpstream, tmp.path(), ARGV_RECORDER, {}, "upstream", &upstream, &err))
      << err;
  ASSERT_TRUE(MakeUpstreamProgram(
      kUpstream, tmp.path(), ARGV_RECORDER,
      {
          {"  'inplace': 0,\n", "  'inplace': -1,\n"},
          {"rsync_opts.append('--ignore-existing')", "rsync_opts.append('--ignore-non-existing')"},
          {"'--partial-dir': 0o700}", "'--partial-dir': 0o755}"},
          {"die(\"sending to read-only server is not allowed\")",
           "die(\"sending to a read-only server is not allowed\")"},
          {"sys.exit(child.returncode)", "sys.exit(child.returncode + 1)"},
      },
      "mutant", &mutant, &err))
      << err;
  struct Expect {
    std::string command;
    std::string row;
    std::vector<std::string> aspects;
  };
  const std::vector<Expect> expectations = {
      {"rsync --server --sender -logDtpre.iLsfxCIvu . /sub/", "DIR=abs", {}},
      {"rsync --server --sender -logDtpre.iLsfxCIvu --inplace . /sub/",
       "DIR=abs",
       {"status", "outcome", "message"}},
      {"rsync --server --sender -logDtpre.iLsfxCIvu . /sub/",
       "-no-del -no-overwrite -absolute -no-lock DIR=abs",
       {"argv"}},
      {"rsync --server -logDtpre.iLsfxCIvu --partial-dir .rsync-partial . sub/",
       "-wo -absolute DIR=symlink",
       {"tree"}},
      {"rsync --server -logDtpre.iLsfxCIvu . sub/", "-ro DIR=abs", {"message"}},
      {"rsync --server --sender -logDtpre.iLsfxCIvu . file.txt",
       "-munge -no-del DIR=relative exit=23",
       {"status"}},
  };
  std::vector<CorpusCommand> commands;
  for (const Expect& e : expectations) commands.push_back(CorpusCommand{e.command, "", "mutant"});
  std::vector<Row> rows = Rows();
  std::vector<Case> cases;
  for (size_t i = 0; i < expectations.size(); ++i) {
    const Row* row = nullptr;
    for (const Row& r : rows) {
      if (r.label == expectations[i].row) row = &r;
    }
    ASSERT_NE(row, nullptr) << expectations[i].row;
    cases.push_back(Case{&commands[i], row});
  }
  std::vector<Mismatch> mismatches;
  ASSERT_TRUE(RunDifferential(upstream, mutant, cases, DefaultJobs(), &mismatches, &err)) << err;
  for (size_t i = 0; i < expectations.size(); ++i) {
    std::vector<std::string> got;
    for (const Mismatch& m : mismatches) {
      if (m.c.command == &commands[i]) got = m.aspects;
    }
    EXPECT_EQ(got, expectations[i].aspects)
        << expectations[i].command << " under " << expectations[i].row;
  }
}

// The point of it all.
TEST(Differential, OursDecidesAsUpstreamOnEveryCommandAndRow) {
  TempDir tmp;
  Program upstream, ours;
  std::string err;
  ASSERT_TRUE(
      MakeUpstreamProgram(kUpstream, tmp.path(), ARGV_RECORDER, {}, "upstream", &upstream, &err))
      << err;
  // Upstream started afresh for every case, as before the fork server (to compare the two).
  if (Env("RRSYNC_DIFFERENTIAL_EXEC") == "1") upstream.fork_server.clear();
  if (Env("RRSYNC_DIFFERENTIAL_OURS") == "upstream") {
    ASSERT_TRUE(MakeUpstreamProgram(kUpstream, tmp.path(), ARGV_RECORDER, {}, "ours", &ours, &err))
        << err;
  } else {
    ours = Ours();
  }
  std::vector<KnownDifference> known;
  ASSERT_TRUE(LoadKnownDifferences(kCorpusDir + "/known_differences.txt", &known, &err)) << err;
  std::vector<CorpusCommand> client = LoadOrFail("client_commands.txt", false);
  std::vector<CorpusCommand> hostile = LoadOrFail("hostile_commands.txt", true);
  std::vector<Row> rows = Rows();
  bool full = Env("RRSYNC_DIFFERENTIAL_FULL") == "1";
  PlanOptions client_plan;
  client_plan.full = full;
  client_plan.rotating_per_command = 1;
  client_plan.trim_trivial = true;
  client_plan.keep_trivial_every = 16;
  PlanOptions hostile_plan;
  hostile_plan.full = full;
  hostile_plan.rotating_per_command = 1;
  std::vector<Case> cases = PlanCases(client, rows, client_plan);
  std::vector<Case> hostile_cases = PlanCases(hostile, rows, hostile_plan);
  cases.insert(cases.end(), hostile_cases.begin(), hostile_cases.end());
  size_t command_count = client.size() + hostile.size();
  int jobs = DefaultJobs();
  if (!Env("RRSYNC_DIFFERENTIAL_JOBS").empty())
    jobs = std::atoi(Env("RRSYNC_DIFFERENTIAL_JOBS").c_str());

  auto start = std::chrono::steady_clock::now();
  std::vector<Mismatch> mismatches;
  ASSERT_TRUE(RunDifferential(upstream, ours, cases, jobs, &mismatches, &err)) << err;
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::vector<int> used(known.size(), 0);
  std::map<std::string, std::pair<int, const Mismatch*>> classes;
  std::ostringstream all;
  int unexcused = 0, excused = 0;
  for (const Mismatch& m : mismatches) {
    if (Excused(m, known, &used)) {
      ++excused;
      continue;
    }
    ++unexcused;
    all << Report(m, "upstream", "ours") << "\n";
    auto& entry = classes[ClassOf(m)];
    if (entry.first++ == 0) entry.second = &m;
  }
  std::cout << all.str();
  std::cout << "differential: " << cases.size() << " runs of " << command_count
            << " commands under " << rows.size() << " rows" << (full ? " (full)" : " (rotating)")
            << " in " << seconds << " s on " << jobs << " workers; " << unexcused
            << " unexcused and " << excused << " excused mismatches\n";
  for (const auto& [cls, entry] : classes) {
    std::cout << "  class x" << entry.first << ": " << cls << "\n    e.g. "
              << entry.second->c.command->command << "   under " << entry.second->c.row->label
              << "\n";
  }
  if (!Env("RRSYNC_DIFFERENTIAL_REPORT").empty()) {
    std::ofstream(Env("RRSYNC_DIFFERENTIAL_REPORT")) << all.str();
  }
  EXPECT_EQ(unexcused, 0) << classes.size() << " classes of mismatch, listed above";
  for (size_t k = 0; k < known.size(); ++k) {
    // An entry no case used, although some planned case matches it, describes a difference
    // that is gone.
    if (used[k] > 0) continue;
    bool could_apply = false;
    for (const Case& c : cases) {
      could_apply = could_apply || (std::regex_match(c.command->command, known[k].command) &&
                                    std::regex_match(c.row->label, known[k].rows));
    }
    EXPECT_FALSE(could_apply) << known[k].source << ": known difference no longer happens ("
                              << known[k].reason << "); remove it";
  }
}

}  // namespace
}  // namespace differential
}  // namespace rrsync
