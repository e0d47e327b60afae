// The differential harness: runs one SSH_ORIGINAL_COMMAND through two gatekeepers (upstream's
// Python rrsync with RSYNC pointed at the argv recorder, and ours with -rsync=<recorder>), each on
// a fresh copy of the same fixture tree, and says in which aspects the two outcomes differ.
#ifndef RRSYNC_TESTS_DIFFERENTIAL_HARNESS_H_
#define RRSYNC_TESTS_DIFFERENTIAL_HARNESS_H_

#include <string>
#include <vector>

#include "corpus.h"

namespace rrsync {
namespace differential {

// How a row names the restricted directory on the command line.
enum class DirSpelling {
  kAbsolute,       // <case>/home/dir
  kRelative,       // dir (relative to the login directory, the cwd)
  kSymlink,        // <case>/home/dirlink, a symlink to dir
  kTrailingSlash,  // <case>/home/dir/
  kRoot,           // /         (read-only pulls only: never lets a run write outside the case)
  kDoubleSlash,    // //        (likewise)
};

// One gatekeeper configuration a command is tried under.
struct Row {
  std::string label;               // flags and DIR spelling, as printed in mismatch reports
  std::vector<std::string> flags;  // rrsync options before DIR
  DirSpelling dir = DirSpelling::kAbsolute;
  int exit_status = 0;        // non-zero: the recorder exits with it (file DIR/exit-status)
  bool every_command = true;  // false: only a rotating share of commands (see PlanCases)
};

// The rows: the three plain modes, a pairwise covering array over mode x {-munge, -no-del,
// -no-overwrite, -absolute, -no-lock} with the DIR spellings spread over it, and the DIR=/ rows.
std::vector<Row> Rows();

// True when the row names / as DIR: only read-only pulls that name no directory-creating option run
// there, so no run can write outside its temp dir whatever the gatekeeper does.
bool IsRootRow(const Row& row);
bool SafeUnderRoot(const std::string& command);

// A gatekeeper under test.
struct Program {
  std::string name;                      // "upstream", "ours", ...
  std::vector<std::string> argv_prefix;  // everything before the row's flags and DIR
  std::string error_prefix;              // stripped from each stderr line, e.g. "rrsync error: "
  // Upstream only: a Python fork server (harness.cc) that runs argv_prefix[1], the script, for
  // each case without starting an interpreter; empty runs `argv_prefix... FLAGS DIR` afresh.
  std::string fork_server;
};

// Writes a copy of upstream rrsync (`source`) into `dir` with its RSYNC line pointing at
// `recorder`, then applies each (from, to) text replacement in `mutations` (each must match exactly
// once; the tests use them to prove the comparison notices a changed decision). Returns the
// program that runs it as `/usr/bin/python3 COPY`, through a fork server (Program::fork_server).
bool MakeUpstreamProgram(const std::string& source, const std::string& dir,
                         const std::string& recorder,
                         const std::vector<std::pair<std::string, std::string>>& mutations,
                         const std::string& name, Program* program, std::string* err);

// What one run did, normalized so that two gatekeepers can be compared.
struct Outcome {
  int status = -1;  // exit status, or 128 + signal
  bool timed_out = false;
  bool ran = false;               // the recorder ran (it printed its cwd)
  std::string message;            // stderr, with the program's error prefix stripped from each line
  std::string cwd;                // the recorder's cwd
  std::vector<std::string> argv;  // recorder argv[1..], each /proc/self/fd/N spelling resolved
  std::vector<std::string> tree;  // the case dir after the run, one sorted line per entry
  std::string raw_stdout;
};

struct Case {
  const CorpusCommand* command;
  const Row* row;
};

// The aspects in which two outcomes differ: "status", "outcome" (ran vs refused), "message",
// "cwd", "argv", "tree". Empty when they agree.
std::vector<std::string> DifferingAspects(const Outcome& a, const Outcome& b);

// A multi-line human description of an outcome, for mismatch reports.
std::string Describe(const Outcome& o);

// Which (command, row) pairs to run.
struct PlanOptions {
  bool full = false;             // every command under every row (root rows still filtered)
  int rotating_per_command = 1;  // how many of the rotating rows each command meets
  // Skip rows whose mode refuses the command's direction outright (-ro with a push, -wo with a
  // pull), except for every keep_trivial_every-th command. For captured client commands, whose
  // direction is never in doubt; hostile commands keep every row.
  bool trim_trivial = false;
  int keep_trivial_every = 8;
};

// Rows with every_command run for every command; the others rotate so each command meets
// `rotating_per_command` of them and each of them meets a fair share of the commands. Root rows
// only take commands SafeUnderRoot accepts.
std::vector<Case> PlanCases(const std::vector<CorpusCommand>& commands,
                            const std::vector<Row>& rows, const PlanOptions& options);

struct Mismatch {
  Case c;
  std::vector<std::string> aspects;
  Outcome a, b;
};

// Runs every case through both programs on `jobs` worker threads (each with its own temp dir) and
// collects the cases where they differ. Fails only when the harness itself fails.
bool RunDifferential(const Program& a, const Program& b, const std::vector<Case>& cases, int jobs,
                     std::vector<Mismatch>* mismatches, std::string* err);

// Creates a fresh directory under $TMPDIR (or /tmp) and returns its real path.
bool MakeTempDir(std::string* path, std::string* err);

// The default worker count: the machine's cores, at most 4.
int DefaultJobs();

}  // namespace differential
}  // namespace rrsync

#endif  // RRSYNC_TESTS_DIFFERENTIAL_HARNESS_H_
