// The signal state rsync starts with: none blocked, none ignored, whatever rrsync inherited.
// sshd, a wrapper or a service manager may start rrsync with signals blocked or ignored, and
// both survive execve; rsync under the lock must still stop on SIGTERM and see its SIGCHLD.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "runner.h"
#include "sandbox.h"

namespace rrsync {
namespace {

constexpr char kGrep[] = "/usr/bin/grep";  // the stand-in for rsync

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

// Runs, in a child process (so this one keeps its own signal state): every signal blocked and
// some ignored, then SpawnRsync of a stand-in that prints its own SigBlk and SigIgn lines.
// Returns the child's status lines first, then the stand-in's.
std::string SignalStateThroughSpawnRsync(SandboxMode mode) {
  int fds[2];
  if (pipe(fds) != 0) return "pipe failed";
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], 1);
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
    for (int sig : {SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGTERM, SIGUSR1, SIGXFSZ}) {
      signal(sig, SIG_IGN);
    }
    // What this process has: the precondition, printed first.
    pid_t self = fork();
    if (self == 0) {
      execl(kGrep, "grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status", nullptr);
      _exit(127);
    }
    waitpid(self, nullptr, 0);
    // The sandbox as rrsync applies it without a mount view (an account other than root):
    // its system-call policy must let the child reset the signals.
    SandboxPlan plan{"/", false, false, kGrep};
    plan.use_namespaces = false;
    PreparedSandbox sandbox;
    SandboxReport report;
    std::string err;
    if (!PrepareSandbox(plan, mode, &sandbox, &err)) {
      (void)!write(1, err.data(), err.size());
      _exit(2);
    }
    pid_t child = SpawnRsync(kGrep, {"grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status"}, {},
                             sandbox, &report, &err);
    if (child < 0) {
      (void)!write(1, err.data(), err.size());
      _exit(2);
    }
    _exit(WaitForChild(child));
  }
  close(fds[1]);
  std::string out = ReadAll(fds[0]);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) out += "exit " + std::to_string(status);
  return out;
}

void ExpectCleanSignalState(SandboxMode mode) {
  std::string out = SignalStateThroughSpawnRsync(mode);
  // The precondition: grep run plainly by a process in that state inherits both.
  const std::string zero = "0000000000000000";
  ASSERT_TRUE(out.starts_with("SigBlk:\t")) << out;
  ASSERT_NE(out.substr(8, 16), zero) << out;
  ASSERT_EQ(out.substr(24, 8), "\nSigIgn:") << out;
  ASSERT_NE(out.substr(33, 16), zero) << out;
  // rsync (the stand-in) has neither.
  EXPECT_TRUE(out.ends_with("\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n")) << out;
}

TEST(RunnerSignals, RsyncStartsWithNoSignalBlockedOrIgnored) {
  ExpectCleanSignalState(SandboxMode::kOff);
}

TEST(RunnerSignals, AlsoUnderTheSandbox) { ExpectCleanSignalState(SandboxMode::kAuto); }

}  // namespace
}  // namespace rrsync
