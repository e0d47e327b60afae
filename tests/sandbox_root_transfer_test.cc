// Legitimate transfers as root, through the real rrsync and its default sandbox, with the real
// rsync client at the other end, arrive exactly: setuid and setgid bits, file capabilities,
// POSIX access and default ACLs, user.* and trusted.* attributes, owners, hard links, holes,
// device nodes, FIFOs and sockets, in both directions. Cutting rsync's capabilities too far shows
// here first, often only here: without CAP_SYS_ADMIN rsync leaves out trusted.* names and
// without CAP_FSETID it drops setgid bits, both with exit status 0
// (docs/notes-capabilities-measured.md).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "sandbox_test_support.h"

namespace rrsync {
namespace {

namespace fs = std::filesystem;
using sandbox_test::Hex;

constexpr char kRsync[] = "/usr/bin/rsync";
constexpr uid_t kOtherUid = 12345;
// A group root is not in: keeping a setgid bit for it needs CAP_FSETID.
constexpr gid_t kOtherGid = 54321;
constexpr uid_t kOldOwner = 23456;
// A failing rsync can deadlock instead of exiting (measured: -H --inplace when opens fail).
constexpr int kTimeoutSeconds = 120;
// 2021-03-04 05:06:07.123456789 UTC, for atime and mtime: rsync keeps nanoseconds.
constexpr timespec kTreeTime = {1614834367, 123456789};
constexpr timespec kOldTime = {1577836800, 0};

// A directory made with mkdtemp under /tmp, removed with everything in it at the end.
class ScopedTempDir {
 public:
  ScopedTempDir() {
    char tmpl[] = "/tmp/rrsync-root-transfer.XXXXXX";
    if (mkdtemp(tmpl) != nullptr) {
      path_ = tmpl;
      chmod(path_.c_str(), 0755);
    }
  }
  ~ScopedTempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;
  bool valid() const { return !path_.empty(); }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

struct RunResult {
  int status = -1;  // exit status, or 128 + signal
  std::string out;
  std::string err;
};

// Runs `argv` (argv[0] absolute) with stdin from /dev/null and only PATH in the environment, in
// its own process group, which is killed after kTimeoutSeconds.
RunResult RunProgram(const std::vector<std::string>& argv) {
  RunResult result;
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return {-1, "", "pipe2 failed"};
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return {-1, "", "pipe2 failed"};
  }
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  char path_env[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
  char* envp[] = {path_env, nullptr};
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    dup2(null_fd, 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    execve(args[0], args.data(), envp);
    _exit(127);
  }
  setpgid(pid, pid);  // as the child does: either may run first
  close(out_pipe[1]);
  close(err_pipe[1]);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kTimeoutSeconds);
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_count = 2;
  bool timed_out = false;
  char buf[65536];
  while (open_count > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      timed_out = true;
      kill(-pid, SIGKILL);
      break;
    }
    int ready = poll(fds, 2, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) break;
    for (pollfd& p : fds) {
      if (p.fd < 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(p.fd, buf, sizeof(buf));
      if (n <= 0) {
        close(p.fd);
        p.fd = -1;
        --open_count;
      } else {
        (&p == &fds[0] ? result.out : result.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  for (pollfd& p : fds)
    if (p.fd >= 0) close(p.fd);
  int status = 0;
  waitpid(pid, &status, 0);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (timed_out)
    result.err += "\n(killed after " + std::to_string(kTimeoutSeconds) + " s: rsync hung)";
  return result;
}

// The absolute path of a tool in the usual directories, or "".
std::string FindTool(const std::string& name) {
  for (const char* dir : {"/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
    std::string path = std::string(dir) + "/" + name;
    if (access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

// Why these tests cannot run here, or "".
std::string MissingPrerequisite() {
  if (geteuid() != 0) return "needs root: the transfers keep owners, devices and trusted.* names";
  if (access(kRsync, X_OK) != 0) return std::string(kRsync) + " is not installed";
  if (FindTool("setfacl").empty()) return "setfacl is missing (package acl)";
  if (FindTool("setcap").empty()) return "setcap is missing (package libcap2-bin)";
  return "";
}

// rsync's -e program: sshd running the forced command `rrsync ARGS...` (the last one is DIR).
std::string ForcedRrsync(const std::vector<std::string>& rrsync_args) {
  std::string rsh = std::string(SANDBOX_EXEC) + " --sshd-rrsync=" + RRSYNC_BINARY;
  for (const std::string& a : rrsync_args) rsh += " --rrsync-arg=" + a;
  return rsh;
}

// ---------------------------------------------------------------------------------------------
// Building trees. Each helper fails the test (fatally) with the step and the path.

void MakeDirectory(const std::string& path) {
  ASSERT_EQ(mkdir(path.c_str(), 0755), 0) << "mkdir " << path << ": " << strerror(errno);
}

// Owner first: chown clears setuid and setgid bits, which the mode then sets.
void SetOwnerAndMode(const std::string& path, uid_t uid, gid_t gid, mode_t mode) {
  ASSERT_EQ(lchown(path.c_str(), uid, gid), 0) << "lchown " << path << ": " << strerror(errno);
  ASSERT_EQ(chmod(path.c_str(), mode), 0) << "chmod " << path << ": " << strerror(errno);
}

void MakeFile(const std::string& path, const std::string& content, mode_t mode, uid_t uid = 0,
              gid_t gid = 0) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0) << "open " << path << ": " << strerror(errno);
  ssize_t n = write(fd, content.data(), content.size());
  close(fd);
  ASSERT_EQ(n, static_cast<ssize_t>(content.size())) << "write " << path;
  ASSERT_NO_FATAL_FAILURE(SetOwnerAndMode(path, uid, gid, mode));
}

void SetXattr(const std::string& path, const std::string& name, const std::string& value) {
  ASSERT_EQ(lsetxattr(path.c_str(), name.c_str(), value.data(), value.size(), 0), 0)
      << "setxattr " << name << " on " << path << ": " << strerror(errno);
}

void RunTool(const std::vector<std::string>& argv) {
  RunResult r = RunProgram(argv);
  ASSERT_EQ(r.status, 0) << argv[0] << " " << argv[1] << ": " << r.err;
}

void MakeLink(const std::string& target, const std::string& path) {
  ASSERT_EQ(link(target.c_str(), path.c_str()), 0) << "link " << path << ": " << strerror(errno);
}

void MakeSymlink(const std::string& target, const std::string& path) {
  ASSERT_EQ(symlink(target.c_str(), path.c_str()), 0)
      << "symlink " << path << ": " << strerror(errno);
}

// 16 MiB with 64 KiB of data in the middle: 15.9 MiB of holes.
void MakeSparseFile(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << "open " << path << ": " << strerror(errno);
  std::string data(64 << 10, 's');
  ssize_t n = pwrite(fd, data.data(), data.size(), 8 << 20);
  int truncated = ftruncate(fd, 16 << 20);
  close(fd);
  ASSERT_EQ(n, static_cast<ssize_t>(data.size())) << "pwrite " << path;
  ASSERT_EQ(truncated, 0) << "ftruncate " << path;
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  ASSERT_LT(st.st_blocks * 512, st.st_size / 4) << "the filesystem of /tmp keeps no holes";
}

// A unix socket file, left behind by a bound and closed socket.
void MakeSocketFile(const std::string& path) {
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof(addr.sun_path)) << path;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0) << "socket: " << strerror(errno);
  int bound = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  int saved = errno;
  close(fd);
  ASSERT_EQ(bound, 0) << "bind " << path << ": " << strerror(saved);
}

// Sets atime and mtime of everything below and including `root`, children before their
// directory (setting a child's times does not touch the directory's, but creating it did).
void SetTimes(const std::string& root, timespec when) {
  std::vector<std::string> paths = {root};
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec))
    paths.push_back(it->path().string());
  ASSERT_FALSE(ec) << "walking " << root << ": " << ec.message();
  const timespec times[2] = {when, when};
  for (auto it = paths.rbegin(); it != paths.rend(); ++it)
    ASSERT_EQ(utimensat(AT_FDCWD, it->c_str(), times, AT_SYMLINK_NOFOLLOW), 0)
        << "utimensat " << *it << ": " << strerror(errno);
}

// Skips (returns false) when the filesystem of /tmp cannot hold what the tests compare.
bool FilesystemHoldsTrustedXattrs(const std::string& probe, std::string* why) {
  int fd = open(probe.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    *why = "cannot create " + probe + ": " + strerror(errno);
    return false;
  }
  int set = fsetxattr(fd, "trusted.rrsync-probe", "1", 1, 0);
  int saved = errno;
  close(fd);
  unlink(probe.c_str());
  if (set != 0)
    *why = std::string("the filesystem of /tmp holds no trusted.* xattrs: ") + strerror(saved);
  return set == 0;
}

// The tree a root backup must keep exactly. `root` exists. Directories get their owners and
// modes after they are filled, times come last.
void BuildRootTree(const std::string& root) {
  const std::string setfacl = FindTool("setfacl"), setcap = FindTool("setcap");
  ASSERT_NO_FATAL_FAILURE(MakeFile(root + "/plain", "plain\n", 0644));

  // Setuid and setgid bits, one file with both and another owner.
  ASSERT_NO_FATAL_FAILURE(MakeFile(root + "/setuid", "#!/bin/true\n", 04755));
  ASSERT_NO_FATAL_FAILURE(MakeFile(root + "/setgid", "#!/bin/true\n", 02755, 0, kOtherGid));
  ASSERT_NO_FATAL_FAILURE(
      MakeFile(root + "/setuid-setgid-other", "#!/bin/true\n", 06750, kOtherUid, kOtherGid));
  ASSERT_NO_FATAL_FAILURE(MakeDirectory(root + "/setgid-dir"));
  ASSERT_NO_FATAL_FAILURE(MakeFile(root + "/setgid-dir/f", "in setgid dir\n", 0664, 0, kOtherGid));

  // A file capability (security.capability), set after the owner: chown clears it.
  ASSERT_NO_FATAL_FAILURE(MakeFile(root + "/capability", "#!/bin/true\n", 0755));
  ASSERT_NO_FATAL_FAILURE(RunTool({setcap, "cap_net_raw+ep", root + "/capability"}));

  // POSIX ACLs: an access ACL on a file, access and default ACLs on a directory.
  ASSERT_NO_FATAL_FAILURE(MakeFile(root + "/acl-file", "acl\n", 0640));
  ASSERT_NO_FATAL_FAILURE(RunTool({setfacl, "-m", "u:12345:rw-,g:54321:r--", root + "/acl-file"}));
  ASSERT_NO_FATAL_FAILURE(MakeDirectory(root + "/acl-dir"));
  ASSERT_NO_FATAL_FAILURE(RunTool({setfacl, "-m", "u:12345:rwx", root + "/acl-dir"}));
  ASSERT_NO_FATAL_FAILURE(
      RunTool({setfacl, "-d", "-m", "u:12345:rwx,g:54321:r-x", root + "/acl-dir"}));
  int fd =
      open((root + "/acl-dir/inherits").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0664);
  ASSERT_GE(fd, 0) << strerror(errno);
  close(fd);

  // user.* and trusted.* attributes, also on a mode-000 file of another owner.
  ASSERT_NO_FATAL_FAILURE(MakeFile(root + "/xattrs", "xattrs\n", 0644));
  ASSERT_NO_FATAL_FAILURE(SetXattr(root + "/xattrs", "user.color", "blue"));
  ASSERT_NO_FATAL_FAILURE(SetXattr(root + "/xattrs", "trusted.secret", "hush"));
  ASSERT_NO_FATAL_FAILURE(MakeFile(root + "/other-000", "secret\n", 0, kOtherUid, kOtherGid));
  ASSERT_NO_FATAL_FAILURE(SetXattr(root + "/other-000", "user.o", "1"));
  ASSERT_NO_FATAL_FAILURE(SetXattr(root + "/other-000", "trusted.o", "2"));

  // Directories of another owner: mode 000 (nested), and read-only.
  ASSERT_NO_FATAL_FAILURE(MakeDirectory(root + "/other-dir-000"));
  ASSERT_NO_FATAL_FAILURE(MakeDirectory(root + "/other-dir-000/sub"));
  ASSERT_NO_FATAL_FAILURE(
      MakeFile(root + "/other-dir-000/sub/f", "deep\n", 0, kOtherUid, kOtherGid));
  ASSERT_NO_FATAL_FAILURE(
      MakeFile(root + "/other-dir-000/f", "inside\n", 0644, kOtherUid, kOtherGid));
  ASSERT_NO_FATAL_FAILURE(MakeDirectory(root + "/read-only-dir"));
  ASSERT_NO_FATAL_FAILURE(
      MakeFile(root + "/read-only-dir/f", "read only\n", 0444, kOtherUid, kOtherGid));

  // A hard link group across directories.
  ASSERT_NO_FATAL_FAILURE(MakeFile(root + "/hard-1", "linked\n", 0644));
  ASSERT_NO_FATAL_FAILURE(MakeLink(root + "/hard-1", root + "/hard-2"));
  ASSERT_NO_FATAL_FAILURE(MakeDirectory(root + "/hard-dir"));
  ASSERT_NO_FATAL_FAILURE(MakeLink(root + "/hard-1", root + "/hard-dir/hard-3"));

  ASSERT_NO_FATAL_FAILURE(MakeSparseFile(root + "/sparse"));

  // Symlinks: relative, absolute (never followed), dangling, of another owner.
  ASSERT_NO_FATAL_FAILURE(MakeSymlink("plain", root + "/link-relative"));
  ASSERT_NO_FATAL_FAILURE(MakeSymlink("/rrsync-test-absent/target", root + "/link-absolute"));
  ASSERT_NO_FATAL_FAILURE(MakeSymlink("absent", root + "/link-dangling"));
  ASSERT_NO_FATAL_FAILURE(MakeSymlink("plain", root + "/link-other-owner"));
  ASSERT_EQ(lchown((root + "/link-other-owner").c_str(), kOtherUid, kOtherGid), 0);

  ASSERT_NO_FATAL_FAILURE(SetOwnerAndMode(root + "/setgid-dir", 0, kOtherGid, 02775));
  ASSERT_NO_FATAL_FAILURE(SetOwnerAndMode(root + "/other-dir-000/sub", kOtherUid, kOtherGid, 0));
  ASSERT_NO_FATAL_FAILURE(SetOwnerAndMode(root + "/other-dir-000", kOtherUid, kOtherGid, 0));
  ASSERT_NO_FATAL_FAILURE(SetOwnerAndMode(root + "/read-only-dir", kOtherUid, kOtherGid, 0555));
  ASSERT_NO_FATAL_FAILURE(SetTimes(root, kTreeTime));
}

// Device node, FIFO, unix socket file (and a plain file). `root` exists.
void BuildSpecialTree(const std::string& root) {
  ASSERT_NO_FATAL_FAILURE(MakeFile(root + "/plain", "plain\n", 0644));
  // The same device as /dev/null; created only here, inside the test's directory.
  ASSERT_EQ(mknod((root + "/null").c_str(), S_IFCHR | 0600, makedev(1, 3)), 0) << strerror(errno);
  ASSERT_NO_FATAL_FAILURE(SetOwnerAndMode(root + "/null", kOtherUid, kOtherGid, 0640));
  ASSERT_EQ(mkfifo((root + "/fifo").c_str(), 0600), 0) << strerror(errno);
  ASSERT_NO_FATAL_FAILURE(SetOwnerAndMode(root + "/fifo", kOtherUid, kOtherGid, 0620));
  ASSERT_NO_FATAL_FAILURE(MakeSocketFile(root + "/socket"));
  ASSERT_NO_FATAL_FAILURE(SetOwnerAndMode(root + "/socket", kOtherUid, 0, 0750));
  ASSERT_NO_FATAL_FAILURE(SetTimes(root, kTreeTime));
}

// ---------------------------------------------------------------------------------------------
// Comparing trees.

// FNV-1a of the file's content; "unreadable" when it cannot be read.
std::string ContentDigest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "unreadable";
  uint64_t h = 1469598103934665603ULL;
  char buf[65536];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
    for (std::streamsize i = 0; i < in.gcount(); ++i) {
      h ^= static_cast<unsigned char>(buf[i]);
      h *= 1099511628211ULL;
    }
  }
  char out[17];
  std::snprintf(out, sizeof(out), "%016llx", static_cast<unsigned long long>(h));
  return out;
}

// Every extended attribute, system.posix_acl_* and security.capability included, by name.
std::string Xattrs(const std::string& path) {
  ssize_t size = llistxattr(path.c_str(), nullptr, 0);
  if (size < 0) return " xattrs-unreadable:" + std::string(strerror(errno));
  std::string names(static_cast<size_t>(size), '\0');
  size = llistxattr(path.c_str(), names.data(), names.size());
  if (size < 0) return " xattrs-unreadable:" + std::string(strerror(errno));
  names.resize(static_cast<size_t>(size));
  std::set<std::string> sorted;
  for (size_t at = 0; at < names.size();) {
    std::string name = names.c_str() + at;
    at += name.size() + 1;
    sorted.insert(name);
  }
  std::string out;
  for (const std::string& name : sorted) {
    char value[65536];
    ssize_t n = lgetxattr(path.c_str(), name.c_str(), value, sizeof(value));
    out +=
        " " + name + "=" + (n < 0 ? "unreadable" : Hex(std::string(value, static_cast<size_t>(n))));
  }
  return out;
}

// One line per entry below and including `root` (named "."), sorted by path: type, mode with
// setuid/setgid/sticky bits, owner, group, mtime in ns, every xattr; for files size, content,
// holes and the hard link group (named by its first path); link targets; device numbers.
std::vector<std::string> DescribeTree(const std::string& root) {
  std::vector<std::string> rels = {"."};
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec))
    rels.push_back(it->path().string().substr(root.size() + 1));  // lexically: links stay links
  if (ec) return {"walking " + root + " failed: " + ec.message()};
  std::sort(rels.begin(), rels.end());
  std::map<std::pair<dev_t, ino_t>, std::string> first_link;
  std::vector<std::string> lines;
  for (const std::string& rel : rels) {
    const std::string path = rel == "." ? root : root + "/" + rel;
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) {
      lines.push_back(rel + " lstat failed: " + strerror(errno));
      continue;
    }
    char head[256];
    const char* type = S_ISREG(st.st_mode)    ? "file"
                       : S_ISDIR(st.st_mode)  ? "dir"
                       : S_ISLNK(st.st_mode)  ? "symlink"
                       : S_ISCHR(st.st_mode)  ? "char-device"
                       : S_ISBLK(st.st_mode)  ? "block-device"
                       : S_ISFIFO(st.st_mode) ? "fifo"
                       : S_ISSOCK(st.st_mode) ? "socket"
                                              : "unknown";
    std::snprintf(head, sizeof(head), " %s mode=%04o uid=%u gid=%u mtime=%lld.%09ld", type,
                  st.st_mode & 07777, st.st_uid, st.st_gid,
                  static_cast<long long>(st.st_mtim.tv_sec), st.st_mtim.tv_nsec);
    std::string line = rel + head;
    if (S_ISREG(st.st_mode)) {
      line += " size=" + std::to_string(st.st_size) + " content=" + ContentDigest(path);
      line += st.st_blocks * 512 < st.st_size ? " holes" : " no-holes";
      if (st.st_nlink > 1) {
        const std::string& first =
            first_link.emplace(std::make_pair(st.st_dev, st.st_ino), rel).first->second;
        line += " nlink=" + std::to_string(st.st_nlink) + " linked-with=" + first;
      }
    } else if (S_ISLNK(st.st_mode)) {
      std::error_code link_ec;
      line += " -> " + fs::read_symlink(path, link_ec).string();
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      line +=
          " rdev=" + std::to_string(major(st.st_rdev)) + "," + std::to_string(minor(st.st_rdev));
    }
    lines.push_back(line + Xattrs(path));
  }
  return lines;
}

