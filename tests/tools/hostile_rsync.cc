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
//
// A plan line "attacks root" adds what a hijacked rsync running as root would try against the
// kernel, the host and other processes (see RootAttacks below), and a line
// "caps eff=<hex> bnd=<hex>" (not an attempt). Each of those attempts is judged by its own
// errnos: "ALLOWED" means the call got past every permission check ("reached": success, or the
// errno the kernel returns only after its checks, for an argument chosen so that nothing on the
// host changes), "DENIED" means a confinement layer stopped it, anything else is an ERROR. With
// "attacks root", ENOENT and EROFS also count as DENIED for the attempts above (a private mount
// view has no names outside DIR and binds a pull's DIR read-only). Their plan lines:
// "victim <pid>" (a process the test started; never one it did not), "shm <id>" and "msg <id>"
// (SysV objects the test created and gave to another user), "dgram <path>" (a datagram socket
// the test bound outside DIR), "handle <type>:<hex>" (name_to_handle_at of outside/secret, by the
// test).
// For them the tests also prepare outside/meta (with the xattr user.probe) and the device node
// DIR/devnull (char 1:3).
//
// A plan line "snapshot-attacks yes" (snapshot mode, -snapshots; with "older <abs path>", an
// earlier snapshot that is not latest, and "btrfs yes", btrfs's ioctls on the new subvolume)
// replaces all of
// the above with what a hijacked rsync would do to the earlier snapshots its push starts from
// (SnapshotAttacks below); the plan is then also found beneath a --link-dest= argument, where
// the link-dest level names latest.
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/btrfs.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/io_uring.h>
#include <linux/kcmp.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::map<std::string, std::string> plan;

// "attacks root": the root attacks run.
bool attacks_root = false;
// A private mount view's answers count as denials: with "attacks root", and whenever this is the
// first process of a PID namespace (its parent is outside: getppid() is 0), which rrsync creates
// only with the mount view.
bool in_mount_view = false;

std::string ErrnoName(int e) {
  const char* name = strerrorname_np(e);
  return name != nullptr ? name : std::to_string(e);
}

