#include "runner.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
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

namespace {

// Where ExecOnly stopped.
enum class ExecStep { kCloseRange = 1, kPassPin, kExec };

// rsync starts as a program started afresh: every signal at its default disposition and none
// blocked. Both an ignored signal and the mask survive execve (a handler does not: the exec
// resets it), so what sshd or a parent of rrsync ignored or blocked, and the full mask the child
// runs under (SpawnRsync), would reach rsync: a SIGTERM that cannot stop it, a SIGCHLD it never
// sees. `ignored` (IgnoredSignals, read by the parent) names the dispositions to reset: one
// sigaction per ignored signal instead of 64 before every exec. Dispositions first, while every
// signal is still blocked; the child's table is its own (no CLONE_SIGHAND). glibc refuses its
// two internal signals (EINVAL), which it never lets anyone ignore.
void ResetSignalsForExec(uint64_t ignored) {
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG && sig <= 64; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP && (ignored & (1ULL << (sig - 1))))
      sigaction(sig, &dfl, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

// The signals this process ignores (bit N-1 for signal N), from SigIgn in /proc/self/status;
// every signal when that cannot be read, so that ResetSignalsForExec then resets them all.
uint64_t IgnoredSignals() {
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ~0ULL;
  char text[8192];
  ssize_t n = read(fd, text, sizeof(text) - 1);
  close(fd);
  if (n <= 0) return ~0ULL;
  text[n] = '\0';
  const char* line = strstr(text, "\nSigIgn:\t");
  if (line == nullptr) return ~0ULL;
  char* end = nullptr;
  const unsigned long long mask = strtoull(line + 9, &end, 16);
  return end != line + 9 && *end == '\n' ? mask : ~0ULL;
}

// Marks every descriptor above stderr close-on-exec (sshd or a parent may have leaked some, and
// Landlock does not re-check descriptors already open), lets only `inherited` through, resets
// the signals (ResetSignalsForExec) and execs. System calls only, so that a child sharing its
// parent's memory (SpawnRsync) may run it. Returns only on failure: the step, with *error its
// errno.
ExecStep ExecOnly(const char* path, char* const* argv, const int* inherited, size_t count,
                  uint64_t ignored, int* error) {
  if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    *error = errno;
    return ExecStep::kCloseRange;
  }
  for (size_t i = 0; i < count; ++i) {
    // Meant to be inherited: rsync opens its arguments through /proc/self/fd/N.
    if (fcntl(inherited[i], F_SETFD, 0) != 0) {
      *error = errno;
      return ExecStep::kPassPin;
    }
  }
  ResetSignalsForExec(ignored);
  execve(path, argv, environ);
  *error = errno;
  return ExecStep::kExec;
}

std::string ExecFailure(ExecStep step, int error, const std::string& rsync_path) {
  switch (step) {
    case ExecStep::kCloseRange:
      return std::string("unable to close descriptors before running rsync: ") + strerror(error);
    case ExecStep::kPassPin:
      return std::string("unable to pass a pinned path to rsync: ") + strerror(error);
    case ExecStep::kExec:
      break;
  }
  return "unable to run " + rsync_path + ": " + strerror(error);
}

std::vector<char*> ArgvPointers(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  return args;
}

// What the child of SpawnRsync needs and reports, in memory it shares with its parent.
struct SpawnState {
  const char* path;
  char* const* argv;
  const int* inherited;
  size_t inherited_count;
  const PreparedSandbox* sandbox;
  sigset_t parent_mask;
  SandboxApplyOutcome outcome;
  uint64_t ignored = ~0ULL;  // IgnoredSignals()
  ExecStep failed_step = ExecStep::kExec;
  int error = -1;  // ExecOnly's errno once it returned; -1 while the exec has not failed
};

// The child: system calls only until execve (it runs on its own stack in its parent's memory).
// Not instrumented by AddressSanitizer, which would take that stack for a corrupt one at _exit.
__attribute__((no_sanitize("address"))) int SpawnedChild(void* arg) {
  SpawnState* st = static_cast<SpawnState*>(arg);
  ApplySandboxSyscalls(*st->sandbox, &st->outcome);
  if (st->outcome.failed_step != 0) _exit(127);
  st->failed_step =
      ExecOnly(st->path, st->argv, st->inherited, st->inherited_count, st->ignored, &st->error);
  _exit(127);
}

}  // namespace

