#include "harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <tuple>

namespace rrsync {
namespace differential {

namespace {

namespace fs = std::filesystem;

// A hang, not slowness: upstream's Python took 23 s for some --files-from cases on a loaded
// 2-core machine (the load test runs beside it) and was cut off at the earlier 20 s.
constexpr int kTimeoutMs = 60000;
constexpr size_t kOutputCap = 1 << 20;
// Any file the recorder finds here as its cwd's "exit-status" becomes its exit status.
constexpr int kRowExitStatus = 23;

std::string Errno(const std::string& what, const std::string& path) {
  return what + " \"" + path + "\": " + std::strerror(errno);
}

// Printable form of a name or message for reports and tree lines: control bytes and backslashes
// escaped, so a file name with a newline stays on one line.
std::string Printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

bool WriteFile(const std::string& path, const std::string& content, mode_t mode, std::string* err) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) {
    *err = Errno("Failed to create", path);
    return false;
  }
  bool ok = write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  if (!ok) *err = Errno("Failed to write", path);
  close(fd);
  if (ok && chmod(path.c_str(), mode) != 0) {
    *err = Errno("Failed to chmod", path);
    ok = false;
  }
  return ok;
}

bool MakeDir(const std::string& path, mode_t mode, std::string* err) {
  if (mkdir(path.c_str(), mode) != 0 || chmod(path.c_str(), mode) != 0) {
    *err = Errno("Failed to create directory", path);
    return false;
  }
  return true;
}

bool MakeSymlink(const std::string& target, const std::string& path, std::string* err) {
  if (symlink(target.c_str(), path.c_str()) != 0) {
    *err = Errno("Failed to create symlink", path);
    return false;
  }
  return true;
}

// The tree every run starts from. Names cover what the corpus and the hostile commands name:
// spaces, quotes, glob and brace characters, leading dashes, unicode, shell metacharacters,
// control characters, hidden files; symlinks inside, outside (relative and absolute) and
// dangling; a FIFO (opening one for reading blocks, which a gatekeeper must not do); an existing
// --link-dest basis and --temp-dir; a secret outside DIR that no accepted command may reach.
bool BuildFixture(const std::string& root, const Row& row, std::string* err) {
  const std::string home = root + "/home";
  const std::string dir = home + "/dir";
  const std::string outside = root + "/outside";
  if (!MakeDir(root, 0755, err) || !MakeDir(home, 0755, err) || !MakeDir(dir, 0755, err) ||
      !MakeDir(outside, 0755, err) || !MakeDir(outside + "/sub", 0755, err) ||
      !WriteFile(outside + "/secret.txt", "secret\n", 0600, err) ||
      !WriteFile(outside + "/sub/s.txt", "secret sub\n", 0644, err) ||
      !MakeSymlink("dir", home + "/dirlink", err)) {
    return false;
  }
  static const char* const kFiles[] = {"file.txt",
                                       "a.txt",
                                       "b.txt",
                                       "{a,b}.txt",
                                       "name with spaces.txt",
                                       "quote'file",
                                       "dq\"file",
                                       "star*",
                                       "-dashfile",
                                       "--dashdash",
                                       "-e.txt",
                                       "\xc3\xbc.txt",
                                       "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xe5\x90\x8d.txt",
                                       ".hidden",
                                       "..foo",
                                       "...",
                                       "semi;colon",
                                       "$(id)",
                                       "`id`",
                                       "a&b",
                                       "a|b",
                                       "x>y",
                                       "a b  c",
                                       "trailing ",
                                       " leading",
                                       "#hash",
                                       "=eq",
                                       "back\\slash",
                                       "tab\tname",
                                       "new\nline",
                                       "cr\rname",
                                       "a$b",
                                       "%p",
                                       "~",
                                       "list"};
  for (const char* name : kFiles) {
    std::string content = std::string(name) == "list" ? "file.txt\nsub/inner.txt\n"
                                                      : std::string("content of ") + name + "\n";
    if (!WriteFile(dir + "/" + name, content, 0644, err)) return false;
  }
  if (!MakeDir(dir + "/sub", 0755, err) || !MakeDir(dir + "/sub/deeper", 0755, err) ||
      !MakeDir(dir + "/sub/inner dir", 0755, err) || !MakeDir(dir + "/sp ace dir", 0755, err) ||
      !MakeDir(dir + "/prev", 0755, err) || !MakeDir(dir + "/tmpd", 0700, err) ||
      !WriteFile(dir + "/sub/inner.txt", "inner\n", 0644, err) ||
      !WriteFile(dir + "/sub/deeper/x.txt", "x\n", 0644, err) ||
      !WriteFile(dir + "/sp ace dir/f.txt", "f\n", 0644, err) ||
      !WriteFile(dir + "/prev/file.txt", "older\n", 0644, err) ||
      !MakeSymlink("sub", dir + "/link_in", err) ||
      !MakeSymlink("../../outside", dir + "/link_out", err) ||
      !MakeSymlink(outside, dir + "/link_abs_out", err) ||
      !MakeSymlink("does-not-exist", dir + "/dangling", err) ||
      !MakeSymlink("../outside/secret.txt", home + "/secret_link", err)) {
    return false;
  }
  if (mkfifo((dir + "/fifo").c_str(), 0644) != 0) {
    *err = Errno("Failed to create FIFO", dir + "/fifo");
    return false;
  }
  if (row.exit_status != 0 &&
      !WriteFile(dir + "/exit-status", std::to_string(row.exit_status) + "\n", 0644, err)) {
    return false;
  }
  return true;
}

uint64_t HashFile(const std::string& path) {
  uint64_t h = 1469598103934665603ull;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return 0;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) {
    for (ssize_t i = 0; i < n; ++i) {
      h ^= static_cast<unsigned char>(buf[i]);
      h *= 1099511628211ull;
    }
  }
  close(fd);
  return h;
}

