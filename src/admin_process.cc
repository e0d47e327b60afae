#include "admin_process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

namespace rrsync {

namespace {

bool MakePipe(UniqueFd* read_end, UniqueFd* write_end, std::string* err) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    *err = std::string("Failed to create a pipe: ") + strerror(errno);
    return false;
  }
  read_end->Reset(fds[0]);
  write_end->Reset(fds[1]);
  return true;
}

long long NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

bool RunProcess(const std::vector<std::string>& argv, int timeout_seconds, ProcessResult* result,
                std::string* err) {
  *result = ProcessResult();
  if (argv.empty()) {
    *err = "no program to run";
    return false;
  }
  UniqueFd out_r, out_w, err_r, err_w, exec_r, exec_w;
  if (!MakePipe(&out_r, &out_w, err) || !MakePipe(&err_r, &err_w, err) ||
      !MakePipe(&exec_r, &exec_w, err)) {
    return false;
  }
  UniqueFd devnull(open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!devnull.valid()) {
    *err = std::string("Failed to open \"/dev/null\": ") + strerror(errno);
    return false;
  }
  std::vector<char*> cargv;
  for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);

  pid_t pid = fork();
  if (pid < 0) {
    *err = std::string("Failed to fork: ") + strerror(errno);
    return false;
  }
  if (pid == 0) {
    // dup2 clears O_CLOEXEC on the copies: these three are meant to be inherited. Every other
    // descriptor, including exec_w, closes on exec, so a successful exec closes exec_w and
    // the parent reads EOF there.
    if (dup2(devnull.get(), 0) < 0 || dup2(out_w.get(), 1) < 0 || dup2(err_w.get(), 2) < 0) {
      _exit(127);
    }
    execvp(cargv[0], cargv.data());
    int e = errno;
    (void)!write(exec_w.get(), &e, sizeof e);
    _exit(127);
  }
  out_w.Reset();
  err_w.Reset();
  exec_w.Reset();
  devnull.Reset();

  int exec_errno = 0;
  ssize_t n;
  do {
    n = read(exec_r.get(), &exec_errno, sizeof exec_errno);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof exec_errno)) {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    *err = "Failed to run \"" + argv[0] + "\": " + strerror(exec_errno);
    return false;
  }

  const long long deadline = timeout_seconds > 0 ? NowMs() + timeout_seconds * 1000LL : 0;
  struct Stream {
    UniqueFd* fd;
    std::string* text;
  } streams[2] = {{&out_r, &result->out}, {&err_r, &result->err}};
  while (out_r.valid() || err_r.valid()) {
    pollfd pfds[2];
    int count = 0;
    Stream* which[2];
    for (Stream& s : streams) {
      if (!s.fd->valid()) continue;
      pfds[count] = {s.fd->get(), POLLIN, 0};
      which[count++] = &s;
    }
    int wait_ms = -1;
    if (deadline != 0) {
      long long left = deadline - NowMs();
      if (left <= 0) {
        kill(pid, SIGKILL);
        result->timed_out = true;
        break;
      }
      wait_ms = static_cast<int>(left);
    }
    int ready = poll(pfds, count, wait_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      kill(pid, SIGKILL);
      break;
    }
    for (int i = 0; i < count; ++i) {
      if (pfds[i].revents == 0) continue;
      char buf[8192];
      ssize_t got = read(pfds[i].fd, buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        which[i]->fd->Reset();
        continue;
      }
      std::string* text = which[i]->text;
      size_t room = kMaxProcessOutput - std::min(text->size(), kMaxProcessOutput);
      text->append(buf, std::min(static_cast<size_t>(got), room));
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      *err = std::string("Failed to wait for \"") + argv[0] + "\": " + strerror(errno);
      return false;
    }
  }
  if (WIFEXITED(status)) {
    result->exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result->signal = WTERMSIG(status);
  }
  return true;
}

}  // namespace rrsync