// Runs one attempt: `action` returns 0 on success or an errno value.
void Attempt(const std::string& name, const std::function<int()>& action) {
  int error = action();
  if (error == 0)
    std::printf("%s ALLOWED\n", name.c_str());
  else if (error == EACCES || error == EPERM || error == EXDEV ||
           (in_mount_view && (error == ENOENT || error == EROFS)))
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

// Opens `path` the way rsync 3.5.0 resolves a path under --confine-root (syscall.c's ona_open):
// "/" first, then every component O_RDONLY | O_DIRECTORY | O_NOFOLLOW, a symlink (the
// /proc/self/fd/N magic link too) read and spliced back in, an absolute target restarting at "/".
// O_RDONLY, not O_PATH (3.5.1 and Debian's 3.5.0 use O_PATH): Landlock checks READ_DIR on each.
int OpenLikeRsync350(const std::string& path) {
  std::string rest = path;
  int dfd = -1;
  int error = 0;
  for (int links = 0; error == 0;) {
    if (rest.starts_with("/")) {
      if (dfd >= 0) close(dfd);
      dfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd < 0) return errno;
      size_t start = rest.find_first_not_of('/');
      rest = start == std::string::npos ? "" : rest.substr(start);
    }
    if (rest.empty()) break;
    size_t slash = rest.find('/');
    std::string comp = rest.substr(0, slash);
    rest = slash == std::string::npos ? "" : rest.substr(slash + 1);
    struct stat st;
    if (fstatat(dfd, comp.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      error = errno;
    } else if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t n = readlinkat(dfd, comp.c_str(), target, sizeof(target) - 1);
      if (n < 0)
        error = errno;
      else if (++links > 40)
        error = ELOOP;
      else
        rest = std::string(target, n) + (rest.empty() ? "" : "/" + rest);
    } else {
      int next = openat(dfd, comp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (next < 0) {
        error = errno;
      } else {
        close(dfd);
        dfd = next;
      }
    }
  }
  if (dfd >= 0) close(dfd);
  return error;
}

// In the mount view /tmp is the view's own directory, listable once "/" may be read (rsync
// 3.5.0's walk needs it: see OpenLikeRsync350). What must not be there is any name but the
// first component of DIR's path below /tmp: a host name would be an escape. Returns 0 when one
// is found (or, outside the view, when /tmp can be listed at all), else the errno that says it
// is not there (ENOENT, which the view's denials use).
int ListTmp(const std::string& dir) {
  if (!in_mount_view) return ListDir("/tmp");
  DIR* d = opendir("/tmp");
  if (d == nullptr) return errno;
  std::string own = dir.starts_with("/tmp/") ? dir.substr(5, dir.find('/', 5) - 5) : "";
  int error = ENOENT;
  while (dirent* entry = readdir(d)) {
    std::string name = entry->d_name;
    if (name != "." && name != ".." && name != own) error = 0;
  }
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
  for (int i = 1; i < argc; ++i) {
    if (strncmp(argv[i], "/proc/self/fd/", 14) == 0)
      candidates.push_back(std::string(argv[i]) + "/.hostile-plan");
    if (strncmp(argv[i], "--link-dest=", 12) == 0)
      candidates.push_back(std::string(argv[i] + 12) + "/.hostile-plan");
  }
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

// ---------------------------------------------------------------------------------------------
// The root attacks: what a hijacked rsync running as root tries beyond files and sockets.
//
// Every attempt must leave the host as it was. Where a valid call would change something, the
// argument is one the kernel rejects only after its permission check (a wrong reboot magic, a
// host name longer than 64, a path that does not exist, a descriptor that is not open, an
// address that is not mapped): unconfined, the call returns that errno ("reached"); confined,
// EPERM or the like. Calls that return a descriptor get it closed at once. What only the
// process itself would feel (unshare, personality) runs in a child.

// The errnos that judge one root attack.
struct Verdicts {
  std::set<int> reached;  // past every permission check; 0: the call succeeded
  std::set<int> denied;   // a confinement layer stopped it
};

// The errnos each layer answers with: seccomp and missing capabilities say EPERM (perf and a
// few others EACCES); the mount view says ENOENT for a name outside DIR and EROFS where it is
// read-only; the PID namespace ESRCH for a process outside it; the IPC namespace EINVAL for a
// SysV id from outside it.
const std::set<int> kByCapability = {EPERM, EACCES};
const std::set<int> kByName = {EPERM, EACCES, ENOENT, EROFS};
const std::set<int> kByPid = {EPERM, EACCES, ESRCH};
const std::set<int> kByIpcId = {EPERM, EACCES, EINVAL};

void Judge(const std::string& name, const Verdicts& verdicts, const std::function<int()>& action) {
  int error = action();
  if (verdicts.reached.count(error))
    std::printf("%s ALLOWED\n", name.c_str());
  else if (verdicts.denied.count(error))
    std::printf("%s DENIED %s\n", name.c_str(), ErrnoName(error).c_str());
  else
    std::printf("%s ERROR %s\n", name.c_str(), error == 0 ? "SUCCESS" : ErrnoName(error).c_str());
  std::fflush(stdout);
}

// A system call's result as 0 (success, whatever it returned) or its errno.
int Sys(long rc) { return rc >= 0 ? 0 : errno; }

// A call that returns a descriptor: closed at once.
int SysFd(long fd) {
  if (fd < 0) return errno;
  close(static_cast<int>(fd));
  return 0;
}

// Runs `action` in a child and returns its result, for calls that change the caller itself.
int InChild(const std::function<int()>& action) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return errno;
  pid_t pid = fork();
  if (pid < 0) return errno;
  if (pid == 0) {
    int error = action();
    (void)!write(fds[1], &error, sizeof(error));
    _exit(0);
  }
  close(fds[1]);
  int error = EIO;
  ssize_t n = read(fds[0], &error, sizeof(error));
  close(fds[0]);
  waitpid(pid, nullptr, 0);
  return n == static_cast<ssize_t>(sizeof(error)) ? error : EIO;
}

// The effective and bounding capability sets, by system call (Landlock keeps /proc from a
// confined process today).
void PrintCapabilities() {
  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  uint64_t effective = 0, bounding = 0;
  if (syscall(SYS_capget, &header, data) == 0)
    effective = data[0].effective | (static_cast<uint64_t>(data[1].effective) << 32);
  for (int cap = 0; cap < 64; ++cap) {
    int in_set = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (in_set < 0) break;  // past the kernel's last capability
    if (in_set == 1) bounding |= 1ULL << cap;
  }
  std::printf("caps eff=%016llx bnd=%016llx\n", static_cast<unsigned long long>(effective),
              static_cast<unsigned long long>(bounding));
  std::fflush(stdout);
}

// The path from directory `from` to `to`, both absolute and normalized: "../outside/meta".
std::string RelativePath(const std::string& from, const std::string& to) {
  auto split = [](const std::string& path) {
    std::vector<std::string> parts;
    std::istringstream in(path);
    std::string part;
    while (std::getline(in, part, '/'))
      if (!part.empty() && part != ".") parts.push_back(part);
    return parts;
  };
  std::vector<std::string> a = split(from), b = split(to);
  size_t common = 0;
  while (common < a.size() && common < b.size() && a[common] == b[common]) ++common;
  std::string rel;
  for (size_t i = common; i < a.size(); ++i) rel += "../";
  for (size_t i = common; i < b.size(); ++i) rel += b[i] + (i + 1 < b.size() ? "/" : "");
  return rel.empty() ? "." : rel;
}

// How a metadata attempt names the file outside DIR: by a name (`name`, the path calls chmod,
// setxattr...), or relative to a descriptor (`dirfd`, `at_path`, `at_flags`: the *at calls).
struct Target {
  std::string via;
  std::string name;     // empty: the xattr calls go through *xattrat too
  bool use_at = false;  // chmod, chown and utimensat through their *at forms
  int dirfd = AT_FDCWD;
  std::string at_path;
  int at_flags = 0;
  int error = 0;  // the target could not be formed: this errno for every attempt
};

// The system calls glibc 2.36 has no wrapper for, numbered as on this kernel.
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef SYS_setxattrat
#define SYS_setxattrat 463
#define SYS_getxattrat 464
#define SYS_removexattrat 466
#endif
struct XattrArgs {
  uint64_t value;
  uint32_t size;
  uint32_t flags;
};

int ChmodAt(const Target& t, mode_t mode) {
  if (t.error) return t.error;
  if (!t.use_at) return Check(chmod(t.name.c_str(), mode));
  if (t.at_flags & AT_EMPTY_PATH)  // fchmodat has no flags argument; fchmodat2 has
    return Sys(syscall(SYS_fchmodat2, t.dirfd, t.at_path.c_str(), mode, t.at_flags));
  return Check(fchmodat(t.dirfd, t.at_path.c_str(), mode, 0));
}

int ChownAt(const Target& t, uid_t uid, gid_t gid) {
  if (t.error) return t.error;
  if (!t.use_at) return Check(chown(t.name.c_str(), uid, gid));
  return Check(fchownat(t.dirfd, t.at_path.c_str(), uid, gid, t.at_flags));
}

int UtimesAt(const Target& t) {
  if (t.error) return t.error;
  const timespec times[2] = {{1000000000, 0}, {1000000000, 0}};
  if (!t.use_at) return Check(utimensat(AT_FDCWD, t.name.c_str(), times, 0));
  return Check(utimensat(t.dirfd, t.at_path.c_str(), times, t.at_flags));
}

int SetXattrAt(const Target& t, const char* name, const void* value, size_t size) {
  if (t.error) return t.error;
  if (!t.name.empty()) return Check(setxattr(t.name.c_str(), name, value, size, 0));
  XattrArgs args = {reinterpret_cast<uintptr_t>(value), static_cast<uint32_t>(size), 0};
  return Sys(
      syscall(SYS_setxattrat, t.dirfd, t.at_path.c_str(), t.at_flags, name, &args, sizeof(args)));
}

int GetXattrAt(const Target& t, const char* name) {
  if (t.error) return t.error;
  char value[64];
  if (!t.name.empty()) return Sys(getxattr(t.name.c_str(), name, value, sizeof(value)));
  XattrArgs args = {reinterpret_cast<uintptr_t>(value), sizeof(value), 0};
  return Sys(
      syscall(SYS_getxattrat, t.dirfd, t.at_path.c_str(), t.at_flags, name, &args, sizeof(args)));
}

int RemoveXattrAt(const Target& t, const char* name) {
  if (t.error) return t.error;
  if (!t.name.empty()) return Check(removexattr(t.name.c_str(), name));
  return Sys(syscall(SYS_removexattrat, t.dirfd, t.at_path.c_str(), t.at_flags, name));
}

// The first descriptor rrsync pinned, from an argument /proc/self/fd/N[/...]; -1 without one.
int FirstPin(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (strncmp(argv[i], "/proc/self/fd/", 14) == 0) return std::atoi(argv[i] + 14);
  return -1;
}

// Every way to name outside/meta that stays clear of DIR's own names: the absolute path,
// "PIN/.." relative to a pinned descriptor (the *at calls, *xattrat included), the same through
// /proc/self/fd/N/.., relative to the working directory (DIR), and an O_PATH descriptor (with
// AT_EMPTY_PATH; the xattr calls, which refuse an O_PATH descriptor, through its
// /proc/self/fd/N).
std::vector<Target> OutsideTargets(const std::string& meta, int pin) {
  std::vector<Target> targets;
  Target by_name;
  by_name.via = "abs";
  by_name.name = meta;
  targets.push_back(by_name);
  if (pin >= 0) {
    Target by_pin, by_proc;
    by_pin.via = "pin";
    by_pin.use_at = true;
    by_pin.dirfd = pin;
    by_proc.via = "procfd";
    char target[PATH_MAX];
    ssize_t n =
        readlink(("/proc/self/fd/" + std::to_string(pin)).c_str(), target, sizeof(target) - 1);
    if (n < 0) {
      by_pin.error = by_proc.error = errno;
    } else {
      std::string rel = RelativePath(std::string(target, static_cast<size_t>(n)), meta);
      by_pin.at_path = rel;
      by_proc.name = "/proc/self/fd/" + std::to_string(pin) + "/" + rel;
    }
    targets.push_back(by_pin);
    targets.push_back(by_proc);
  }
  Target by_cwd;
  by_cwd.via = "cwd";
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof(cwd)) == nullptr)
    by_cwd.error = errno;
  else
    by_cwd.name = RelativePath(cwd, meta);
  targets.push_back(by_cwd);
  // Left open: it names the file for every attempt below, and the process ends soon after.
  Target by_opath;
  by_opath.via = "opath";
  by_opath.use_at = true;
  by_opath.dirfd = open(meta.c_str(), O_PATH | O_CLOEXEC);
  by_opath.at_flags = AT_EMPTY_PATH;
  by_opath.name = "/proc/self/fd/" + std::to_string(by_opath.dirfd);
  if (by_opath.dirfd < 0) by_opath.error = errno;
  targets.push_back(by_opath);
  return targets;
}