// "" when both trees are the same, else the lines only one of them has.
std::string TreeDifferences(const std::string& expected_root, const std::string& actual_root) {
  std::vector<std::string> expected = DescribeTree(expected_root);
  std::vector<std::string> actual = DescribeTree(actual_root);
  std::vector<std::string> missing, unexpected;
  std::set_difference(expected.begin(), expected.end(), actual.begin(), actual.end(),
                      std::back_inserter(missing));
  std::set_difference(actual.begin(), actual.end(), expected.begin(), expected.end(),
                      std::back_inserter(unexpected));
  std::ostringstream out;
  for (const std::string& l : missing) out << "\n  in " << expected_root << ":  " << l;
  for (const std::string& l : unexpected) out << "\n  in " << actual_root << ":  " << l;
  return out.str();
}

// The fixture's checks before any test: prerequisites, a fresh temp dir, a filesystem that can
// hold the metadata.
class RootTransfer : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string missing = MissingPrerequisite();
    if (!missing.empty()) GTEST_SKIP() << missing;
    ASSERT_TRUE(tmp_.valid()) << "mkdtemp: " << strerror(errno);
    std::string why;
    if (!FilesystemHoldsTrustedXattrs(tmp_ / "probe", &why)) GTEST_SKIP() << why;
  }
  ScopedTempDir tmp_;
};