pid_t SpawnRsync(const std::string& rsync_path, const std::vector<std::string>& argv,
                 const std::vector<int>& inherited, const PreparedSandbox& sandbox,
                 SandboxReport* report, std::string* err) {
  std::vector<char*> args = ArgvPointers(argv);
  SpawnState st{
      rsync_path.c_str(), args.data(), inherited.data(), inherited.size(), &sandbox, {}, {}};
  // The child's stack until it execs; the system calls it makes need little.
  constexpr size_t kStackSize = 64 * 1024;
  void* stack = mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    *err = std::string("unable to start rsync: ") + strerror(errno);
    return -1;
  }
  // No signal handler may run in the child while it shares this process's memory; rsync starts
  // with none blocked (ExecOnly).
  sigset_t all;
  sigfillset(&all);
  st.ignored = IgnoredSignals();
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
  if (st.outcome.failed_step != 0 || st.error >= 0) {
    WaitForChild(pid);
    if (DescribeSandboxOutcome(sandbox, st.outcome, report, err))
      *err = ExecFailure(st.failed_step, st.error, rsync_path);
    return -1;
  }
  DescribeSandboxOutcome(sandbox, st.outcome, report, err);
  return pid;
}

namespace {

// What the child of StartRsyncInView needs and reports, in the memory it shares with its parent
// (which the kernel keeps waiting until the child has exec'd rsync or exited). Whatever the child
// allocates ends up here, for the parent to free; the descriptors it opens belong to its own
// descriptor table and are never kept in an object the parent would close.
struct ViewState {
  const char* rsync_path = nullptr;
  int dir_fd = -1;
  int parent_pidfd = -1;  // -1 where pidfd_open is missing
  const PreparedSandbox* sandbox = nullptr;
  const InViewStep* in_view = nullptr;
  sigset_t parent_mask = {};
  uint64_t ignored = ~0ULL;  // IgnoredSignals()
  // Filled by the child.
  std::vector<std::string> argv;
  std::vector<int> inherited;
  std::vector<char*> argv_pointers;
  std::string failure;  // why the view or in_view refused
  SandboxApplyOutcome outcome;
  bool reached_exec = false;
  ExecStep failed_step = ExecStep::kExec;
  int error = -1;  // ExecOnly's errno once it returned
};

// The child, first process of a new PID namespace, on its own stack in its parent's memory.
// Not instrumented by AddressSanitizer, which would take that stack for a corrupt one at _exit;
// the functions it calls are, and return before the exec.
__attribute__((no_sanitize("address"))) int ViewChild(void* arg) {
  ViewState* st = static_cast<ViewState*>(arg);
  // rsync must not outlive the process that holds its lock and logs how it ended; that process
  // may have been killed before this took effect (its pidfd is then readable).
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (st->parent_pidfd >= 0) {
    pollfd parent = {st->parent_pidfd, POLLIN, 0};
    if (poll(&parent, 1, 0) != 0) _exit(1);
  }
  if (!EnterSandboxView(*st->sandbox, st->dir_fd, &st->failure)) _exit(1);
  if (!(*st->in_view)(&st->argv, &st->inherited, &st->failure)) _exit(1);
  ApplySandboxSyscalls(*st->sandbox, &st->outcome);
  if (st->outcome.failed_step != 0) _exit(1);
  st->argv_pointers = ArgvPointers(st->argv);
  st->reached_exec = true;
  st->failed_step = ExecOnly(st->rsync_path, st->argv_pointers.data(), st->inherited.data(),
                             st->inherited.size(), st->ignored, &st->error);
  _exit(127);
}

volatile sig_atomic_t forward_to = 0;

void Forward(int sig) {
  if (forward_to > 0) kill(forward_to, sig);
}

}  // namespace

