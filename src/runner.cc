#include "runner.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
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

// Marks every descriptor above stderr close-on-exec (sshd or a parent may have leaked some, and
// Landlock does not re-check descriptors already open), lets only `inherited` through, sets
// `mask` (when given) and execs. System calls only, so that a child sharing its parent's memory
// (SpawnRsync) may run it. Returns only on failure: the step, with *error its errno.
ExecStep ExecOnly(const char* path, char* const* argv, const int* inherited, size_t count,
                  const sigset_t* mask, int* error) {
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
  if (mask != nullptr) sigprocmask(SIG_SETMASK, mask, nullptr);
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
  ExecStep failed_step = ExecStep::kExec;
  int error = -1;  // ExecOnly's errno once it returned; -1 while the exec has not failed
};

// The child: system calls only until execve (it runs on its own stack in its parent's memory).
// Not instrumented by AddressSanitizer, which would take that stack for a corrupt one at _exit.
__attribute__((no_sanitize("address"))) int SpawnedChild(void* arg) {
  SpawnState* st = static_cast<SpawnState*>(arg);
  ApplySandboxSyscalls(*st->sandbox, &st->outcome);
  if (st->outcome.failed_step != 0) _exit(127);
  st->failed_step = ExecOnly(st->path, st->argv, st->inherited, st->inherited_count,
                             &st->parent_mask, &st->error);
  _exit(127);
}

}  // namespace

void ExecRsync(const std::string& rsync_path, const std::vector<std::string>& argv,
               const std::vector<int>& inherited, std::string* err) {
  std::vector<char*> args = ArgvPointers(argv);
  int error = 0;
  ExecStep step = ExecOnly(rsync_path.c_str(), args.data(), inherited.data(), inherited.size(),
                           nullptr, &error);
  *err = ExecFailure(step, error, rsync_path);
}

pid_t SpawnRsync(const std::string& rsync_path, const std::vector<std::string>& argv,
                 const std::vector<int>& inherited, const PreparedSandbox& sandbox,
                 SandboxReport* report, std::string* err) {
  std::vector<char*> args = ArgvPointers(argv);
  SpawnState st{rsync_path.c_str(), args.data(), inherited.data(), inherited.size(), &sandbox,
                {}, {}};
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

// The child's report to its parent, over a close-on-exec pipe: "A", the sandbox report's six
// fields, the number of argv words and the words, each NUL-terminated, once the sandbox is
// applied; "E" and a message when a step fails; nothing more once rsync has been exec'd (the
// pipe closes then).
constexpr int kReportFields = 6;

std::string EncodeReport(const SandboxReport& r, const std::vector<std::string>& argv) {
  std::vector<std::string> fields = {std::to_string(r.abi),
                                     r.enforced ? "1" : "0",
                                     r.mount_view ? "1" : "0",
                                     std::to_string(r.capabilities),
                                     r.rights,
                                     r.warning,
                                     std::to_string(argv.size())};
  fields.insert(fields.end(), argv.begin(), argv.end());
  std::string out = "A";
  for (const std::string& field : fields) {
    out += field;
    out.push_back('\0');
  }
  return out;
}

// Decodes an "A" record at the start of `in`; returns where it ends, or npos.
size_t DecodeReport(const std::string& in, SandboxReport* r, std::vector<std::string>* argv) {
  if (in.empty() || in[0] != 'A') return std::string::npos;
  std::vector<std::string> fields;
  size_t start = 1;
  size_t wanted = kReportFields + 1;
  while (fields.size() < wanted) {
    size_t end = in.find('\0', start);
    if (end == std::string::npos) return std::string::npos;
    fields.push_back(in.substr(start, end - start));
    start = end + 1;
    if (fields.size() == kReportFields + 1) wanted += std::strtoul(fields.back().c_str(), nullptr, 10);
    if (wanted > 1 << 20) return std::string::npos;
  }
  r->abi = std::atoi(fields[0].c_str());
  r->enforced = fields[1] == "1";
  r->mount_view = fields[2] == "1";
  r->capabilities = std::strtoull(fields[3].c_str(), nullptr, 10);
  r->rights = fields[4];
  r->warning = fields[5];
  argv->assign(fields.begin() + kReportFields + 1, fields.end());
  return start;
}

void WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

[[noreturn]] void ChildFails(int fd, const std::string& message) {
  WriteAll(fd, "E" + message);
  _exit(1);
}

volatile sig_atomic_t forward_to = 0;

void Forward(int sig) {
  if (forward_to > 0) kill(forward_to, sig);
}

}  // namespace

pid_t StartRsyncInView(const std::string& rsync_path, int dir_fd, PreparedSandbox& sandbox,
                       const InViewStep& in_view, SandboxReport* report,
                       std::vector<std::string>* argv, std::string* err) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    *err = std::string("unable to start rsync: ") + strerror(errno);
    return -1;
  }
  UniqueFd from_child(fds[0]), to_parent(fds[1]);
  // Only children enter a new PID namespace: the next fork makes rsync its first process. This
  // process stays where it is, with the host's view, to keep the lock and write the log; it
  // goes back to making children in its own namespace right after the fork (a later clone, by
  // the sanitizers' leak checker for one, would fail in a namespace whose first process is gone).
  UniqueFd own_pid_ns(open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
  if (!own_pid_ns.valid() || unshare(CLONE_NEWPID) != 0) {
    *err = std::string("unable to start rsync in a new PID namespace: ") + strerror(errno);
    return -1;
  }
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid != 0 && setns(own_pid_ns.get(), CLONE_NEWPID) != 0 && pid > 0) {
    kill(pid, SIGKILL);
    WaitForChild(pid);
    *err = std::string("unable to leave the new PID namespace: ") + strerror(errno);
    return -1;
  }
  if (pid < 0) {
    *err = std::string("unable to start rsync: ") + strerror(errno);
    return -1;
  }
  if (pid == 0) {
    from_child.Reset();
    const int out = to_parent.get();
    // rsync must not outlive the process that holds its lock and logs how it ended.
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (getppid() != parent && getppid() != 0) _exit(1);
    std::string failure;
    if (!EnterSandboxView(sandbox, dir_fd, &failure)) ChildFails(out, failure);
    std::vector<std::string> words;
    std::vector<int> inherited;
    if (!in_view(&words, &inherited, &failure)) ChildFails(out, failure);
    SandboxReport applied;
    if (!ApplySandbox(sandbox, &applied, &failure)) ChildFails(out, failure);
    WriteAll(out, EncodeReport(applied, words));
    std::vector<char*> args = ArgvPointers(words);
    int error = 0;
    ExecStep step = ExecOnly(rsync_path.c_str(), args.data(), inherited.data(), inherited.size(),
                             nullptr, &error);
    ChildFails(out, ExecFailure(step, error, rsync_path));
  }
  to_parent.Reset();
  std::string message;
  char buf[4096];
  for (;;) {
    ssize_t n = read(from_child.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    message.append(buf, static_cast<size_t>(n));
  }
  // An "A" record, then maybe an "E" one: the exec failed after the sandbox was applied.
  const size_t end = DecodeReport(message, report, argv);
  const std::string rest = end == std::string::npos ? message : message.substr(end);
  if (end == std::string::npos || !rest.empty()) {
    WaitForChild(pid);
    *err = !rest.empty() && rest[0] == 'E'
               ? rest.substr(1)
               : "unable to start rsync: the sandboxed child ended before it ran rsync";
    return -1;
  }
  return pid;
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
