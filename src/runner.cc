#include "runner.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace rrsync {

LockResult LockDirectory(const std::string& dir, UniqueFd* lock) {
  UniqueFd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return LockResult::kUnsupported;
  if (flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK || errno == EAGAIN || errno == EACCES) return LockResult::kBusy;
    return LockResult::kUnsupported;
  }
  *lock = std::move(fd);
  return LockResult::kLocked;
}

void ExecRsync(const std::string& rsync_path, const std::vector<std::string>& argv,
               const std::vector<int>& inherited, std::string* err) {
  // Mark every descriptor above stderr close-on-exec (sshd or a parent may have leaked some, and
  // Landlock does not re-check descriptors already open), then let only the pins through.
  if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    *err = std::string("unable to close descriptors before running rsync: ") + strerror(errno);
    return;
  }
  for (int fd : inherited) {
    // Meant to be inherited: rsync opens its arguments through /proc/self/fd/N.
    if (fcntl(fd, F_SETFD, 0) != 0) {
      *err = std::string("unable to pass a pinned path to rsync: ") + strerror(errno);
      return;
    }
  }
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execv(rsync_path.c_str(), args.data());
  *err = "unable to run " + rsync_path + ": " + strerror(errno);
}

namespace {

// What the child of SpawnRsync needs and reports, in memory it shares with its parent.
struct SpawnState {
  const char* path;
  char* const* argv;
  char* const* envp;
  const int* inherited;
  size_t inherited_count;
  const PreparedSandbox* sandbox;
  sigset_t parent_mask;
  SandboxApplyOutcome outcome;
  int failed_step = 0;  // after the sandbox: 1 close_range, 2 fcntl, 3 execve
  int error = 0;
};

// The child: system calls only until execve (it runs on its own stack in its parent's memory).
int SpawnedChild(void* arg) {
  SpawnState* st = static_cast<SpawnState*>(arg);
  ApplySandboxSyscalls(*st->sandbox, &st->outcome);
  if (st->outcome.failed_step != 0) _exit(127);
  if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    st->failed_step = 1;
    st->error = errno;
    _exit(127);
  }
  for (size_t i = 0; i < st->inherited_count; ++i) {
    if (fcntl(st->inherited[i], F_SETFD, 0) != 0) {
      st->failed_step = 2;
      st->error = errno;
      _exit(127);
    }
  }
  sigprocmask(SIG_SETMASK, &st->parent_mask, nullptr);
  execve(st->path, st->argv, st->envp);
  st->failed_step = 3;
  st->error = errno;
  _exit(127);
}

}  // namespace

pid_t SpawnRsync(const std::string& rsync_path, const std::vector<std::string>& argv,
                 const std::vector<int>& inherited, const PreparedSandbox& sandbox,
                 SandboxReport* report, std::string* err) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  SpawnState st{rsync_path.c_str(), args.data(), environ, inherited.data(), inherited.size(),
                &sandbox, {}, {}, 0, 0};
  // The child's stack until it execs; the system calls it makes need little.
  constexpr size_t kStackSize = 64 * 1024;
  void* stack = mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    *err = std::string("unable to start rsync: ") + strerror(errno);
    return -1;
  }
  // No signal handler may run in the child while it shares this process's memory; rsync gets
  // the mask back before the exec.
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &st.parent_mask);
  pid_t pid = clone(SpawnedChild, static_cast<char*>(stack) + kStackSize,
                    CLONE_VM | CLONE_VFORK | SIGCHLD, &st);
  const int clone_error = errno;
  sigprocmask(SIG_SETMASK, &st.parent_mask, nullptr);
  munmap(stack, kStackSize);
  if (pid < 0) {
    *err = std::string("unable to start rsync: ") + strerror(clone_error);
    return -1;
  }
  if (st.outcome.failed_step != 0 || st.failed_step != 0) {
    WaitForChild(pid);
    if (!DescribeSandboxOutcome(sandbox, st.outcome, report, err)) return -1;
    if (st.failed_step == 1) {
      *err = std::string("unable to close descriptors before running rsync: ") + strerror(st.error);
    } else if (st.failed_step == 2) {
      *err = std::string("unable to pass a pinned path to rsync: ") + strerror(st.error);
    } else {
      *err = "unable to run " + rsync_path + ": " + strerror(st.error);
    }
    return -1;
  }
  DescribeSandboxOutcome(sandbox, st.outcome, report, err);
  return pid;
}

int WaitForChild(pid_t pid) {
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return 1;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace rrsync
