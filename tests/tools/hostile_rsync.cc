// Stands in for a hijacked rsync in the sandbox tests: it attempts every escape the sandbox must
// stop, and every legitimate action it must allow, and prints one line per attempt:
//   <name> ALLOWED                the call succeeded
//   <name> DENIED <errno name>    it failed with EACCES, EPERM or EXDEV (what Landlock returns)
//   <name> ERROR <errno name>     it failed some other way: the test setup is wrong
// so a test can tell "the sandbox stopped it" from "it failed for another reason".
//
// It reads its plan from ".hostile-plan" in its working directory (rrsync chdirs into DIR), or
// beneath any /proc/self/fd/N argument: lines "dir <DIR>", "outside <dir outside DIR>",
// "outlink <name of a symlink in DIR pointing to outside>", "port <TCP port listening on
// 127.0.0.1>", "abstract <abstract unix socket name>",
// "unixpath <listening unix socket outside DIR>", "victim <pid of a process to signal>".
// The tests prepare DIR with inside.txt, trunc.txt, deleteme, renameme, emptydir/, sub/moveme,
// and outside with secret and victim. Attempts whose plan line is missing are left out.
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>

namespace {

std::map<std::string, std::string> plan;

std::string ErrnoName(int e) {
  const char* name = strerrorname_np(e);
  return name != nullptr ? name : std::to_string(e);
}

// Runs one attempt: `action` returns 0 on success or an errno value.
void Attempt(const std::string& name, const std::function<int()>& action) {
  int error = action();
  if (error == 0)
    std::printf("%s ALLOWED\n", name.c_str());
  else if (error == EACCES || error == EPERM || error == EXDEV)
    std::printf("%s DENIED %s\n", name.c_str(), ErrnoName(error).c_str());
  else
    std::printf("%s ERROR %s\n", name.c_str(), ErrnoName(error).c_str());
  std::fflush(stdout);
}

int Check(int rc) { return rc == 0 ? 0 : errno; }

int OpenClose(const std::string& path, int flags, mode_t mode = 0644) {
  int fd = open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return errno;
  close(fd);
  return 0;
}

int ReadAll(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  char buf[256];
  ssize_t n = read(fd, buf, sizeof(buf));
  int error = n < 0 ? errno : 0;
  close(fd);
  return error;
}

int ListDir(const std::string& path) {
  DIR* d = opendir(path.c_str());
  if (d == nullptr) return errno;
  errno = 0;
  while (readdir(d) != nullptr) {
  }
  int error = errno;
  closedir(d);
  return error;
}

int UdpSend(int port) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return errno;
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ssize_t n = sendto(s, "x", 1, 0, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  int error = n == 1 ? 0 : errno;
  close(s);
  return error;
}

int Tcp(bool bind_only, int port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return errno;
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = bind_only ? bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr))
                     : connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  int error = rc == 0 ? 0 : errno;
  close(s);
  return error;
}

int ConnectUnixPath(const std::string& path) {
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return errno;
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  int rc = connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  int error = rc == 0 ? 0 : errno;
  close(s);
  return error;
}

int ConnectAbstract(const std::string& name) {
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return errno;
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  size_t len = std::min(name.size(), sizeof(addr.sun_path) - 1);
  memcpy(addr.sun_path + 1, name.data(), len);  // sun_path[0] == '\0': abstract
  int rc = connect(s, reinterpret_cast<sockaddr*>(&addr),
                   static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + len));
  int error = rc == 0 ? 0 : errno;
  close(s);
  return error;
}

// execve in a child, so a success does not end the run; the child reports its errno.
int ExecShell() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return errno;
  pid_t pid = fork();
  if (pid < 0) return errno;
  if (pid == 0) {
    char* const argv[] = {const_cast<char*>("sh"), const_cast<char*>("-c"),
                          const_cast<char*>("exit 0"), nullptr};
    char* const envp[] = {nullptr};
    execve("/bin/sh", argv, envp);
    int error = errno;
    (void)!write(fds[1], &error, sizeof(error));
    _exit(127);
  }
  close(fds[1]);
  int error = 0;
  ssize_t n = read(fds[0], &error, sizeof(error));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (n == static_cast<ssize_t>(sizeof(error))) return error;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : EIO;
}