// A v2 security.capability value that grants nothing: valid, so only the permission check
// (CAP_SETFCAP) stands between the caller and a file capability.
std::string CapabilityXattr() {
  uint32_t words[5] = {VFS_CAP_REVISION_2, 0, 0, 0, 0};
  return std::string(reinterpret_cast<const char*>(words), sizeof(words));
}

// A system.posix_acl_access value: u::rw-, u:65534:r--, g::r--, m::r--, o::r--.
std::string AclXattr() {
  struct Entry {
    uint16_t tag, perm;
    uint32_t id;
  };
  const uint32_t kUndefined = 0xffffffffu;
  const uint32_t version = 2;
  const Entry entries[] = {{0x01, 6, kUndefined},
                           {0x02, 4, 65534},
                           {0x04, 4, kUndefined},
                           {0x10, 4, kUndefined},
                           {0x20, 4, kUndefined}};
  std::string value(reinterpret_cast<const char*>(&version), sizeof(version));
  value.append(reinterpret_cast<const char*>(entries), sizeof(entries));
  return value;
}

int ParseHex(const std::string& hex, std::string* bytes) {
  if (hex.size() % 2 != 0) return EINVAL;
  for (size_t i = 0; i < hex.size(); i += 2)
    bytes->push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return 0;
}

