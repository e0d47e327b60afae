#include "sandbox_test_support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace rrsync::sandbox_test {

namespace fs = std::filesystem;

TempDir::TempDir() {
  char tmpl[] = "/tmp/rrsync-sandbox-test.XXXXXX";
  path_ = mkdtemp(tmpl);
  chmod(path_.c_str(), 0755);  // an unprivileged user must traverse it
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

RunResult RunProgram(const std::vector<std::string>& argv, const RunOptions& options) {
  // Everything the child touches is prepared before fork: the race test forks while a thread
  // runs.
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_storage = options.env;
  if (env_storage.empty())
    for (char** e = environ; *e != nullptr; ++e) env_storage.push_back(*e);
  std::vector<char*> envp;
  for (std::string& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);

  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    int null_fd = open("/dev/null", O_RDONLY);
    dup2(null_fd, 0);
    if (!options.cwd.empty() && chdir(options.cwd.c_str()) != 0) _exit(121);
    if (options.gid != static_cast<gid_t>(-1) &&
        (setgroups(0, nullptr) != 0 || setgid(options.gid) != 0))
      _exit(122);
    if (options.uid != static_cast<uid_t>(-1) && setuid(options.uid) != 0) _exit(123);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  RunResult result;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_count = 2;
  while (open_count > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[65536];
      ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_count;
      } else {
        (i == 0 ? result.out : result.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  int status = 0;
  rusage usage = {};
  wait4(pid, &status, 0, &usage);
  result.cpu_ms = (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e3 +
                  (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e3;
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

void ChownTree(const std::string& root, uid_t uid, gid_t gid) {
  lchown(root.c_str(), uid, gid);
  for (const auto& entry : fs::recursive_directory_iterator(root))
    lchown(entry.path().c_str(), uid, gid);
}

std::string Hex(const std::string& bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

// One line per path beneath `root` (root itself left out): type, mode, owner, size, content
// digest, link target, hard-link group, mtime, every xattr (ACLs are system.posix_acl_*).
std::map<std::string, std::string> Snapshot(const std::string& root) {
  std::map<std::string, std::string> snap;
  std::map<std::pair<dev_t, ino_t>, std::string> first_link;
  std::vector<fs::path> paths;
  for (const auto& entry : fs::recursive_directory_iterator(root)) paths.push_back(entry.path());
  std::sort(paths.begin(), paths.end());
  for (const fs::path& p : paths) {
    // lexically: fs::relative would resolve symlinks and merge them with their targets.
    std::string rel = p.lexically_relative(root).string();
    struct stat st;
    if (lstat(p.c_str(), &st) != 0) continue;
    std::ostringstream line;
    line << std::oct << (st.st_mode & 07777) << std::dec << " " << st.st_uid << ":" << st.st_gid;
    if (S_ISREG(st.st_mode)) {
      std::string content = ReadFile(p);
      line << " reg size=" << st.st_size << " hash=" << std::hash<std::string>()(content)
           << " mtime=" << st.st_mtime;
      if (st.st_nlink > 1) {
        auto [it, inserted] = first_link.emplace(std::make_pair(st.st_dev, st.st_ino), rel);
        line << " links=" << st.st_nlink << " group=" << it->second;
      }
    } else if (S_ISDIR(st.st_mode)) {
      line << " dir";
    } else if (S_ISLNK(st.st_mode)) {
      line << " sym->" << fs::read_symlink(p).string();
    } else if (S_ISFIFO(st.st_mode)) {
      line << " fifo";
    } else if (S_ISSOCK(st.st_mode)) {
      line << " sock";
    } else {
      line << " other";
    }
    char names[4096];
    ssize_t n = llistxattr(p.c_str(), names, sizeof(names));
    std::vector<std::string> keys;
    for (ssize_t at = 0; n > 0 && at < n; at += static_cast<ssize_t>(strlen(names + at)) + 1)
      keys.push_back(names + at);
    std::sort(keys.begin(), keys.end());
    for (const std::string& key : keys) {
      char value[4096];
      ssize_t len = lgetxattr(p.c_str(), key.c_str(), value, sizeof(value));
      line << " " << key << "=" << (len < 0 ? "?" : Hex(std::string(value, len)));
    }
    snap[rel] = line.str();
  }
  return snap;
}

HostileFixture::HostileFixture(std::optional<passwd> user) {
  dir_ = root_ / "dir";
  out_ = root_ / "outside";
  fs::create_directories(dir_ + "/sub");
  fs::create_directories(dir_ + "/emptydir");
  fs::create_directories(out_);
  WriteFile(dir_ + "/inside.txt", "inside\n");
  WriteFile(dir_ + "/trunc.txt", "truncate me\n");
  WriteFile(dir_ + "/deleteme", "");
  WriteFile(dir_ + "/renameme", "");
  WriteFile(dir_ + "/sub/moveme", "");
  WriteFile(out_ + "/secret", "SECRET\n");
  WriteFile(out_ + "/victim", "victim\n");
  symlink(out_.c_str(), (dir_ + "/outlink").c_str());

  tcp_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(tcp_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  listen(tcp_, 16);
  socklen_t len = sizeof(addr);
  getsockname(tcp_, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);

  // Unique per fixture: a test may hold two at once.
  static int fixtures = 0;
  abstract_name_ =
      "rrsync-sandbox-test-" + std::to_string(getpid()) + "-" + std::to_string(++fixtures);
  unix_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un un = {};
  un.sun_family = AF_UNIX;
  memcpy(un.sun_path + 1, abstract_name_.data(), abstract_name_.size());
  bind(unix_, reinterpret_cast<sockaddr*>(&un),
       static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + abstract_name_.size()));
  listen(unix_, 16);

  path_socket_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un path_addr = {};
  path_addr.sun_family = AF_UNIX;
  std::string socket_path = out_ + "/sock";
  strncpy(path_addr.sun_path, socket_path.c_str(), sizeof(path_addr.sun_path) - 1);
  bind(path_socket_, reinterpret_cast<sockaddr*>(&path_addr), sizeof(path_addr));
  listen(path_socket_, 16);

  WriteFile(dir_ + "/.hostile-plan", "dir " + dir_ + "\noutside " + out_ +
                                         "\noutlink outlink\nport " + std::to_string(port) +
                                         "\nabstract " + abstract_name_ + "\nunixpath " + out_ +
                                         "/sock\n");
  if (user) ChownTree(root_.path(), user->pw_uid, user->pw_gid);
  RememberOutside();
}

HostileFixture::~HostileFixture() {
  close(tcp_);
  close(unix_);
  close(path_socket_);
}

void HostileFixture::AddToPlan(const std::string& lines) const {
  std::ofstream plan(dir_ + "/.hostile-plan", std::ios::binary | std::ios::app);
  plan << lines;
}

void HostileFixture::RememberOutside() { outside_as_made_ = Snapshot(out_); }

void HostileFixture::ExpectOutsideUntouched() const {
  EXPECT_EQ(Snapshot(out_), outside_as_made_);
  EXPECT_EQ(ReadFile(out_ + "/secret"), "SECRET\n");
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir_ + "/hostile-stolen")));
}

const std::vector<std::string> kAlwaysAllowed = {"read-inside", "list-inside", "read-passwd"};
const std::vector<std::string> kPushOnly = {
    "write-inside", "create-inside",   "mkdir-inside",  "symlink-inside", "rename-inside",
    "link-inside",  "truncate-inside", "unlink-inside", "rmdir-inside",   "mkfifo-inside"};
const std::vector<std::string> kEscapes = {"read-outside-abs",
                                           "read-outside-symlink",
                                           "list-outside",
                                           "read-shadow",
                                           "list-root-home",
                                           "list-tmp",
                                           "read-proc-fd",
                                           "write-outside",
                                           "create-outside",
                                           "rename-into-outside",
                                           "link-from-outside",
                                           "unlink-outside",
                                           "mkfifo-outside",
                                           "mknod-inside",
                                           "tcp-connect",
                                           "tcp-bind",
                                           "udp-send",
                                           "abstract-unix-connect",
                                           "unix-connect-outside",
                                           "exec-sh",
                                           "signal-parent"};

std::map<std::string, std::string> ParseHostile(const std::string& out,
                                                std::vector<std::string>* pins) {
  std::map<std::string, std::string> results;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with("pin-list ") || line.starts_with("pin-walk ")) {
      if (pins) pins->push_back(line);
      continue;
    }
    std::istringstream words(line);
    std::string name, verdict;
    words >> name >> verdict;
    results[name] = verdict;
  }
  return results;
}

std::map<std::string, std::string> ParseHostileOutcomes(const std::string& out) {
  std::map<std::string, std::string> results;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with("pin-list ") || line.starts_with("pin-walk ")) continue;
    size_t space = line.find(' ');
    if (space != std::string::npos) results[line.substr(0, space)] = line.substr(space + 1);
  }
  return results;
}

RunResult RunRrsync(const std::string& rrsync, const std::vector<std::string>& flags,
                    const std::string& dir, bool push, const RunOptions& base) {
  RunOptions options = base;
  options.cwd = dir;
  options.env = {"PATH=/usr/bin:/bin",
                 std::string("SSH_ORIGINAL_COMMAND=") +
                     (push ? "rsync --server -vlogDtpre.iLsfxCIvu . sub/"
                           : "rsync --server --sender -vlogDtpre.iLsfxCIvu . sub/"),
                 "SSH_CONNECTION=127.0.0.1 50000 127.0.0.1 22"};
  std::vector<std::string> argv = {rrsync};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.push_back(dir);
  return RunProgram(argv, options);
}

bool RrsyncHasSandboxFlags(const std::string& rrsync) {
  RunResult help = RunProgram({rrsync, "-h"});
  return help.out.find("-sandbox=") != std::string::npos &&
         help.out.find("-rsync=") != std::string::npos;
}

}  // namespace rrsync::sandbox_test
