// Hostile input: SSH_ORIGINAL_COMMANDs built to exhaust time, memory or the stack, and names
// holding every byte. Each runs through the built rrsync binary (with the argv_recorder stand-in
// as rsync) and must end, within a bound, either handed to rsync intact or refused with one clear
// `rrsync error: ` line.
//
// The bounds (10 s of CPU time, 256 MiB address space, 128 MiB resident) are far above what a
// healthy run needs (milliseconds to 2 s, a few MiB) and far below what a runaway reaches. Time
// is counted in CPU seconds (user + system, rrsync and the stand-in), which a loaded 2-core CI
// machine does not inflate the way it inflates wall time; a wall-clock limit of 30 s only catches
// hangs. They are the only timed assertions in the suite.
//
// The kernel caps one environment string at MAX_ARG_STRLEN (32 pages: 128 KiB), so that is the
// largest command sshd can hand to a forced command; the 1 MiB and 100,000-word cases therefore
// go through the decision in-process (and a test pins the cap itself).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "command_line.h"
#include "decision.h"
#include "filesystem.h"
#include "test_support.h"

namespace rrsync {
namespace {

using rrsync::testing::TempDir;
using rrsync::testing::WriteFile;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;  // ASan reserves terabytes of address space: no RLIMIT_AS
#else
constexpr bool kSanitized = false;
#endif

constexpr double kCpuLimitSeconds = 10;
constexpr int kWallLimitSeconds = 30;
constexpr rlim_t kAddressSpaceLimit = 256u << 20;
constexpr long kResidentLimitKiB = kSanitized ? 1024 * 1024 : 128 * 1024;
// The longest value of SSH_ORIGINAL_COMMAND that execve accepts: MAX_ARG_STRLEN counts the whole
// "NAME=value\0" string.
constexpr size_t kMaxArgStrlen = 32 * 4096;
constexpr size_t kLongestCommand = kMaxArgStrlen - sizeof("SSH_ORIGINAL_COMMAND=");

const char kPull[] = "rsync --server --sender -logDtpre.iLsfxCIvu . ";
const char kPush[] = "rsync --server -logDtpre.iLsfxCIvu . ";

struct Outcome {
  int status = -1;       // exit status, 128+signal when killed
  bool timed_out = false;
  int exec_errno = 0;    // set when execve itself failed
  long max_rss_kib = 0;  // peak resident set of rrsync and what it ran
  double seconds = 0;      // wall time
  double cpu_seconds = 0;  // user + system
  std::string out;
  std::string err;
  std::string Describe() const {
    return "status " + std::to_string(status) + (timed_out ? " (timed out)" : "") +
           ", exec errno " + std::to_string(exec_errno) + ", " + std::to_string(seconds) +
           " s wall, " + std::to_string(cpu_seconds) + " s CPU, max RSS " + std::to_string(max_rss_kib) + " KiB, stderr: " + err.substr(0, 600);
  }
};

// Runs the built rrsync with `flags DIR` in `dir`, SSH_ORIGINAL_COMMAND = command, under the
// bounds above; kills it at the time limit.
Outcome RunRrsync(const std::vector<std::string>& flags, const std::string& dir,
                  const std::string& command) {
  std::vector<std::string> argv{RRSYNC_BINARY, "-rsync=" ARGV_RECORDER};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.push_back(dir);
  std::vector<std::string> env{"SSH_ORIGINAL_COMMAND=" + command,
                               "SSH_CONNECTION=127.0.0.1 40000 127.0.0.1 22", "PATH=/usr/bin:/bin"};
  std::vector<char*> args, envp;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  int out_pipe[2], err_pipe[2], exec_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0 ||
      pipe2(exec_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2: " << strerror(errno);
    return {};
  }
  auto start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    if (!kSanitized) {
      struct rlimit limit = {kAddressSpaceLimit, kAddressSpaceLimit};
      setrlimit(RLIMIT_AS, &limit);
    }
    int null_fd = open("/dev/null", O_RDONLY);  // stdin: not a terminal, so no usage text
    dup2(null_fd, 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    if (chdir(dir.c_str()) != 0) _exit(126);
    execve(args[0], args.data(), envp.data());
    int e = errno;
    ssize_t n = write(exec_pipe[1], &e, sizeof(e));
    (void)n;
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  close(exec_pipe[1]);
  Outcome outcome;
  const auto deadline = start + std::chrono::seconds(kWallLimitSeconds);
  struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_count = 2;
  std::vector<char> buf(1 << 16);
  while (open_count > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      outcome.timed_out = true;
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      break;
    }
    if (poll(fds, 2, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buf.data(), buf.size());
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_count;
      } else {
        (i == 0 ? outcome.out : outcome.err).append(buf.data(), static_cast<size_t>(n));
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) close(f.fd);
  int status = 0;
  struct rusage usage {};
  wait4(pid, &status, 0, &usage);
  outcome.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  outcome.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  outcome.max_rss_kib = usage.ru_maxrss;
  outcome.cpu_seconds = usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
                        (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  int e = 0;
  if (read(exec_pipe[0], &e, sizeof(e)) == sizeof(e)) outcome.exec_errno = e;
  close(exec_pipe[0]);
  return outcome;
}

// Ended in time and within memory, by itself (no signal, no crash).
void ExpectBounded(const Outcome& o) {
  EXPECT_FALSE(o.timed_out) << o.Describe();
  EXPECT_LT(o.cpu_seconds, kCpuLimitSeconds) << o.Describe();
  EXPECT_EQ(o.exec_errno, 0) << o.Describe();
  EXPECT_LT(o.max_rss_kib, kResidentLimitKiB) << o.Describe();
  EXPECT_TRUE(o.status == 0 || o.status == 1) << o.Describe();
}

// A refusal is exactly one line, starting "rrsync error: ", with every control character escaped
// (it cannot forge a second line or restyle the admin's terminal) and a bounded length.
void ExpectClearRefusal(const Outcome& o) {
  ExpectBounded(o);
  EXPECT_EQ(o.status, 1) << o.Describe();
  ASSERT_TRUE(o.err.starts_with("rrsync error: ")) << o.Describe();
  ASSERT_TRUE(o.err.ends_with("\n")) << o.Describe();
  const std::string line = o.err.substr(0, o.err.size() - 1);
  for (unsigned char c : line) {
    ASSERT_TRUE(c >= 0x20 && c != 0x7f) << "raw control byte " << int(c) << " in " << o.Describe();
  }
  EXPECT_LT(line.size(), 4096u) << "the message is not length-capped";
  EXPECT_EQ(o.out, "") << "rsync ran: " << o.Describe();
}

// The stand-in's "arg" lines after the "--" "." pair: the file arguments rsync received.
std::vector<std::string> FileArgs(const std::string& recorder_out) {
  std::vector<std::string> args;
  size_t pos = 0;
  while (pos < recorder_out.size()) {
    size_t end = recorder_out.find('\n', pos);
    if (end == std::string::npos) end = recorder_out.size();
    std::string line = recorder_out.substr(pos, end - pos);
    pos = end + 1;
    if (line.starts_with("arg ")) args.push_back(line.substr(4));
  }
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--" && args[i + 1] == ".") return {args.begin() + i + 2, args.end()};
  }
  return {};
}

size_t CountLines(const std::string& text, const std::string& prefix) {
  size_t n = 0, pos = 0;
  while ((pos = text.find(prefix, pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') ++n;
    pos += prefix.size();
  }
  return n;
}

class HostileInput : public ::testing::Test {
 protected:
  void SetUp() override {
    // rrsync works in DIR's real path; /tmp may be a symlink elsewhere.
    char real[PATH_MAX];
    ASSERT_NE(realpath(tmp_.path().c_str(), real), nullptr);
    dir_ = real;
    WriteFile(dir_ + "/a", "a\n");
    ASSERT_EQ(mkdir((dir_ + "/sub").c_str(), 0755), 0);
    WriteFile(dir_ + "/sub/file", "x\n");
  }
  TempDir tmp_;
  std::string dir_;
};

TEST(KernelLimit, CommandsBeyondMaxArgStrlenCannotReachAForcedCommand) {
  // Why the 1 MiB and 100,000-word commands are tested in-process below: no exec can carry them.
  TempDir tmp;
  Outcome o = RunRrsync({"-ro"}, tmp.path(), std::string(kPull) + std::string(1 << 20, 'a'));
  EXPECT_EQ(o.exec_errno, E2BIG) << o.Describe();
  Outcome fits = RunRrsync({"-ro"}, tmp.path(), std::string(kLongestCommand, 'a'));
  EXPECT_EQ(fits.exec_errno, 0) << fits.Describe();
}

TEST_F(HostileInput, LongestDeliverableGarbageIsRefused) {
  Outcome o = RunRrsync({}, dir_, std::string(kLongestCommand, 'A'));
  ExpectClearRefusal(o);
  EXPECT_EQ(o.err, "rrsync error: SSH_ORIGINAL_COMMAND does not run rsync\n");
}

TEST_F(HostileInput, LongestDeliverableFileNameIsRefused) {
  std::string command = kPull;
  command += std::string(kLongestCommand - command.size(), 'b');
  ExpectClearRefusal(RunRrsync({"-ro"}, dir_, command));
}

TEST_F(HostileInput, LongestDeliverableOptionValueIsRefused) {
  std::string command = "rsync --server -logDtpre.iLsfxCIvu --partial-dir=";
  command += std::string(kLongestCommand - command.size() - 4, 'p') + " . a";
  ExpectClearRefusal(RunRrsync({}, dir_, command));
}

TEST_F(HostileInput, LongestDeliverableBackslashRunIsHandled) {
  // Every other byte an escape: the splitter's worst case.
  std::string command = kPull;
  while (command.size() + 2 <= kLongestCommand) command += "\\ ";
  Outcome o = RunRrsync({"-ro"}, dir_, command);
  ExpectBounded(o);
  if (o.status == 1) ExpectClearRefusal(o);
}

TEST_F(HostileInput, SixtyThousandOptionWordsAreHandled) {
  std::string command = "rsync --server --sender";
  while (command.size() + 8 + 4 < kLongestCommand) command += " -vvvvvv";
  command += " . a";
  Outcome o = RunRrsync({"-ro"}, dir_, command);
  ExpectBounded(o);
  EXPECT_EQ(o.status, 0) << o.Describe();
  EXPECT_EQ(FileArgs(o.out).size(), 1u);
}

TEST_F(HostileInput, SixtyThousandFileArgumentsAreAllHandedOver) {
  std::string command = kPull;
  size_t words = 0;
  while (command.size() + 2 <= kLongestCommand) {
    command += words ? " a" : "a";
    ++words;
  }
  Outcome o = RunRrsync({"-ro"}, dir_, command);
  ExpectBounded(o);
  ASSERT_EQ(o.status, 0) << o.Describe();
  EXPECT_EQ(FileArgs(o.out).size(), words);
  EXPECT_EQ(CountLines(o.out, "pin "), words);
}

TEST_F(HostileInput, SixtyThousandTraversalsAreRefusedAtTheFirst) {
  std::string command = kPull;
  while (command.size() + 6 <= kLongestCommand) command += " ../x";
  Outcome o = RunRrsync({"-ro"}, dir_, command);
  ExpectClearRefusal(o);
  EXPECT_EQ(o.err,
            "rrsync error: do not use .. in arg (anchor the path at the root of your restricted "
            "dir)\n");
}

TEST_F(HostileInput, DeepGlobIsBounded) {
  // 40,000 directory levels of "*": a recursive glob would need one stack frame per level.
  std::string command = kPull;
  while (command.size() + 3 <= kLongestCommand) command += "*/";
  command += "*";
  Outcome o = RunRrsync({"-ro"}, dir_, command);
  ExpectBounded(o);
  if (o.status == 1) ExpectClearRefusal(o);
}

TEST_F(HostileInput, DeepGlobOverARealDeepTreeIsBounded) {
  // A real chain of 200 directories, matched level by level.
  std::string path = dir_;
  for (int i = 0; i < 200; ++i) {
    path += "/d";
    ASSERT_EQ(mkdir(path.c_str(), 0755), 0);
  }
  std::string command = kPull;
  for (int i = 0; i < 200; ++i) command += "*/";
  command += "*";
  Outcome o = RunRrsync({"-ro"}, dir_, command);
  ExpectBounded(o);
  if (o.status == 1) ExpectClearRefusal(o);
}

TEST_F(HostileInput, GlobThroughSymlinkLoopsIsBounded) {
  // A client with a read-write key can push symlinks to "." (rsync -a keeps symlinks); each
  // "*/" level then matches both again: 2^40 paths unless the expansion is bounded.
  ASSERT_EQ(symlink(".", (dir_ + "/l1").c_str()), 0);
  ASSERT_EQ(symlink(".", (dir_ + "/l2").c_str()), 0);
  std::string command = kPull;
  for (int i = 0; i < 40; ++i) command += "*/";
  command += "a";
  Outcome o = RunRrsync({}, dir_, command);
  ExpectBounded(o);
  if (o.status == 1) ExpectClearRefusal(o);
}

TEST_F(HostileInput, StarHeavyPatternAgainstLongNamesIsBounded) {
  // Backtracking matchers go exponential on "*a*a*a...b" against "aaaa...": ours must not.
  for (int i = 0; i < 20; ++i) WriteFile(dir_ + "/" + std::string(200 + i, 'a'), "");
  std::string pattern;
  while (pattern.size() + 2 < kLongestCommand - sizeof(kPull) - 2) pattern += "*a";
  pattern += "b";
  Outcome o = RunRrsync({"-ro"}, dir_, std::string(kPull) + pattern);
  ExpectBounded(o);
  if (o.status == 1) ExpectClearRefusal(o);
}

TEST_F(HostileInput, UnclosedBracketsAreBounded) {
  std::string command = kPull + std::string(kLongestCommand - sizeof(kPull), '[');
  Outcome o = RunRrsync({"-ro"}, dir_, command);
  ExpectBounded(o);
  if (o.status == 1) ExpectClearRefusal(o);
}

TEST_F(HostileInput, ControlBytesInARefusalAreEscaped) {
  std::string command = "rsync --server --sender -logDtpre.iLsfxCIvu --log-file=\x1b[2J\r\n\x7f";
  command += "\nrrsync error: forged . a";
  Outcome o = RunRrsync({"-ro"}, dir_, command);
  ExpectClearRefusal(o);
}

// Every byte 1-255 inside a name ("x" BYTE "y", '/' aside), sent as the rsync client escapes
// names (a backslash before each special byte), pulled and pushed: each one reaches rsync as
// exactly that name, or (the special bytes, one session each) is refused with a clear line.
class EveryByte : public HostileInput {
 protected:
  void SetUp() override {
    HostileInput::SetUp();
    for (int b = 1; b < 256; ++b) {
      if (b != '/') WriteFile(dir_ + "/" + Name(b), "");
    }
  }
  static std::string Name(int b) { return std::string("x") + static_cast<char>(b) + "y"; }
  static std::string Escaped(int b) { return std::string("x\\") + static_cast<char>(b) + "y"; }
  // Glob bytes may match several names, as upstream. A backslash does not escape a newline
  // (upstream's regex "." stops at one), so "x\<LF>y" is two words: x and y.
  static bool Special(int b) { return strchr("*?[\n", b) != nullptr; }
  // rsync got a /proc/self/fd/N spelling, which the stand-in resolved: DIR pinned with the name
  // after it, or the file itself pinned.
  bool HandedOverExactly(const std::string& out, int b) {
    return out.find("<fd:" + dir_ + ">/" + Name(b) + "\n") != std::string::npos ||
           out.find("<fd:" + dir_ + "/" + Name(b) + ">\n") != std::string::npos;
  }
};

TEST_F(EveryByte, OrdinaryAndControlBytesReachRsyncExactly) {
  for (const bool pull : {true, false}) {
    SCOPED_TRACE(pull ? "pull" : "push");
    std::string command = pull ? kPull : kPush;
    int count = 0;
    for (int b = 1; b < 256; ++b) {
      if (b == '/' || Special(b)) continue;
      command += (count++ ? " " : "") + Escaped(b);
    }
    Outcome o = RunRrsync({}, dir_, command);
    ExpectBounded(o);
    ASSERT_EQ(o.status, 0) << o.Describe();
    EXPECT_EQ(FileArgs(o.out).size(), static_cast<size_t>(count));
    for (int b = 1; b < 256; ++b) {
      if (b == '/' || Special(b)) continue;
      EXPECT_TRUE(HandedOverExactly(o.out, b)) << "byte " << b << " in " << o.out;
    }
  }
}

TEST_F(EveryByte, SpecialBytesAreHandledOrRefusedClearly) {
  for (int b = 1; b < 256; ++b) {
    if (!Special(b)) continue;
    for (const bool pull : {true, false}) {
      SCOPED_TRACE(std::string("byte ") + std::to_string(b) + (pull ? " pull" : " push"));
      Outcome o = RunRrsync({}, dir_, std::string(pull ? kPull : kPush) + Escaped(b));
      if (o.status == 0) {
        ExpectBounded(o);
        EXPECT_FALSE(FileArgs(o.out).empty()) << o.out;
      } else {
        ExpectClearRefusal(o);
      }
    }
  }
}

// CPU seconds this thread has used.
double ThreadCpuSeconds() {
  struct rusage usage {};
  getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// In-process: what cannot pass through exec still cannot hurt the decision.
class HostileDecision : public HostileInput {
 protected:
  Decision DecideCommand(const std::string& command, Access access) {
    settings_.access = access;
    settings_.dir = dir_;
    DecisionInput input;
    input.settings = &settings_;
    input.dir = dir_;
    input.command = command;
    RealFilesystem fs;
    return Decide(input, fs);
  }
  Settings settings_;
};

TEST_F(HostileDecision, OneMebibyteCommandIsDecidedInBoundedTime) {
  const double start = ThreadCpuSeconds();
  Decision garbage = DecideCommand(std::string(1 << 20, 'A'), Access::kReadWrite);
  EXPECT_EQ(garbage.verdict, Verdict::kRefuse);
  EXPECT_EQ(garbage.refusal, "SSH_ORIGINAL_COMMAND does not run rsync");
  Decision name = DecideCommand(std::string(kPull) + std::string(1 << 20, 'b'), Access::kReadOnly);
  EXPECT_TRUE(name.verdict == Verdict::kRefuse || name.verdict == Verdict::kRunRsync);
  EXPECT_LT(ThreadCpuSeconds() - start, kCpuLimitSeconds);
}

TEST_F(HostileDecision, HundredThousandWordsAreDecidedInBoundedTime) {
  std::string command = kPull;
  for (int i = 0; i < 100000; ++i) command += " a";
  const double start = ThreadCpuSeconds();
  Decision d = DecideCommand(command, Access::kReadOnly);
  EXPECT_LT(ThreadCpuSeconds() - start, kCpuLimitSeconds);
  ASSERT_EQ(d.verdict, Verdict::kRunRsync) << d.refusal;
  size_t pins = 0;
  for (const ServerWord& w : d.request.words) pins += w.pin.has_value();
  EXPECT_EQ(pins, 100000u);
}

TEST_F(HostileDecision, HundredThousandOptionWordsAreDecidedInBoundedTime) {
  std::string command = "rsync --server --sender";
  for (int i = 0; i < 100000; ++i) command += " -v";
  command += " . a";
  const double start = ThreadCpuSeconds();
  Decision d = DecideCommand(command, Access::kReadOnly);
  EXPECT_LT(ThreadCpuSeconds() - start, kCpuLimitSeconds);
  EXPECT_EQ(d.verdict, Verdict::kRunRsync) << d.refusal;
}

}  // namespace
}  // namespace rrsync