// One line per entry below `root`: path, type, permission bits, and the size and content hash of a
// file or the target of a symlink. Owner and times are left out: both gatekeepers run as the same
// user, and times differ between any two runs.
// Content hashes keyed by what changes whenever content can have changed (ctime moves on every
// write, rename and chmod), so an unchanged fixture is not re-read after every run.
struct FileKey {
  dev_t dev;
  ino_t ino;
  off_t size;
  int64_t mtime_ns, ctime_ns;
  bool operator<(const FileKey& o) const {
    return std::tie(dev, ino, size, mtime_ns, ctime_ns) <
           std::tie(o.dev, o.ino, o.size, o.mtime_ns, o.ctime_ns);
  }
};
using HashCache = std::map<FileKey, uint64_t>;

int64_t Nanos(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

bool SnapshotTree(const std::string& root, HashCache* cache, std::vector<std::string>* lines,
                  std::string* err) {
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::none, ec);
  if (ec) {
    *err = "Failed to walk \"" + root + "\": " + ec.message();
    return false;
  }
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const std::string path = it->path().string();
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) {
      *err = Errno("Failed to lstat", path);
      return false;
    }
    std::string line = Printable(path.substr(root.size() + 1));
    char mode[16];
    std::snprintf(mode, sizeof(mode), " %04o", static_cast<unsigned>(st.st_mode & 07777));
    if (S_ISDIR(st.st_mode)) {
      line += " dir";
    } else if (S_ISLNK(st.st_mode)) {
      line += " symlink -> " + Printable(fs::read_symlink(it->path(), ec).string());
      std::strcpy(mode, "");
    } else if (S_ISREG(st.st_mode)) {
      FileKey key{st.st_dev, st.st_ino, st.st_size, Nanos(st.st_mtim), Nanos(st.st_ctim)};
      auto hit = cache->find(key);
      uint64_t hash = hit != cache->end() ? hit->second : ((*cache)[key] = HashFile(path));
      line += " file " + std::to_string(st.st_size) + " " + std::to_string(hash);
    } else if (S_ISFIFO(st.st_mode)) {
      line += " fifo";
    } else {
      line += " other";
    }
    lines->push_back(line + mode);
  }
  if (ec) {
    *err = "Failed to walk \"" + root + "\": " + ec.message();
    return false;
  }
  std::sort(lines->begin(), lines->end());
  return true;
}

struct RunResult {
  int status = -1;
  bool timed_out = false;
  std::string out, err;
};

// Reads a gatekeeper's stdout and stderr until both reach EOF or the deadline passes; then kills
// its process group (a hang) and says so in result->timed_out. Closes both descriptors.
void CollectOutput(pid_t pid, int out_fd, int err_fd, RunResult* result) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kTimeoutMs);
  struct pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  std::string* sinks[2] = {&result->out, &result->err};
  int open_count = 2;
  while (open_count > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      result->timed_out = true;
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);  // a fork server's child may not have made its group yet
      break;
    }
    int n = poll(fds, 2, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[8192];
      ssize_t got = read(fds[i].fd, buf, sizeof(buf));
      if (got > 0) {
        if (sinks[i]->size() < kOutputCap) sinks[i]->append(buf, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_count;
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) close(f.fd);
  }
}

