// How long the decision takes: SSH_ORIGINAL_COMMAND in, rsync argv (or refusal) out.
//
// Two filesystems: an in-memory one (the decision's own cost, nothing else) and the real one on a
// temp dir holding every named file (what rrsync pays at a session, minus pinning and exec).
// The file-argument cases are registered with Complexity(benchmark::oN), so the report states the
// fitted growth; the target is linear growth and 100,000 arguments in under 100 ms.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <unordered_map>
#include <memory>
#include <string>
#include <vector>

#include "command_line.h"
#include "decision.h"
#include "filesystem.h"
#include "rsync_features.h"
#include "sandbox.h"
#include "server_command.h"

namespace rrsync {
namespace {

// The restricted directory the benchmarks name, both in memory and (as a prefix) on disk.
constexpr char kMemoryDir[] = "/srv/backup";

// A tree held in memory: absolute path -> kind. No symlinks: the decision's path walk then does
// one lookup per component, which is what a plain backup tree costs.
class MemoryFilesystem : public Filesystem {
 public:
  void Add(const std::string& path, FileKind kind) {
    kinds_[path] = kind;
    if (kind == FileKind::kRegular || kind == FileKind::kDirectory) {
      size_t slash = path.rfind('/');
      if (slash != std::string::npos && slash > 0) children_[path.substr(0, slash)].push_back(path.substr(slash + 1));
    }
  }
  FileKind LinkKind(const std::string& path) override {
    auto it = kinds_.find(path);
    return it == kinds_.end() ? FileKind::kMissing : it->second;
  }
  bool IsDirectory(const std::string& path) override {
    return LinkKind(path) == FileKind::kDirectory;
  }
  bool ReadLink(const std::string&, std::string*) override { return false; }
  bool ListDirectory(const std::string& path, bool dirs_only,
                     std::vector<std::string>* names) override {
    auto it = children_.find(path);
    if (it == children_.end()) return false;
    for (const std::string& name : it->second) {
      if (!dirs_only || IsDirectory(path + "/" + name)) names->push_back(name);
    }
    return true;
  }

 private:
  std::unordered_map<std::string, FileKind> kinds_;  // hashed: the fake must not dominate
  std::map<std::string, std::vector<std::string>> children_;
};

std::string FileName(int i) {
  char name[32];
  std::snprintf(name, sizeof(name), "f%06d", i);
  return name;
}

// "rsync --server --sender -logDtpre.iLsfxCIvu . f000000 f000001 ...": what `rsync -a
// host:f000000 host:f000001 ... dst/` sends.
std::string PullOfFiles(int count) {
  std::string command = "rsync --server --sender -logDtpre.iLsfxCIvu .";
  for (int i = 0; i < count; ++i) command += " " + FileName(i);
  return command;
}

struct Case {
  const char* name;
  std::vector<std::string> flags;
  const char* command;
};

// Commands the real rsync 3.5.0 client sends (tests/data/corpus/client_commands.txt), and refusals.
const Case kTypicalCases[] = {
    {"pull_ro", {"-ro"}, "rsync --server --sender -logDtpre.iLsfxCIvu . /sub/"},
    {"push_rw", {}, "rsync --server -logDtpre.iLsfxCIvu . sub/"},
    {"push_backup_options", {"-no-overwrite"},
     "rsync --server -vlogDtprze.iLsfxCIvu --delete-after --partial-dir=.rsync-partial "
     "--link-dest=/prev . /sub/"},
    {"refused_dotdot", {"-ro"}, "rsync --server --sender -logDtpre.iLsfxCIvu . ../etc/"},
    {"refused_disabled_option", {"-ro"},
     "rsync --server --sender -logDtpre.iLsfxCIvu --log-file=/tmp/x . /sub/"},
    {"refused_not_rsync", {}, "sh -c 'cat /etc/shadow'"},
};

Settings MakeSettings(const std::vector<std::string>& flags, const std::string& dir) {
  std::vector<std::string> args = flags;
  args.push_back(dir);
  Settings settings;
  std::string err;
  if (!ParseCommandLine(args, &settings, &err)) {
    std::fprintf(stderr, "bad flags: %s\n", err.c_str());
    std::abort();
  }
  return settings;
}

MemoryFilesystem* TypicalTree() {
  static MemoryFilesystem* fs = [] {
    auto* f = new MemoryFilesystem;
    f->Add(kMemoryDir, FileKind::kDirectory);
    f->Add(std::string(kMemoryDir) + "/sub", FileKind::kDirectory);
    f->Add(std::string(kMemoryDir) + "/sub/file", FileKind::kRegular);
    f->Add(std::string(kMemoryDir) + "/prev", FileKind::kDirectory);
    return f;
  }();
  return fs;
}

void BM_TypicalCommand(benchmark::State& state, const Case* c) {
  Settings settings = MakeSettings(c->flags, kMemoryDir);
  DecisionInput input;
  input.settings = &settings;
  input.dir = kMemoryDir;
  input.command = c->command;
  for (auto _ : state) {
    Decision d = Decide(input, *TypicalTree());
    benchmark::DoNotOptimize(d);
  }
}

// The whole command for `count` files, held in memory.
void BM_PullFilesMemory(benchmark::State& state) {
  const int count = static_cast<int>(state.range(0));
  MemoryFilesystem fs;
  fs.Add(kMemoryDir, FileKind::kDirectory);
  for (int i = 0; i < count; ++i) fs.Add(std::string(kMemoryDir) + "/" + FileName(i), FileKind::kRegular);
  Settings settings = MakeSettings({"-ro"}, kMemoryDir);
  DecisionInput input;
  input.settings = &settings;
  input.dir = kMemoryDir;
  input.command = PullOfFiles(count);
  for (auto _ : state) {
    Decision d = Decide(input, fs);
    if (d.verdict != Verdict::kRunRsync) state.SkipWithError(d.refusal.c_str());
    benchmark::DoNotOptimize(d);
  }
  state.SetComplexityN(count);
  state.counters["args_per_s"] =
      benchmark::Counter(static_cast<double>(count), benchmark::Counter::kIsIterationInvariantRate);
}

// A temp dir with the files, created once per size and removed at exit.
class DiskTree {
 public:
  static const std::string& For(int count) {
    static std::map<int, std::unique_ptr<DiskTree>> trees;
    auto& tree = trees[count];
    if (!tree) tree.reset(new DiskTree(count));
    return tree->dir_;
  }
  ~DiskTree() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