// open_by_handle_at of the handle the test took of outside/secret, decoded against DIR.
int OpenByHandle(const std::string& dir, const std::string& spec) {
  size_t colon = spec.find(':');
  std::string bytes;
  if (colon == std::string::npos || ParseHex(spec.substr(colon + 1), &bytes) != 0) return EINVAL;
  std::vector<char> storage(sizeof(file_handle) + bytes.size());
  file_handle* handle = reinterpret_cast<file_handle*>(storage.data());
  handle->handle_bytes = static_cast<unsigned>(bytes.size());
  handle->handle_type = std::atoi(spec.substr(0, colon).c_str());
  memcpy(handle->f_handle, bytes.data(), bytes.size());
  int mount_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (mount_fd < 0) return errno;
  int error = SysFd(open_by_handle_at(mount_fd, handle, O_RDONLY | O_CLOEXEC));
  close(mount_fd);
  return error;
}

int NameToHandle(const std::string& path) {
  std::vector<char> storage(sizeof(file_handle) + MAX_HANDLE_SZ);
  file_handle* handle = reinterpret_cast<file_handle*>(storage.data());
  handle->handle_bytes = MAX_HANDLE_SZ;
  int mount_id = 0;
  return Check(name_to_handle_at(AT_FDCWD, path.c_str(), handle, &mount_id, 0));
}

// An ioctl on DIR's own descriptor (its filesystem, for the filesystem-wide ones).
int DirIoctl(const std::string& dir, unsigned long request, void* arg) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  int error = Check(ioctl(fd, request, arg));
  close(fd);
  return error;
}

// FS_IMMUTABLE_FL on a file; put back at once if the kernel let it through.
int SetImmutable(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  int flags = 0;
  int error = Check(ioctl(fd, FS_IOC_GETFLAGS, &flags));
  if (error == 0) {
    int immutable = flags | FS_IMMUTABLE_FL;
    error = Check(ioctl(fd, FS_IOC_SETFLAGS, &immutable));
    if (error == 0) ioctl(fd, FS_IOC_SETFLAGS, &flags);
  }
  close(fd);
  return error;
}

int LoadBpfSocketFilter() {
  bpf_insn insns[2] = {};
  insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;  // r0 = 0
  insns[1].code = BPF_JMP | BPF_EXIT;           // return r0
  static const char kLicense[] = "GPL";
  bpf_attr attr = {};
  attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  attr.insn_cnt = 2;
  attr.insns = reinterpret_cast<uintptr_t>(insns);
  attr.license = reinterpret_cast<uintptr_t>(kLicense);
  return SysFd(syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr)));
}

int PerfSystemWide() {
  perf_event_attr attr = {};
  attr.type = PERF_TYPE_SOFTWARE;
  attr.size = sizeof(attr);
  attr.config = PERF_COUNT_SW_CPU_CLOCK;
  attr.disabled = 1;
  return SysFd(syscall(SYS_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC));
}

int InotifyWatch(const std::string& path) {
  int fd = inotify_init1(IN_CLOEXEC);
  if (fd < 0) return errno;
  int error = Sys(inotify_add_watch(fd, path.c_str(), IN_ACCESS));
  close(fd);
  return error;
}

// A time adjustment whose tick is out of range: refused only after the CAP_SYS_TIME check.
int AdjustTimeBadTick(bool clock_adjtime_call) {
  timex tx = {};
  tx.modes = ADJ_TICK;
  tx.tick = 1;
  return Sys(clock_adjtime_call ? syscall(SYS_clock_adjtime, CLOCK_REALTIME, &tx)
                                : syscall(SYS_adjtimex, &tx));
}

int SeizeVictim(pid_t victim) {
  if (ptrace(PTRACE_SEIZE, victim, 0, 0) != 0) return errno;
  // Let it go again; were this to fail, our exit detaches it anyway.
  if (ptrace(PTRACE_INTERRUPT, victim, 0, 0) == 0 && waitpid(victim, nullptr, __WALL) == victim)
    ptrace(PTRACE_DETACH, victim, 0, 0);
  return 0;
}

// process_vm_readv/writev at the victim's address 0: EFAULT once the ptrace check has passed.
int VictimMemory(pid_t victim, bool write) {
  char buf[8] = {};
  iovec local = {buf, sizeof(buf)};
  iovec remote = {nullptr, sizeof(buf)};
  return Sys(write ? process_vm_writev(victim, &local, 1, &remote, 1, 0)
                   : process_vm_readv(victim, &local, 1, &remote, 1, 0));
}

int PidfdGetfd(pid_t victim) {
  long pidfd = syscall(SYS_pidfd_open, victim, 0);
  if (pidfd < 0) return errno;
  int error = SysFd(syscall(SYS_pidfd_getfd, pidfd, 0, 0));
  close(static_cast<int>(pidfd));
  return error;
}