// A NULL-terminated array of pointers into `strings`, for execve (built before a fork: the
// child may only use it).
std::vector<char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const std::string& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// fork+exec with nothing but async-signal-safe calls in the child (the harness is threaded): its
// own process group so a timeout can kill whatever it started, stdin from /dev/null, every other
// descriptor closed.
bool Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
           const std::string& cwd, RunResult* result, std::string* err) {
  std::vector<char*> cargv = CStrings(argv), cenv = CStrings(env);
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int out_pipe[2], err_pipe[2];
  if (devnull < 0 || pipe2(out_pipe, O_CLOEXEC) != 0) {
    *err = Errno("Failed to set up", "pipes");
    return false;
  }
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    *err = Errno("Failed to set up", "pipes");
    return false;
  }
  pid_t pid = fork();
  if (pid < 0) {
    *err = Errno("Failed to fork for", argv[0]);
    return false;
  }
  if (pid == 0) {
    setpgid(0, 0);
    if (chdir(cwd.c_str()) != 0) _exit(126);
    // dup2 clears O_CLOEXEC on the copies: these three are meant to be inherited.
    if (dup2(devnull, 0) < 0 || dup2(out_pipe[1], 1) < 0 || dup2(err_pipe[1], 2) < 0) _exit(126);
    close_range(3, ~0U, 0);
    execve(cargv[0], cargv.data(), cenv.data());
    _exit(127);
  }
  setpgid(pid, pid);
  close(devnull);
  close(out_pipe[1]);
  close(err_pipe[1]);
  CollectOutput(pid, out_pipe[0], err_pipe[0], result);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  // Anything the gatekeeper left behind in its group (it should leave nothing) goes too.
  kill(-pid, SIGKILL);
  result->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  return true;
}

// The Python side of ForkServer: compiles upstream's script once, imports what it imports, then
// for each request forks a child that takes the request's descriptors, cwd, environment and
// argv and runs the script as __main__, exactly as `python3 SCRIPT ARGS...` would from there on
// (SystemExit and uncaught exceptions end it as the interpreter would). It answers with the
// child's pid, then with its exit code (negative: killed by that signal). Interpreter start-up,
// imports and compiling the script are most of a run's CPU time (about 0.1 s): paid once.
constexpr char kForkServerPy[] = R"PY(import os, sys, socket, array
import re, argparse, glob, stat, time, subprocess, fcntl, errno  # upstream's imports
script = sys.argv[1]
with open(script, 'rb') as f:
    code = compile(f.read(), script, 'exec')
sock = socket.socket(fileno=3)
while True:
    fds = array.array('i')
    msg, anc, _, _ = sock.recvmsg(1 << 20, socket.CMSG_SPACE(3 * fds.itemsize))
    if not msg:
        break
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
    fields = msg.split(b'\0')
    cwd, argc = fields[0], int(fields[1])
    args, env = fields[2:2 + argc], fields[2 + argc:-1]
    pid = os.fork()
    if pid == 0:
        try:
            sock.close()
            os.setpgid(0, 0)
            os.chdir(cwd)
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
            os.closerange(3, 65536)
            os.environ.clear()
            for e in env:
                name, _, value = e.partition(b'=')
                os.environb[name] = value
            sys.argv = [os.fsdecode(a) for a in args]
            sys.path[0] = os.path.dirname(script)
        except BaseException:
            os._exit(126)
        status = 0
        try:
            exec(code, {'__name__': '__main__', '__file__': script, '__builtins__': __builtins__})
        except SystemExit as e:
            if e.code is None:
                status = 0
            elif isinstance(e.code, int):
                status = e.code & 0xff
            else:
                print(e.code, file=sys.stderr)
                status = 1
        except BaseException:
            sys.excepthook(*sys.exc_info())
            status = 1
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
        os._exit(status)
    for fd in fds:
        os.close(fd)
    sock.send(b'%d' % pid)
    _, wstatus = os.waitpid(pid, 0)
    sock.send(b'%d' % os.waitstatus_to_exitcode(wstatus))
)PY";