 private:
  explicit DiskTree(int count) {
    char tmpl[] = "/tmp/rrsync-bench.XXXXXX";
    if (mkdtemp(tmpl) == nullptr) std::abort();
    dir_ = std::filesystem::canonical(tmpl);
    for (int i = 0; i < count; ++i) {
      int fd = open((dir_ + "/" + FileName(i)).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      if (fd < 0) std::abort();
      close(fd);
    }
  }
  std::string dir_;
};

void BM_PullFilesDisk(benchmark::State& state) {
  const int count = static_cast<int>(state.range(0));
  const std::string& dir = DiskTree::For(count);
  RealFilesystem fs;
  Settings settings = MakeSettings({"-ro"}, dir);
  DecisionInput input;
  input.settings = &settings;
  input.dir = dir;
  input.command = PullOfFiles(count);
  for (auto _ : state) {
    Decision d = Decide(input, fs);
    if (d.verdict != Verdict::kRunRsync) state.SkipWithError(d.refusal.c_str());
    benchmark::DoNotOptimize(d);
  }
  state.SetComplexityN(count);
}

// Splitting alone, to tell the word splitter's share from the path checks'.
void BM_SplitWords(benchmark::State& state) {
  const std::string command = PullOfFiles(static_cast<int>(state.range(0)));
  const std::string rest = command.substr(command.find("--sender"));
  for (auto _ : state) benchmark::DoNotOptimize(SplitServerWords(rest));
  state.SetComplexityN(state.range(0));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * rest.size()));
}

// Planning the sandbox for the real rsync: reading its ELF headers, its libraries' and
// /etc/ld.so.cache. Paid once per session with the sandbox on (not the Landlock system calls).
void BM_PlanSandboxRules(benchmark::State& state) {
  SandboxPlan plan;
  plan.dir = "/tmp";
  plan.rsync_path = "/usr/bin/rsync";
  std::vector<SandboxRule> rules;
  std::string err;
  for (auto _ : state) {
    if (!PlanSandboxRules(plan, &rules, &err)) state.SkipWithError(err.c_str());
    benchmark::DoNotOptimize(rules);
  }
}

// Learning what the real rsync supports from the option names in its binary: once per session.
void BM_DetectRsyncFeatures(benchmark::State& state) {
  RsyncFeatures features;
  std::string err;
  for (auto _ : state) {
    if (!DetectRsyncFeatures("/usr/bin/rsync", &features, &err)) state.SkipWithError(err.c_str());
    benchmark::DoNotOptimize(features);
  }
}

void RegisterAll() {
  benchmark::RegisterBenchmark("BM_PlanSandboxRules", BM_PlanSandboxRules)
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("BM_DetectRsyncFeatures", BM_DetectRsyncFeatures)
      ->Unit(benchmark::kMicrosecond);
  for (const Case& c : kTypicalCases)
    benchmark::RegisterBenchmark((std::string("BM_TypicalCommand/") + c.name).c_str(),
                                 BM_TypicalCommand, &c);
  for (auto* b : {benchmark::RegisterBenchmark("BM_PullFilesMemory", BM_PullFilesMemory),
                  benchmark::RegisterBenchmark("BM_PullFilesDisk", BM_PullFilesDisk),
                  benchmark::RegisterBenchmark("BM_SplitWords", BM_SplitWords)}) {
    b->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond)->Complexity(benchmark::oN);
  }
}

}  // namespace
}  // namespace rrsync

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  rrsync::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