pid_t StartRsyncInView(const std::string& rsync_path, int dir_fd, PreparedSandbox& sandbox,
                       const InViewStep& in_view, SandboxReport* report,
                       std::vector<std::string>* argv, std::string* err) {
  ViewState st;
  st.rsync_path = rsync_path.c_str();
  st.dir_fd = dir_fd;
  st.sandbox = &sandbox;
  st.in_view = &in_view;
  UniqueFd parent_pidfd(static_cast<int>(syscall(SYS_pidfd_open, getpid(), 0)));
  st.parent_pidfd = parent_pidfd.get();
  // The child shares this process's memory until it execs (CLONE_VM | CLONE_VFORK), as
  // posix_spawn's does: a fork would copy the page tables only for the exec to throw them away,
  // which was the largest cost of starting rsync in the view. Its stack has a guard page below.
  constexpr size_t kGuard = 4096;
  constexpr size_t kStackSize = 1024 * 1024;
  void* mem = mmap(nullptr, kGuard + kStackSize, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED || mprotect(mem, kGuard, PROT_NONE) != 0) {
    *err = std::string("unable to start rsync: ") + strerror(errno);
    if (mem != MAP_FAILED) munmap(mem, kGuard + kStackSize);
    return -1;
  }
  // No signal handler may run in the child while it shares this process's memory; rsync starts
  // with none blocked (ExecOnly). CLONE_NEWPID makes the child the first process of a new PID
  // namespace and leaves this process, which keeps the lock and writes the log, where it is.
  sigset_t all;
  sigfillset(&all);
  st.ignored = IgnoredSignals();
  sigprocmask(SIG_SETMASK, &all, &st.parent_mask);
  pid_t pid = clone(ViewChild, static_cast<char*>(mem) + kGuard + kStackSize,
                    CLONE_VM | CLONE_VFORK | CLONE_NEWPID | SIGCHLD, &st);
  const int clone_error = errno;
  sigprocmask(SIG_SETMASK, &st.parent_mask, nullptr);
  munmap(mem, kGuard + kStackSize);
  if (pid < 0) {
    *err = std::string("unable to start rsync in a new PID namespace: ") + strerror(clone_error);
    return -1;
  }
  if (!st.reached_exec || st.error >= 0) {
    WaitForChild(pid);
    if (!st.failure.empty()) {
      *err = st.failure;
    } else if (st.outcome.failed_step != 0) {
      DescribeSandboxOutcome(sandbox, st.outcome, report, err);
    } else if (st.error >= 0) {
      *err = ExecFailure(st.failed_step, st.error, rsync_path);
    } else {
      *err = "unable to start rsync: the sandboxed child ended before it ran rsync";
    }
    return -1;
  }
  DescribeSandboxOutcome(sandbox, st.outcome, report, err);
  *argv = std::move(st.argv);
  return pid;
}

void CoerceCLocale() {
  auto set = [](const char* name) {
    const char* value = getenv(name);
    return value != nullptr && *value != '\0';
  };
  if (set("LC_ALL")) return;
  const char* ctype = set("LC_CTYPE") ? getenv("LC_CTYPE") : getenv("LANG");
  if (ctype != nullptr && *ctype != '\0' && strcmp(ctype, "C") != 0 && strcmp(ctype, "POSIX") != 0)
    return;
  // Where the system lacks C.UTF-8, rsync's setlocale fails and it stays in C, as before.
  setenv("LC_CTYPE", "C.UTF-8", 1);
}

void ForwardTerminationSignals(pid_t child) {
  forward_to = child;
  struct sigaction action = {};
  action.sa_handler = Forward;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (int sig : {SIGHUP, SIGINT, SIGTERM}) sigaction(sig, &action, nullptr);
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