// One Python process per worker and program that runs upstream's script for each case without
// starting an interpreter (kForkServerPy). Started on first use, ended when destroyed.
class ForkServer {
 public:
  ForkServer() = default;
  ~ForkServer() {
    if (sock_ >= 0) close(sock_);  // the server reads EOF and exits
    if (pid_ > 0) {
      while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
  }
  ForkServer(const ForkServer&) = delete;
  ForkServer& operator=(const ForkServer&) = delete;

  bool Start(const Program& program, std::string* err) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
      *err = Errno("Failed to create", "fork server socket");
      return false;
    }
    std::vector<std::string> argv = {program.argv_prefix[0], program.fork_server,
                                     program.argv_prefix[1]};
    // The encoding of the script's stdout and stderr is fixed at interpreter start: the same
    // LANG as every case's.
    std::vector<std::string> env = {"LANG=C.UTF-8", "PATH=/usr/bin:/bin"};
    std::vector<char*> cargv = CStrings(argv), cenv = CStrings(env);
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0) {
      *err = Errno("Failed to open", "/dev/null");
      close(sv[0]);
      close(sv[1]);
      return false;
    }
    pid_t pid = fork();
    if (pid < 0) {
      *err = Errno("Failed to fork for", "the fork server");
      close(devnull);
      close(sv[0]);
      close(sv[1]);
      return false;
    }
    if (pid == 0) {
      // stdin /dev/null, its socket as fd 3, stdout to /dev/null, stderr the test's (a server
      // that breaks says why there); nothing else.
      if (dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(sv[1], 3) < 0) _exit(126);
      close_range(4, ~0U, 0);
      execve(cargv[0], cargv.data(), cenv.data());
      _exit(127);
    }
    close(devnull);
    close(sv[1]);
    pid_ = pid;
    sock_ = sv[0];
    return true;
  }

  // Runs one case: argv without the interpreter (the script first), as Spawn would.
  bool Run(const std::vector<std::string>& argv, const std::vector<std::string>& env,
           const std::string& cwd, RunResult* result, std::string* err) {
    std::string msg = cwd + '\0' + std::to_string(argv.size() - 1) + '\0';
    for (size_t i = 1; i < argv.size(); ++i) msg += argv[i] + '\0';
    for (const std::string& e : env) msg += e + '\0';
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int out_pipe[2], err_pipe[2];
    if (devnull < 0 || pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
      *err = Errno("Failed to set up", "pipes");
      return false;
    }
    int fds[3] = {devnull, out_pipe[1], err_pipe[1]};
    char control[CMSG_SPACE(sizeof fds)] = {};
    iovec iov{msg.data(), msg.size()};
    msghdr hdr{};
    hdr.msg_iov = &iov;
    hdr.msg_iovlen = 1;
    hdr.msg_control = control;
    hdr.msg_controllen = sizeof control;
    cmsghdr* cmsg = CMSG_FIRSTHDR(&hdr);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof fds);
    std::memcpy(CMSG_DATA(cmsg), fds, sizeof fds);
    ssize_t sent = sendmsg(sock_, &hdr, MSG_NOSIGNAL);
    for (int fd : fds) close(fd);
    long pid = 0, code = 0;
    if (sent != static_cast<ssize_t>(msg.size()) || !Receive(&pid, err) || pid <= 0) {
      close(out_pipe[0]);
      close(err_pipe[0]);
      if (err->empty()) *err = Errno("Failed to talk to", "the fork server");
      return false;
    }
    CollectOutput(static_cast<pid_t>(pid), out_pipe[0], err_pipe[0], result);
    if (!Receive(&code, err)) return false;
    kill(-static_cast<pid_t>(pid), SIGKILL);  // what it left behind in its group, as Spawn does
    result->status = code < 0 ? 128 + static_cast<int>(-code) : static_cast<int>(code);
    return true;
  }

 private:
  bool Receive(long* value, std::string* err) {
    char buf[32];
    ssize_t n;
    do {
      n = recv(sock_, buf, sizeof buf - 1, 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
      *err = "the fork server for upstream's rrsync ended (see its stderr above)";
      return false;
    }
    buf[n] = '\0';
    *value = std::strtol(buf, nullptr, 10);
    return true;
  }

  pid_t pid_ = -1;
  int sock_ = -1;
};

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::string line;
  std::istringstream in(text);
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