// rsync exited 0 and said nothing. Not fatal: the tree differences tell what a failure broke.
void ExpectCleanExit(const RunResult& r) {
  EXPECT_EQ(r.status, 0) << r.err;
  if (r.status == 0) {
    EXPECT_EQ(r.err, "") << "rsync exited 0 but wrote messages";
  }
}

// ---------------------------------------------------------------------------------------------

// A root backup with a read-only key: the copy has everything, and the source is unchanged.
TEST_F(RootTransfer, PullAHAXSKeepsSetuidCapsAclsXattrsAndLinks) {
  const std::string dir = tmp_ / "dir", got = tmp_ / "got";
  ASSERT_NO_FATAL_FAILURE(MakeDirectory(dir));
  ASSERT_NO_FATAL_FAILURE(BuildRootTree(dir));
  ASSERT_NO_FATAL_FAILURE(MakeDirectory(got));
  std::vector<std::string> before = DescribeTree(dir);

  RunResult r = RunProgram(
      {kRsync, "-aHAXS", "--numeric-ids", "-e", ForcedRrsync({"-ro", dir}), "x:", got + "/"});
  ExpectCleanExit(r);
  EXPECT_EQ(TreeDifferences(dir, got), "");
  EXPECT_EQ(DescribeTree(dir), before) << "a pull changed its source";
}