// The victim's own nice value, set again.
int ReniceVictim(pid_t victim) {
  errno = 0;
  int nice = getpriority(PRIO_PROCESS, static_cast<id_t>(victim));
  if (nice == -1 && errno != 0) return errno;
  return Check(setpriority(PRIO_PROCESS, static_cast<id_t>(victim), nice));
}

int IoprioVictim(pid_t victim) {
  const int kWhoProcess = 1;  // IOPRIO_WHO_PROCESS
  long prio = syscall(SYS_ioprio_get, kWhoProcess, victim);
  if (prio < 0) return errno;
  return Sys(syscall(SYS_ioprio_set, kWhoProcess, victim, prio));
}

int SchedVictim(pid_t victim) {
  int policy = sched_getscheduler(victim);
  if (policy < 0) return errno;
  sched_param param = {};
  if (sched_getparam(victim, &param) != 0) return errno;
  return Check(sched_setscheduler(victim, policy, &param));
}

// A datagram to a socket bound outside DIR, through a socketpair (socket() itself is filtered),
// with SCM_CREDENTIALS naming another process: forging a pid needs CAP_SYS_ADMIN.
int DatagramWithForgedPid(const std::string& path, pid_t victim) {
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair) != 0) return errno;
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  char byte = 'x';
  iovec iov = {&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))] = {};
  msghdr msg = {};
  msg.msg_name = &addr;
  msg.msg_namelen = sizeof(addr);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_CREDENTIALS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(ucred));
  ucred creds = {victim, getuid(), getgid()};
  memcpy(CMSG_DATA(cmsg), &creds, sizeof(creds));
  int error = Sys(sendmsg(pair[0], &msg, 0));
  close(pair[0]);
  close(pair[1]);
  return error;
}