// Turns the recorder's lines into cwd and argv, replacing every argument that holds a
// /proc/self/fd/N spelling by its pin line's resolution (the recorder prints the pin lines in
// argument order, one for each such argument).
void ParseRecorder(const std::string& stdout_text, Outcome* o) {
  std::vector<std::string> raw_args, pins;
  for (const std::string& line : SplitLines(stdout_text)) {
    if (line.rfind("cwd ", 0) == 0 && !o->ran) {
      o->ran = true;
      o->cwd = line.substr(4);
    } else if (line.rfind("arg ", 0) == 0) {
      raw_args.push_back(line.substr(4));
    } else if (line.rfind("pin ", 0) == 0) {
      pins.push_back(line.substr(4));
    }
  }
  size_t next_pin = 0;
  for (size_t i = 1; i < raw_args.size(); ++i) {
    const std::string& arg = raw_args[i];
    if (arg.find("/proc/self/fd/") == std::string::npos) {
      o->argv.push_back(arg);
      continue;
    }
    std::string expect = arg + " -> ";
    if (next_pin < pins.size() && pins[next_pin].rfind(expect, 0) == 0) {
      o->argv.push_back(pins[next_pin++].substr(expect.size()));
    } else {
      o->argv.push_back("<unmatched pin> " + arg);
    }
  }
}

std::string NormalizeMessage(const std::string& stderr_text, const std::string& prefix) {
  std::string out;
  for (const std::string& line : SplitLines(stderr_text)) {
    if (!out.empty()) out += "\n";
    if (!prefix.empty() && line.rfind(prefix, 0) == 0) {
      out += line.substr(prefix.size());
    } else {
      out += "[unprefixed] " + line;
    }
  }
  return out;
}

std::string DirArgument(const std::string& home, DirSpelling spelling) {
  switch (spelling) {
    case DirSpelling::kAbsolute:
      return home + "/dir";
    case DirSpelling::kRelative:
      return "dir";
    case DirSpelling::kSymlink:
      return home + "/dirlink";
    case DirSpelling::kTrailingSlash:
      return home + "/dir/";
    case DirSpelling::kRoot:
      return "/";
    case DirSpelling::kDoubleSlash:
      return "//";
  }
  return home + "/dir";
}

const char* SpellingName(DirSpelling spelling) {
  switch (spelling) {
    case DirSpelling::kAbsolute:
      return "abs";
    case DirSpelling::kRelative:
      return "relative";
    case DirSpelling::kSymlink:
      return "symlink";
    case DirSpelling::kTrailingSlash:
      return "trailing-slash";
    case DirSpelling::kRoot:
      return "/";
    case DirSpelling::kDoubleSlash:
      return "//";
  }
  return "?";
}

std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  size_t pos = 0;
  while ((pos = text.find(from, pos)) != std::string::npos) {
    text.replace(pos, from.size(), to);
    pos += to.size();
  }
  return text;
}

Row MakeRow(std::vector<std::string> flags, DirSpelling dir, int exit_status, bool every) {
  Row row;
  row.flags = std::move(flags);
  row.dir = dir;
  row.exit_status = exit_status;
  row.every_command = every;
  for (const std::string& f : row.flags) row.label += f + " ";
  row.label += std::string("DIR=") + SpellingName(dir);
  if (exit_status != 0) row.label += " exit=" + std::to_string(exit_status);
  return row;
}

}  // namespace

std::vector<Row> Rows() {
  using S = DirSpelling;
  const int x = kRowExitStatus;
  return {
      // The three configurations admins actually write, for every command.
      MakeRow({}, S::kAbsolute, 0, true),
      MakeRow({"-ro"}, S::kAbsolute, 0, true),
      MakeRow({"-wo"}, S::kAbsolute, 0, true),
      // A covering array: every mode meets both values of each of -munge, -no-del, -no-overwrite,
      // -absolute and -no-lock, and every pair of those flags meets all four value pairs
      // (DifferentialRows.CoverEveryPair checks it). DIR spellings and a non-zero rsync exit are
      // spread over it; the exit rows take both the exec path (-no-lock) and the child path.
      MakeRow({"-no-del", "-no-overwrite", "-absolute", "-no-lock"}, S::kAbsolute, 0, false),
      MakeRow({"-ro", "-no-lock"}, S::kRelative, 0, false),
      MakeRow({"-wo", "-absolute"}, S::kSymlink, 0, false),
      MakeRow({"-munge", "-no-del"}, S::kRelative, x, false),
      MakeRow({"-ro", "-munge", "-no-del", "-no-overwrite", "-absolute"}, S::kSymlink, 0, false),
      MakeRow({"-wo", "-munge", "-no-del", "-no-overwrite", "-no-lock"}, S::kTrailingSlash, x,
              false),
      MakeRow({"-munge", "-no-overwrite", "-absolute", "-no-lock"}, S::kTrailingSlash, 0, false),
      // DIR=/ (no confinement at all): read-only pulls only, see SafeUnderRoot.
      MakeRow({"-ro"}, S::kRoot, 0, false),
      MakeRow({"-ro", "-munge", "-absolute", "-no-lock"}, S::kDoubleSlash, 0, false),
  };
}