// O_NOATIME on files of other owners needs CAP_FOWNER: without it every open fails with EPERM.
TEST_F(RootTransfer, PullWithOpenNoatimeReadsFilesOfOtherOwnersAndKeepsTheirAtimes) {
  const std::string dir = tmp_ / "dir", got = tmp_ / "got";
  ASSERT_NO_FATAL_FAILURE(MakeDirectory(dir));
  ASSERT_NO_FATAL_FAILURE(BuildRootTree(dir));
  ASSERT_NO_FATAL_FAILURE(MakeDirectory(got));

  RunResult r = RunProgram({kRsync, "-aHAXS", "--numeric-ids", "--open-noatime", "-e",
                            ForcedRrsync({"-ro", dir}), "x:", got + "/"});
  ExpectCleanExit(r);
  // Checked before anything here reads the files (atime == mtime: relatime would update it).
  // With the mount view a pull's DIR is read-only and atimes stay anyway; O_NOATIME is still
  // checked, and refused with EPERM on others' files without CAP_FOWNER.
  for (const char* rel : {"other-000", "other-dir-000/sub/f", "read-only-dir/f", "plain"}) {
    struct stat st;
    ASSERT_EQ(stat((dir + "/" + rel).c_str(), &st), 0) << rel;
    EXPECT_EQ(st.st_atim.tv_sec, kTreeTime.tv_sec) << rel << ": the pull changed its atime";
    EXPECT_EQ(st.st_atim.tv_nsec, kTreeTime.tv_nsec) << rel;
  }
  EXPECT_EQ(TreeDifferences(dir, got), "");
}