void RootAttacks(int argc, char** argv) {
  const std::string dir = plan["dir"];
  const std::string out = plan["outside"];
  const std::string in = dir + "/inside.txt";
  const std::string meta = out + "/meta";
  PrintCapabilities();

  // The machine: reboot, swap, clock, names, kernel code, accounting.
  Judge("reboot-bad-magic", {{EINVAL}, kByCapability}, [] {
    // Wrong magic and an unknown command: refused after the CAP_SYS_BOOT check either way.
    return Sys(syscall(SYS_reboot, 0, 0, 0xdeadbeefU, nullptr));
  });
  Judge("swapon-missing", {{ENOENT}, kByCapability},
        [&] { return Sys(syscall(SYS_swapon, (out + "/no-such-swap").c_str(), 0)); });
  Judge("swapoff-missing", {{ENOENT}, kByCapability},
        [&] { return Sys(syscall(SYS_swapoff, (out + "/no-such-swap").c_str())); });
  // Both NULL: nothing to set, but the CAP_SYS_TIME check comes first.
  Judge("settimeofday-noop", {{0}, kByCapability},
        [] { return Sys(syscall(SYS_settimeofday, nullptr, nullptr)); });
  Judge("adjtimex-bad-tick", {{EINVAL}, kByCapability}, [] { return AdjustTimeBadTick(false); });
  Judge("clock-adjtime-bad-tick", {{EINVAL}, kByCapability},
        [] { return AdjustTimeBadTick(true); });
  const std::string long_name(80, 'x');  // more than __NEW_UTS_LEN (64)
  Judge("sethostname-too-long", {{EINVAL}, kByCapability},
        [&] { return Sys(syscall(SYS_sethostname, long_name.c_str(), long_name.size())); });
  Judge("setdomainname-too-long", {{EINVAL}, kByCapability},
        [&] { return Sys(syscall(SYS_setdomainname, long_name.c_str(), long_name.size())); });
  Judge("finit-module-bad-fd", {{EBADF}, kByCapability},
        [] { return Sys(syscall(SYS_finit_module, -1, "", 0)); });
  Judge("delete-module-missing", {{ENOENT}, kByCapability},
        [] { return Sys(syscall(SYS_delete_module, "rrsync_no_such_module", O_NONBLOCK)); });
  Judge("kexec-file-load-bad-fd", {{EBADF}, kByCapability},
        [] { return Sys(syscall(SYS_kexec_file_load, -1, -1, 0UL, nullptr, 0UL)); });
  Judge("acct-missing", {{ENOENT}, kByCapability},
        [&] { return Sys(syscall(SYS_acct, (out + "/no-such-dir/acct").c_str())); });
  Judge("iopl-3", {{0}, kByCapability},
        [] { return InChild([] { return Sys(syscall(SYS_iopl, 3)); }); });

  // Mounts: each call aimed where it fails after the permission check, or makes an object that
  // is dropped when its descriptor closes. umount2 and pivot_root refuse these arguments after
  // the CAP_SYS_ADMIN check but before the LSM hook (Landlock denies a real one later).
  const std::string sub = dir + "/sub";  // a directory, never a mount point
  Judge("umount-not-mountpoint", {{EINVAL}, kByCapability},
        [&] { return Sys(syscall(SYS_umount2, sub.c_str(), 0)); });
  Judge("remount-not-mountpoint", {{EINVAL}, kByCapability}, [&] {
    return Sys(syscall(SYS_mount, nullptr, sub.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY,
                       nullptr));
  });
  Judge("pivot-root-missing", {{ENOENT}, kByCapability}, [] {
    return Sys(syscall(SYS_pivot_root, "/rrsync-no-such-root", "/rrsync-no-such-root/old"));
  });
  Judge("mount-setattr-noop", {{0}, kByCapability}, [] {
    mount_attr attr = {};
    return Sys(syscall(SYS_mount_setattr, AT_FDCWD, "/", 0, &attr, sizeof(attr)));
  });
  Judge("open-tree-clone-outside", {{0}, kByName}, [&] {
    return SysFd(syscall(SYS_open_tree, AT_FDCWD, out.c_str(), OPEN_TREE_CLONE | O_CLOEXEC));
  });
  Judge("fsopen-tmpfs", {{0}, kByCapability},
        [] { return SysFd(syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC)); });
  Judge("fspick-root", {{0}, kByCapability},
        [] { return SysFd(syscall(SYS_fspick, AT_FDCWD, "/", FSPICK_CLOEXEC)); });
  // FITHAW of a filesystem that is not frozen; never FIFREEZE.
  Judge("fithaw-dir", {{EINVAL}, kByCapability}, [&] { return DirIoctl(dir, FITHAW, nullptr); });
  Judge("setfslabel-too-long", {{EINVAL}, kByCapability}, [&] {
    char label[FSLABEL_MAX] = {};
    memset(label, 'x', 100);  // ext4's limit is 16
    return DirIoctl(dir, FS_IOC_SETFSLABEL, label);
  });

  // The kernel's other doors.
  Judge("bpf-prog-load", {{0}, kByCapability}, [] { return LoadBpfSocketFilter(); });
  Judge("perf-event-system-wide", {{0}, kByCapability}, [] { return PerfSystemWide(); });
  Judge("syslog-read-all", {{0}, kByCapability}, [] {
    char buf[64];
    return Sys(syscall(SYS_syslog, 3 /* SYSLOG_ACTION_READ_ALL */, buf, sizeof(buf)));
  });
  Judge("keyctl-thread-keyring", {{0}, kByCapability},
        [] { return Sys(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_THREAD_KEYRING, 1)); });
  Judge("userfaultfd", {{0}, kByCapability},
        [] { return SysFd(syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK)); });
  Judge("io-uring-setup", {{0}, kByCapability}, [] {
    io_uring_params params = {};
    return SysFd(syscall(SYS_io_uring_setup, 1, &params));
  });
  Judge("fanotify-init", {{0}, kByCapability},
        [] { return SysFd(fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC, O_RDONLY)); });
  Judge("inotify-watch-outside", {{0}, kByName}, [&] { return InotifyWatch(out + "/secret"); });
  // "/.." from the root names what is stacked on it: the host's root, until the view detaches
  // it. Landlock does not govern stat, so only the detach stops this one.
  Judge("stat-outside-via-root-dotdot", {{0}, kByName}, [&] {
    struct stat st;
    return Sys(stat(("/.." + out + "/secret").c_str(), &st));
  });
  Judge("unshare-user-mount", {{0}, kByCapability},
        [] { return InChild([] { return Check(unshare(CLONE_NEWNS | CLONE_NEWUSER)); }); });
  Judge("personality-linux32", {{0}, kByCapability},
        [] { return InChild([] { return Sys(personality(PER_LINUX32)); }); });
  Judge("name-to-handle-outside", {{0}, kByName}, [&] { return NameToHandle(out + "/secret"); });
  if (plan.count("handle"))
    Judge("open-by-handle-outside", {{0}, kByCapability},
          [&] { return OpenByHandle(dir, plan["handle"]); });
  Judge("open-device-inside", {{0}, kByCapability},
        [&] { return OpenClose(dir + "/devnull", O_RDONLY); });

  // SysV objects of another user, made by the test.
  if (plan.count("shm"))
    Judge("shmat-foreign", {{0}, kByIpcId}, [&] {
      void* at = shmat(std::atoi(plan["shm"].c_str()), nullptr, SHM_RDONLY);
      if (at == reinterpret_cast<void*>(-1)) return errno;
      shmdt(at);
      return 0;
    });
  if (plan.count("msg"))
    Judge("msgrcv-foreign", {{ENOMSG}, kByIpcId}, [&] {
      struct {
        long type;
        char text[64];
      } message;
      return Sys(
          msgrcv(std::atoi(plan["msg"].c_str()), &message, sizeof(message.text), 0, IPC_NOWAIT));
    });

  // Another user's process, started by the test.
  if (plan.count("victim")) {
    const pid_t victim = static_cast<pid_t>(std::atoi(plan["victim"].c_str()));
    Judge("ptrace-seize-victim", {{0}, kByPid}, [&] { return SeizeVictim(victim); });
    Judge("process-vm-readv-victim", {{EFAULT}, kByPid},
          [&] { return VictimMemory(victim, false); });
    Judge("process-vm-writev-victim", {{EFAULT}, kByPid},
          [&] { return VictimMemory(victim, true); });
    Judge("pidfd-open-victim", {{0}, kByPid},
          [&] { return SysFd(syscall(SYS_pidfd_open, victim, 0)); });
    Judge("pidfd-getfd-victim", {{0}, kByPid}, [&] { return PidfdGetfd(victim); });
    Judge("kcmp-victim", {{0}, kByPid},
          [&] { return Sys(syscall(SYS_kcmp, getpid(), victim, KCMP_VM, 0, 0)); });
    Judge("setpriority-victim", {{0}, kByPid}, [&] { return ReniceVictim(victim); });
    Judge("prlimit-victim", {{0}, kByPid}, [&] {
      rlimit old = {};
      return Check(prlimit(victim, RLIMIT_NOFILE, nullptr, &old));
    });
    Judge("ioprio-set-victim", {{0}, kByPid}, [&] { return IoprioVictim(victim); });
    Judge("sched-setscheduler-victim", {{0}, kByPid}, [&] { return SchedVictim(victim); });
    if (plan.count("dgram"))
      Judge("dgram-forged-pid-outside", {{0}, {EPERM, EACCES, ENOENT, ESRCH}},
            [&] { return DatagramWithForgedPid(plan["dgram"], victim); });
  }

  // Metadata of a file outside DIR, by every name for it. removexattr names an attribute the
  // file lacks: ENODATA once the permission checks have passed.
  const std::string cap_value = CapabilityXattr();
  const std::string acl_value = AclXattr();
  for (const Target& t : OutsideTargets(meta, FirstPin(argc, argv))) {
    const std::string suffix = "-outside-" + t.via;
    Judge("chmod-setuid" + suffix, {{0}, kByName}, [&] { return ChmodAt(t, 04644); });
    Judge("chown" + suffix, {{0}, kByName}, [&] { return ChownAt(t, 65534, 65534); });
    Judge("utimens" + suffix, {{0}, kByName}, [&] { return UtimesAt(t); });
    Judge("setxattr-user" + suffix, {{0}, kByName},
          [&] { return SetXattrAt(t, "user.x", "1", 1); });
    Judge("setxattr-trusted" + suffix, {{0}, kByName},
          [&] { return SetXattrAt(t, "trusted.x", "1", 1); });
    Judge("setxattr-capability" + suffix, {{0}, kByName},
          [&] { return SetXattrAt(t, "security.capability", cap_value.data(), cap_value.size()); });
    Judge("setxattr-acl" + suffix, {{0}, kByName}, [&] {
      return SetXattrAt(t, "system.posix_acl_access", acl_value.data(), acl_value.size());
    });
    Judge("removexattr" + suffix, {{ENODATA}, kByName},
          [&] { return RemoveXattrAt(t, "user.rrsync-absent"); });
    Judge("getxattr" + suffix, {{0}, kByName}, [&] { return GetXattrAt(t, "user.probe"); });
  }

  // Metadata inside DIR: a push may change it (rsync does), a pull may not (EROFS or EPERM);
  // the immutable flag never (CAP_LINUX_IMMUTABLE).
  Judge("chmod-inside", {{0}, kByName}, [&] { return Check(chmod(in.c_str(), 0600)); });
  Judge("chown-inside", {{0}, kByName}, [&] { return Check(chown(in.c_str(), 65534, 65534)); });
  Judge("utimens-inside", {{0}, kByName}, [&] {
    const timespec times[2] = {{1000000000, 0}, {1000000000, 0}};
    return Check(utimensat(AT_FDCWD, in.c_str(), times, 0));
  });
  Judge("setxattr-inside", {{0}, kByName},
        [&] { return Check(setxattr(in.c_str(), "user.x", "1", 1, 0)); });
  Judge("immutable-inside", {{0}, kByName}, [&] { return SetImmutable(in); });
}