bool LoadPlan(int argc, char** argv) {
  std::vector<std::string> candidates = {".hostile-plan"};
  for (int i = 1; i < argc; ++i)
    if (strncmp(argv[i], "/proc/self/fd/", 14) == 0)
      candidates.push_back(std::string(argv[i]) + "/.hostile-plan");
  for (const std::string& path : candidates) {
    std::ifstream in(path);
    if (!in) continue;
    std::string line;
    while (std::getline(in, line)) {
      size_t space = line.find(' ');
      if (space != std::string::npos) plan[line.substr(0, space)] = line.substr(space + 1);
    }
    return plan.count("dir") && plan.count("outside");
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (!LoadPlan(argc, argv)) {
    std::printf("plan MISSING\n");
    return 2;
  }
  const std::string dir = plan["dir"];
  const std::string out = plan["outside"];
  const std::string in = dir + "/inside.txt";

  // The pins rrsync hands over must keep working: each is a directory inside DIR.
  for (int i = 1; i < argc; ++i)
    if (strncmp(argv[i], "/proc/self/fd/", 14) == 0)
      Attempt(std::string("pin-list ") + argv[i], [&] { return ListDir(argv[i]); });

  // Legitimate in every direction.
  Attempt("read-inside", [&] { return ReadAll(in); });
  Attempt("list-inside", [&] { return ListDir(dir); });
  Attempt("read-passwd", [&] { return ReadAll("/etc/passwd"); });

  // Legitimate only for a push.
  Attempt("write-inside", [&] { return OpenClose(in, O_WRONLY | O_APPEND); });
  Attempt("create-inside", [&] { return OpenClose(dir + "/hostile-new", O_WRONLY | O_CREAT); });
  Attempt("mkdir-inside", [&] { return Check(mkdir((dir + "/hostile-dir").c_str(), 0755)); });
  Attempt("symlink-inside",
          [&] { return Check(symlink("inside.txt", (dir + "/hostile-sym").c_str())); });
  Attempt("rename-inside", [&] {
    return Check(rename((dir + "/renameme").c_str(), (dir + "/sub/hostile-moved").c_str()));
  });
  Attempt("link-inside",
          [&] { return Check(link(in.c_str(), (dir + "/sub/hostile-link").c_str())); });
  Attempt("truncate-inside", [&] { return Check(truncate((dir + "/trunc.txt").c_str(), 1)); });
  Attempt("unlink-inside", [&] { return Check(unlink((dir + "/deleteme").c_str())); });
  Attempt("rmdir-inside", [&] { return Check(rmdir((dir + "/emptydir").c_str())); });
  Attempt("mkfifo-inside", [&] { return Check(mkfifo((dir + "/hostile-fifo").c_str(), 0644)); });

  // Escapes: denied in every direction.
  Attempt("read-outside-abs", [&] { return ReadAll(out + "/secret"); });
  if (plan.count("outlink"))
    Attempt("read-outside-symlink",
            [&] { return ReadAll(dir + "/" + plan["outlink"] + "/secret"); });
  Attempt("list-outside", [&] { return ListDir(out); });
  Attempt("read-shadow", [&] { return ReadAll("/etc/shadow"); });
  Attempt("list-root-home", [&] { return ListDir("/root"); });
  Attempt("list-tmp", [&] { return ListDir("/tmp"); });
  Attempt("read-proc-fd", [&] {
    // O_PATH opens are not checked by Landlock; re-opening one for reading must be.
    int path_fd = open((out + "/secret").c_str(), O_PATH | O_CLOEXEC);
    if (path_fd < 0) return errno;
    int error = ReadAll("/proc/self/fd/" + std::to_string(path_fd));
    close(path_fd);
    return error;
  });
  Attempt("write-outside", [&] { return OpenClose(out + "/secret", O_WRONLY | O_APPEND); });
  Attempt("create-outside",
          [&] { return OpenClose(out + "/hostile-created", O_WRONLY | O_CREAT | O_EXCL); });
  Attempt("rename-into-outside", [&] {
    return Check(rename((dir + "/sub/moveme").c_str(), (out + "/hostile-moved").c_str()));
  });
  Attempt("link-from-outside", [&] {
    return Check(link((out + "/secret").c_str(), (dir + "/hostile-stolen").c_str()));
  });
  Attempt("unlink-outside", [&] { return Check(unlink((out + "/victim").c_str())); });
  Attempt("mkfifo-outside", [&] { return Check(mkfifo((out + "/hostile-fifo").c_str(), 0644)); });
  Attempt("mknod-inside", [&] {
    return Check(mknod((dir + "/hostile-null").c_str(), S_IFCHR | 0666, makedev(1, 3)));
  });
  if (plan.count("port"))
    Attempt("tcp-connect", [&] { return Tcp(false, std::atoi(plan["port"].c_str())); });
  Attempt("tcp-bind", [&] { return Tcp(true, 0); });
  if (plan.count("port"))
    Attempt("udp-send", [&] { return UdpSend(std::atoi(plan["port"].c_str())); });
  if (plan.count("abstract"))
    Attempt("abstract-unix-connect", [&] { return ConnectAbstract(plan["abstract"]); });
  if (plan.count("unixpath"))
    Attempt("unix-connect-outside", [&] { return ConnectUnixPath(plan["unixpath"]); });
  Attempt("exec-sh", [&] { return ExecShell(); });
  Attempt("signal-parent", [&] { return Check(kill(getppid(), 0)); });
  if (plan.count("victim"))
    Attempt("signal-victim",
            [&] { return Check(kill(static_cast<pid_t>(std::atoi(plan["victim"].c_str())), 0)); });
  return 0;
}