// A restore with a read-write key into an empty DIR.
TEST_F(RootTransfer, PushAHAXSKeepsSetuidCapsAclsXattrsAndLinks) {
  const std::string src = tmp_ / "src", dir = tmp_ / "dir";
  ASSERT_NO_FATAL_FAILURE(MakeDirectory(src));
  ASSERT_NO_FATAL_FAILURE(BuildRootTree(src));
  ASSERT_NO_FATAL_FAILURE(MakeDirectory(dir));

  RunResult r =
      RunProgram({kRsync, "-aHAXS", "--numeric-ids", "-e", ForcedRrsync({dir}), src + "/", "x:/"});
  ExpectCleanExit(r);
  EXPECT_EQ(TreeDifferences(src, dir), "");
}

// Over an older copy whose files belong to another owner, are read-only and sit in read-only
// directories of other owners: replaced, and what the source lacks deleted.
TEST_F(RootTransfer, PushAHAXSWithDeleteReplacesReadOnlyFilesOfOtherOwners) {
  const std::string src = tmp_ / "src", dir = tmp_ / "dir";
  ASSERT_NO_FATAL_FAILURE(MakeDirectory(src));
  ASSERT_NO_FATAL_FAILURE(BuildRootTree(src));
  ASSERT_NO_FATAL_FAILURE(MakeDirectory(dir));
  ASSERT_NO_FATAL_FAILURE(
      MakeFile(dir + "/plain", "old plain, longer\n", 0444, kOldOwner, kOldOwner));
  ASSERT_NO_FATAL_FAILURE(MakeFile(dir + "/hard-2", "old\n", 0444, kOldOwner, kOldOwner));
  ASSERT_NO_FATAL_FAILURE(MakeFile(dir + "/stale", "stale\n", 0400, kOldOwner, kOldOwner));
  ASSERT_NO_FATAL_FAILURE(MakeDirectory(dir + "/read-only-dir"));
  ASSERT_NO_FATAL_FAILURE(
      MakeFile(dir + "/read-only-dir/f", "old read only, longer\n", 0444, kOldOwner, kOldOwner));
  ASSERT_NO_FATAL_FAILURE(
      MakeFile(dir + "/read-only-dir/stale", "stale\n", 0, kOldOwner, kOldOwner));
  ASSERT_NO_FATAL_FAILURE(MakeDirectory(dir + "/read-only-dir/stale-dir"));
  ASSERT_NO_FATAL_FAILURE(
      MakeFile(dir + "/read-only-dir/stale-dir/f", "stale\n", 0, kOldOwner, kOldOwner));
  ASSERT_NO_FATAL_FAILURE(
      SetOwnerAndMode(dir + "/read-only-dir/stale-dir", kOldOwner, kOldOwner, 0555));
  ASSERT_NO_FATAL_FAILURE(SetOwnerAndMode(dir + "/read-only-dir", kOldOwner, kOldOwner, 0555));
  ASSERT_NO_FATAL_FAILURE(MakeDirectory(dir + "/other-dir-000"));
  ASSERT_NO_FATAL_FAILURE(MakeFile(dir + "/other-dir-000/f", "old\n", 0, kOldOwner, kOldOwner));
  ASSERT_NO_FATAL_FAILURE(
      MakeFile(dir + "/other-dir-000/stale", "stale\n", 0, kOldOwner, kOldOwner));
  ASSERT_NO_FATAL_FAILURE(SetOwnerAndMode(dir + "/other-dir-000", kOldOwner, kOldOwner, 0));
  ASSERT_NO_FATAL_FAILURE(SetTimes(dir, kOldTime));

  RunResult r = RunProgram(
      {kRsync, "-aHAXS", "--numeric-ids", "--delete", "-e", ForcedRrsync({dir}), src + "/", "x:/"});
  ExpectCleanExit(r);
  EXPECT_EQ(TreeDifferences(src, dir), "");
}