bool IsRootRow(const Row& row) {
  return row.dir == DirSpelling::kRoot || row.dir == DirSpelling::kDoubleSlash;
}

bool SafeUnderRoot(const std::string& command) {
  // A pull, and none of the options that make a gatekeeper create a directory or open a log: with
  // DIR=/ a wrong decision about one of those would write into the real root.
  if (command.rfind("rsync --server --sender ", 0) != 0) return false;
  // Nor a glob: expanded against the live root (/proc, /tmp) it names different files from one
  // run to the next.
  static const char* const kUnsafe[] = {"-dir", "-dest", "log-file", "-T", "\n",
                                        "\r",   "*",     "?",        "[",  "{"};
  for (const char* word : kUnsafe) {
    if (command.find(word) != std::string::npos) return false;
  }
  return true;
}

bool MakeUpstreamProgram(const std::string& source, const std::string& dir,
                         const std::string& recorder,
                         const std::vector<std::pair<std::string, std::string>>& mutations,
                         const std::string& name, Program* program, std::string* err) {
  std::ifstream in(source, std::ios::binary);
  if (!in) {
    *err = "cannot read " + source;
    return false;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  std::string text = buf.str();
  std::vector<std::pair<std::string, std::string>> edits = {
      {"\nRSYNC = '/usr/bin/rsync'\n", "\nRSYNC = '" + recorder + "'\n"}};
  edits.insert(edits.end(), mutations.begin(), mutations.end());
  for (const auto& [from, to] : edits) {
    size_t at = text.find(from);
    if (at == std::string::npos || text.find(from, at + 1) != std::string::npos) {
      *err = source + ": expected exactly one occurrence of: " + Printable(from);
      return false;
    }
    text.replace(at, from.size(), to);
  }
  // Named rrsync like the real one; its error prefix is its whole argv[0].
  std::string path = dir + "/" + name + "/rrsync";
  std::error_code ec;
  fs::create_directories(dir + "/" + name, ec);
  std::string why;
  if (ec || !WriteFile(path, text, 0755, &why)) {
    *err = ec ? "Failed to create " + dir + "/" + name + ": " + ec.message() : why;
    return false;
  }
  const std::string server = dir + "/" + name + "/fork_server.py";
  if (!WriteFile(server, kForkServerPy, 0644, &why)) {
    *err = why;
    return false;
  }
  program->name = name;
  program->argv_prefix = {"/usr/bin/python3", path};
  program->error_prefix = path + " error: ";
  program->fork_server = server;
  return true;
}

namespace {

// A worker's case directory. Building the fixture and walking it cost more than a gatekeeper
// run, so the tree is kept between runs as long as it is still exactly the pristine one (every
// compared attribute: names, types, modes, sizes, contents, symlink targets); a run that changed
// anything, or a row that needs a different fixture, gets a freshly built tree.
class Workspace {
 public:
  explicit Workspace(std::string root) : root_(std::move(root)) {}
  ~Workspace() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  const std::string& root() const { return root_; }

  // This worker's fork server for `program`, started on first use; nullptr and *err if it
  // could not be.
  ForkServer* Server(const Program& program, std::string* err) {
    std::unique_ptr<ForkServer>& server = servers_[program.name];
    if (!server) {
      auto started = std::make_unique<ForkServer>();
      if (!started->Start(program, err)) return nullptr;
      server = std::move(started);
    }
    return server.get();
  }

  bool Prepare(const Row& row, std::string* err) {
    if (built_ && clean_ && built_exit_status_ == row.exit_status) return true;
    std::error_code ec;
    fs::remove_all(root_, ec);
    built_ = false;
    if (!BuildFixture(root_, row, err)) return false;
    std::vector<std::string> tree;
    if (!SnapshotTree(root_, &cache_, &tree, err)) return false;
    auto known = pristine_.find(row.exit_status);
    if (known == pristine_.end()) {
      pristine_[row.exit_status] = tree;
    } else if (known->second != tree) {
      *err = "fixture is not deterministic: two builds differ";
      return false;
    }
    built_ = clean_ = true;
    built_exit_status_ = row.exit_status;
    return true;
  }

  bool Snapshot(std::vector<std::string>* tree, std::string* err) {
    if (!SnapshotTree(root_, &cache_, tree, err)) return false;
    clean_ = *tree == pristine_[built_exit_status_];
    return true;
  }

 private:
  std::string root_;
  bool built_ = false, clean_ = false;
  int built_exit_status_ = 0;
  std::map<int, std::vector<std::string>> pristine_;
  HashCache cache_;
  std::map<std::string, std::unique_ptr<ForkServer>> servers_;
};

bool RunCase(const Program& program, const Case& c, Workspace* ws, Outcome* out, std::string* err) {
  if (!ws->Prepare(*c.row, err)) return false;
  const std::string home = ws->root() + "/home";
  const std::string real_dir = home + "/dir";
  std::vector<std::string> argv = program.argv_prefix;
  argv.insert(argv.end(), c.row->flags.begin(), c.row->flags.end());
  argv.push_back(DirArgument(home, c.row->dir));
  std::vector<std::string> env = {
      "SSH_ORIGINAL_COMMAND=" + ReplaceAll(c.command->command, "@DIR@", real_dir),
      "SSH_CONNECTION=192.0.2.10 50022 192.0.2.1 22",
      "SSH_CLIENT=192.0.2.10 50022 22",
      "HOME=" + home,
      "USER=root",
      "LOGNAME=root",
      "SHELL=/bin/sh",
      "PATH=/usr/bin:/bin",
      "LANG=C.UTF-8",
  };
  RunResult result;
  if (program.fork_server.empty()) {
    if (!Spawn(argv, env, home, &result, err)) return false;
  } else {
    ForkServer* server = ws->Server(program, err);
    if (server == nullptr || !server->Run(argv, env, home, &result, err)) return false;
  }
  out->status = result.status;
  out->timed_out = result.timed_out;
  out->raw_stdout = result.out;
  out->message = NormalizeMessage(result.err, program.error_prefix);
  ParseRecorder(result.out, out);
  return ws->Snapshot(&out->tree, err);
}

}  // namespace

std::vector<std::string> DifferingAspects(const Outcome& a, const Outcome& b) {
  std::vector<std::string> aspects;
  if (a.status != b.status || a.timed_out != b.timed_out) aspects.push_back("status");
  if (a.ran != b.ran) aspects.push_back("outcome");
  if (a.message != b.message) aspects.push_back("message");
  if (a.ran && b.ran) {
    if (a.cwd != b.cwd) aspects.push_back("cwd");
    if (a.argv != b.argv) aspects.push_back("argv");
  }
  if (a.tree != b.tree) aspects.push_back("tree");
  return aspects;
}

std::string Describe(const Outcome& o) {
  std::string s = "    exit " + std::to_string(o.status) + (o.timed_out ? " (TIMED OUT)" : "") +
                  (o.ran ? ", ran rsync\n" : ", refused\n");
  if (!o.message.empty()) s += "    stderr: " + Printable(o.message) + "\n";
  if (o.ran) {
    s += "    cwd: " + Printable(o.cwd) + "\n    argv:";
    std::string argv;
    for (const std::string& a : o.argv) argv += " [" + Printable(a) + "]";
    if (argv.size() > 2000)
      argv = argv.substr(0, 2000) + " ... (" + std::to_string(o.argv.size()) + " args)";
    s += argv + "\n";
  }
  return s;
}

namespace {

bool IsPull(const std::string& command) {
  return command.rfind("rsync --server --sender ", 0) == 0;
}

bool Has(const Row& row, const char* flag) {
  return std::find(row.flags.begin(), row.flags.end(), flag) != row.flags.end();
}

// A client command whose direction the row's mode refuses outright (-ro and a push, -wo and a
// pull): the answer is the direction check's, whatever the options.
bool TriviallyRefused(const std::string& command, const Row& row) {
  return IsPull(command) ? Has(row, "-wo") : Has(row, "-ro");
}

}  // namespace

std::vector<Case> PlanCases(const std::vector<CorpusCommand>& commands,
                            const std::vector<Row>& rows, const PlanOptions& options) {
  std::vector<Case> cases;
  std::map<bool, size_t> seen;
  for (size_t i = 0; i < commands.size(); ++i) {
    const CorpusCommand* cmd = &commands[i];
    bool root_ok = SafeUnderRoot(cmd->command);
    // Every `keep_trivial_every`-th command keeps its trivially refused rows, so the direction
    // check is still compared on client-shaped commands.
    bool keep_trivial = !options.trim_trivial || options.full ||
                        i % static_cast<size_t>(std::max(1, options.keep_trivial_every)) == 0;
    auto wanted = [&](const Row& row) {
      if (IsRootRow(row) && !root_ok) return false;
      return keep_trivial || !TriviallyRefused(cmd->command, row);
    };
    std::vector<const Row*> rotating;
    for (const Row& r : rows) {
      if (!wanted(r)) continue;
      if (r.every_command || options.full) {
        cases.push_back(Case{cmd, &r});
      } else {
        rotating.push_back(&r);
      }
    }
    if (rotating.empty()) continue;
    // The k-th pull (or k-th other command) meets rotating rows k, k+s, k+2s, ... of those open
    // to it (s = their count / per-command share): counting pulls and pushes apart gives every
    // row an equal share of each, however the file interleaves them.
    size_t n = rotating.size();
    size_t take = std::min(static_cast<size_t>(std::max(0, options.rotating_per_command)), n);
    if (take == 0) continue;
    size_t step = n / take;
    size_t k = seen[IsPull(cmd->command)]++;
    for (size_t j = 0; j < take; ++j) cases.push_back(Case{cmd, rotating[(k + j * step) % n]});
  }
  return cases;
}

bool RunDifferential(const Program& a, const Program& b, const std::vector<Case>& cases, int jobs,
                     std::vector<Mismatch>* mismatches, std::string* err) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::string first_error;
  std::vector<std::pair<size_t, Mismatch>> found;
  auto worker = [&]() {
    std::string dir, why;
    if (!MakeTempDir(&dir, &why)) {
      std::lock_guard<std::mutex> lock(mu);
      if (first_error.empty()) first_error = why;
      failed = true;
      return;
    }
    Workspace ws(dir + "/case");
    while (!failed) {
      size_t i = next++;
      if (i >= cases.size()) break;
      Outcome oa, ob;
      auto started = std::chrono::steady_clock::now();
      if (!RunCase(a, cases[i], &ws, &oa, &why) || !RunCase(b, cases[i], &ws, &ob, &why)) {
        std::lock_guard<std::mutex> lock(mu);
        if (first_error.empty()) first_error = cases[i].command->source + ": " + why;
        failed = true;
        break;
      }
      double took =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      if (took > 10) {
        std::lock_guard<std::mutex> lock(mu);
        std::fprintf(stderr, "differential: slow case (%.1f s): %s under %s\n", took,
                     cases[i].command->command.substr(0, 200).c_str(), cases[i].row->label.c_str());
      }
      std::vector<std::string> aspects = DifferingAspects(oa, ob);
      if (!aspects.empty()) {
        std::lock_guard<std::mutex> lock(mu);
        found.push_back({i, Mismatch{cases[i], aspects, std::move(oa), std::move(ob)}});
      }
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
  };
  std::vector<std::thread> threads;
  for (int j = 0; j < std::max(1, jobs); ++j) threads.emplace_back(worker);
  for (std::thread& t : threads) t.join();
  if (failed) {
    *err = first_error;
    return false;
  }
  std::sort(found.begin(), found.end(),
            [](const auto& x, const auto& y) { return x.first < y.first; });
  for (auto& [i, m] : found) mismatches->push_back(std::move(m));
  return true;
}

bool MakeTempDir(std::string* path, std::string* err) {
  std::error_code ec;
  std::string base = fs::temp_directory_path(ec).string();
  if (ec) base = "/tmp";
  std::string templ = base + "/rrsync-diff.XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) {
    *err = Errno("Failed to create temp dir under", base);
    return false;
  }
  // The real path: DIR appears resolved in messages and pins, and both runs must see one spelling.
  char real[PATH_MAX];
  if (realpath(buf.data(), real) == nullptr) {
    *err = Errno("Failed to resolve", buf.data());
    return false;
  }
  *path = real;
  return true;
}

int DefaultJobs() {
  unsigned n = std::thread::hardware_concurrency();
  return static_cast<int>(std::clamp(n, 1u, 4u));
}

}  // namespace differential
}  // namespace rrsync