// Appends "hostile" to `path`: 0 when the write went through.
int AppendTo(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return errno;
  int error = write(fd, "hostile\n", 8) == 8 ? 0 : errno;
  close(fd);
  return error;
}

// ioctl `request` on the working directory; -1 with errno set when it fails.
int IoctlOnDot(unsigned long request, void* arg) {
  int fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  int rc = ioctl(fd, request, arg);
  int error = errno;
  close(fd);
  errno = error;
  return rc;
}

// Snapshot mode: the working directory is the new snapshot, seeded from latest (its files are
// latest's at the overlay level, none at the link-dest level). Every change rsync could make to
// a file it sees, the names of the earlier snapshots, and the overlay's own controls. What is
// ALLOWED must land in the new snapshot only; the test checks the earlier ones on disk.
void SnapshotAttacks(int argc, char** argv) {
  Attempt("snap-append", [&] { return AppendTo("inside.txt"); });
  Attempt("snap-truncate", [&] { return Check(truncate("trunc.txt", 1)); });
  Attempt("snap-chmod", [&] { return Check(chmod("inside.txt", 0600)); });
  Attempt("snap-chown", [&] { return Check(lchown("inside.txt", 65534, 65534)); });
  Attempt("snap-setxattr-user", [&] { return Check(setxattr("sub", "user.snap", "1", 1, 0)); });
  Attempt("snap-removexattr-user", [&] { return Check(removexattr("inside.txt", "user.keep")); });
  Attempt("snap-unlink", [&] { return Check(unlink("deleteme")); });
  Attempt("snap-rmdir", [&] { return Check(rmdir("emptydir")); });
  Attempt("snap-rename-file", [&] { return Check(rename("renameme", "sub/renamed")); });
  Attempt("snap-link", [&] { return Check(link("inside.txt", "sub/hostile-link")); });
  Attempt("snap-utimens", [&] {
    const timespec times[2] = {{1000000000, 0}, {1000000000, 0}};
    return Check(utimensat(AT_FDCWD, "sub", times, AT_SYMLINK_NOFOLLOW));
  });
  // overlayfs's own controls: a redirect or an opaque marker the merge would act on, a whiteout
  // made by hand, the overlay itself unmounted or its flags changed.
  Attempt("snap-setxattr-overlay-opaque",
          [&] { return Check(setxattr("sub", "trusted.overlay.opaque", "y", 1, 0)); });
  Attempt("snap-setxattr-overlay-redirect",
          [&] { return Check(setxattr("sub", "trusted.overlay.redirect", "/x", 2, 0)); });
  Attempt("snap-mknod-whiteout",
          [&] { return Check(mknod("hostile-whiteout", S_IFCHR | 0600, makedev(0, 0))); });
  Attempt("snap-umount", [&] { return Check(umount2(".", MNT_DETACH)); });
  Attempt("snap-immutable", [&] { return SetImmutable("trunc.txt"); });
  // The older snapshot by its absolute name (absent from the overlay level's view).
  Attempt("snap-append-older", [&] { return AppendTo(plan["older"] + "/inside.txt"); });
  // The btrfs level (plan "btrfs yes"): the new snapshot is a subvolume, and btrfs's ioctls on
  // it could reach others by name or id. Each with harmless arguments on the test's own loop
  // image: its own flags set to what they are, a subvolume id that does not exist (0), a
  // snapshot and a subvolume inside the new snapshot (which the seal would refuse).
  if (plan["btrfs"] == "yes") {
    Attempt("snap-btrfs-subvol-create", [&] {
      struct btrfs_ioctl_vol_args args = {};
      std::strcpy(args.name, "hostile-subvolume");
      return Check(IoctlOnDot(BTRFS_IOC_SUBVOL_CREATE, &args));
    });
    Attempt("snap-btrfs-snap-create", [&] {
      int self = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      struct btrfs_ioctl_vol_args_v2 args = {};
      args.fd = self;
      std::strcpy(args.name, "hostile-snapshot");
      int error = Check(IoctlOnDot(BTRFS_IOC_SNAP_CREATE_V2, &args));
      close(self);
      return error;
    });
    Attempt("snap-btrfs-setflags", [&] {
      uint64_t flags = 0;
      if (IoctlOnDot(BTRFS_IOC_SUBVOL_GETFLAGS, &flags) != 0) return errno;
      return Check(IoctlOnDot(BTRFS_IOC_SUBVOL_SETFLAGS, &flags));
    });
    Attempt("snap-btrfs-destroy-by-id", [&] {
      struct btrfs_ioctl_vol_args_v2 args = {};
      args.flags = BTRFS_SUBVOL_SPEC_BY_ID;
      args.subvolid = 0;
      return Check(IoctlOnDot(BTRFS_IOC_SNAP_DESTROY_V2, &args));
    });
    Attempt("snap-btrfs-defrag", [&] { return Check(IoctlOnDot(BTRFS_IOC_DEFRAG, nullptr)); });
    Attempt("snap-btrfs-balance-progress", [&] {
      struct btrfs_ioctl_balance_args args = {};
      return Check(IoctlOnDot(BTRFS_IOC_BALANCE_PROGRESS, &args));
    });
  }
  // The link-dest level hands rsync latest's path: a write there is a write to latest.
  for (int i = 1; i < argc; ++i)
    if (strncmp(argv[i], "--link-dest=", 12) == 0)
      Attempt("snap-append-link-dest",
              [&] { return AppendTo(std::string(argv[i] + 12) + "/inside.txt"); });
}

}  // namespace