// With DIR "/" rrsync lets rsync create device nodes (no --drop-D); the remote path is absolute.
// The lock on "/" would make parallel tests refuse each other: -no-lock.
TEST_F(RootTransfer, PushADToRootKeepsDeviceNodesFifosAndSockets) {
  const std::string src = tmp_ / "src", dst = tmp_ / "dst";
  ASSERT_NO_FATAL_FAILURE(MakeDirectory(src));
  ASSERT_NO_FATAL_FAILURE(BuildSpecialTree(src));
  ASSERT_NO_FATAL_FAILURE(MakeDirectory(dst));

  RunResult r = RunProgram({kRsync, "-aD", "--numeric-ids", "-e", ForcedRrsync({"-no-lock", "/"}),
                            src + "/", "x:" + dst + "/"});
  ExpectCleanExit(r);
  EXPECT_EQ(TreeDifferences(src, dst), "");
}

TEST_F(RootTransfer, PullADFromRootKeepsDeviceNodesFifosAndSockets) {
  const std::string src = tmp_ / "src", got = tmp_ / "got";
  ASSERT_NO_FATAL_FAILURE(MakeDirectory(src));
  ASSERT_NO_FATAL_FAILURE(BuildSpecialTree(src));
  ASSERT_NO_FATAL_FAILURE(MakeDirectory(got));

  RunResult r = RunProgram({kRsync, "-aD", "--numeric-ids", "-e", ForcedRrsync({"-ro", "/"}),
                            "x:" + src + "/", got + "/"});
  ExpectCleanExit(r);
  EXPECT_EQ(TreeDifferences(src, got), "");
}

}  // namespace
}  // namespace rrsync
