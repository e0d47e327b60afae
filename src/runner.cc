#include "runner.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/file.h>
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

int RunInChildAndWait(const std::function<void()>& child) {
  pid_t pid = fork();
  if (pid < 0) return 1;
  if (pid == 0) {
    child();
    _exit(1);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return 1;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace rrsync