int main(int argc, char** argv) {
  if (!LoadPlan(argc, argv)) {
    std::printf("plan MISSING\n");
    return 2;
  }
  if (plan.count("snapshot-attacks")) {
    in_mount_view = getppid() == 0;
    SnapshotAttacks(argc, argv);
    return 0;
  }
  const std::string dir = plan["dir"];
  const std::string out = plan["outside"];
  const std::string in = dir + "/inside.txt";
  attacks_root = plan.count("attacks") && plan["attacks"] == "root";
  in_mount_view = attacks_root || getppid() == 0;

  // The pins rrsync hands over must keep working: each is a directory inside DIR.
  for (int i = 1; i < argc; ++i)
    if (strncmp(argv[i], "/proc/self/fd/", 14) == 0)
      Attempt(std::string("pin-list ") + argv[i], [&] { return ListDir(argv[i]); });
  // ... also for rsync 3.5.0's own resolution, in the mount view (without the view "/" is the
  // host's and stays unreadable: that walk fails there, see docs/SANDBOX.md).
  if (in_mount_view)
    for (int i = 1; i < argc; ++i)
      if (strncmp(argv[i], "/proc/self/fd/", 14) == 0)
        Attempt(std::string("pin-walk ") + argv[i], [&] { return OpenLikeRsync350(argv[i]); });

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
  Attempt("list-tmp", [&] { return ListTmp(dir); });
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
  Judge("signal-parent", {{0}, kByPid}, [&] {
    // 0: the parent is outside our PID namespace (and kill(0) would mean our process group).
    pid_t parent = getppid();
    return parent == 0 ? ESRCH : Check(kill(parent, 0));
  });
  if (plan.count("victim"))
    Judge("signal-victim", {{0}, kByPid},
          [&] { return Check(kill(static_cast<pid_t>(std::atoi(plan["victim"].c_str())), 0)); });
  if (attacks_root) RootAttacks(argc, argv);
  return 0;
}
