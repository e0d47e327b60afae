#include "mount_view.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <utility>

#include "unique_fd.h"

namespace rrsync {
namespace {

// The view is staged on a tmpfs mounted here, in the private mount namespace only.
constexpr char kStaging[] = "/tmp";

std::string Errno(int error) { return std::strerror(error); }

bool Fail(std::string* err, const std::string& step, const std::string& path, int error) {
  *err = "Failed to " + step + " \"" + path + "\" for the mount view: " + Errno(error);
  return false;
}

// "/a/b/../c/./d" -> "/a/c/d": only for paths whose components are directories, not links.
std::string Normalize(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(start, end - start);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = end + 1;
  }
  std::string out;
  for (const std::string& part : parts) out += "/" + part;
  return out.empty() ? "/" : out;
}

bool Covers(const std::string& dir, const std::string& path) {
  return path == dir || (dir == "/" ? true : path.starts_with(dir + "/"));
}

// Detaching the old root. The kernel's umount removes the mounts from the namespace at once,
// then waits for an RCU grace period before it returns (namespace_unlock), which was the largest
// single cost of the view on the 2-vCPU machines measured (docs/PERFORMANCE.md). A helper
// process therefore makes the call, and this process waits only for its effect: after
// pivot_root(".", ".") the old root is stacked on the new one, so "/.." names the old root's
// mount until it is detached and the new root's own mount after. The helper shares this memory
// (CLONE_VM: no page tables copied), runs on a stack of its own, touches nothing but two raw
// system calls (no errno, no TLS: the thread pointer it inherits is its parent's) and reports
// its end to no one (exit signal 0: rsync, which becomes its parent, never sees it). Where raw
// calls are not written for the architecture, the umount is made here and waited for.
#if defined(__x86_64__) || defined(__aarch64__)
long RawSyscall2(long number, long a, long b) {
#if defined(__x86_64__)
  long result;
  asm volatile("syscall" : "=a"(result) : "a"(number), "D"(a), "S"(b) : "rcx", "r11", "memory");
  return result;
#else
  register long x8 asm("x8") = number;
  register long x0 asm("x0") = a;
  register long x1 asm("x1") = b;
  asm volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1) : "memory");
  return x0;
#endif
}

alignas(64) char detacher_stack[16 * 1024];

__attribute__((no_sanitize("address"))) int Detacher(void*) {
  const long result = RawSyscall2(SYS_umount2, reinterpret_cast<long>("."), MNT_DETACH);
  for (;;) RawSyscall2(SYS_exit, result == 0 ? 0 : 1, 0);
}
#endif

// The mount ID of what `path` names, or 0.
uint64_t MountId(const char* path) {
  struct statx stx = {};
  if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) != 0) return 0;
  return (stx.stx_mask & STATX_MNT_ID) ? stx.stx_mnt_id : 0;
}

// After pivot_root(".", "."), with the new root as the working directory: returns once no name
// of the old root is left in this namespace.
bool DetachOldRoot(std::string* err) {
  const uint64_t root = MountId("/");
#if defined(__x86_64__) || defined(__aarch64__)
  pid_t helper =
      root == 0 ? -1 : clone(Detacher, detacher_stack + sizeof(detacher_stack), CLONE_VM, nullptr);
  if (helper > 0) {
    // The detach itself takes microseconds; the limit only bounds a helper that failed.
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
      if (MountId("/..") == root) return true;
      int status;
      if (waitpid(helper, &status, WNOHANG | __WALL) == helper) {
        if (MountId("/..") == root) return true;
        return Fail(err, "detach the old root", "/", EBUSY);
      }
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      if (now.tv_sec - start.tv_sec > 10) return Fail(err, "detach the old root", "/", ETIMEDOUT);
      sched_yield();
    }
  }
#endif
  if (umount2(".", MNT_DETACH) != 0) return Fail(err, "detach the old root", "/", errno);
  if (root != 0 && MountId("/..") != root) return Fail(err, "detach the old root", "/", EBUSY);
  return true;
}

// One step of building the view, recorded while the host's tree is still visible.
struct ViewStep {
  enum Kind { kMkdir, kSymlink, kBindFile, kBindDir } kind;
  std::string path;     // absolute, in the view
  std::string target;   // kSymlink: the link's text
  int tree = -1;        // kBind*: a detached clone (open_tree), owned by ViewBuilder::trees_
  bool device = false;  // kBindFile: a device node (/dev/null)
  bool grant = false;   // kBind*: a wrapper's grant (never re-cloned as a runtime file)
};

class ViewBuilder {
 public:
  explicit ViewBuilder(const MountViewPlan& plan) : plan_(plan) {}

  // Records DIR's bind, from the pinned descriptor.
  bool AddDir(int dir_fd, std::string* err) {
    // Snapshot mode's overlay takes DIR's place; it is detached, so it is moved, not cloned.
    UniqueFd tree(plan_.dir_mount >= 0
                      ? fcntl(plan_.dir_mount, F_DUPFD_CLOEXEC, 0)
                      : static_cast<int>(syscall(
                            SYS_open_tree, dir_fd, "",
                            OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH)));
    if (!tree.valid()) return Fail(err, "clone", plan_.dir, errno);
    // No set-id programs, no device nodes, nothing to execute; read-only for a pull. Beneath
    // DIR too (AT_RECURSIVE), so that a filesystem mounted inside DIR is no way around it.
    mount_attr attr = {};
    attr.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    if (plan_.dir != "/") attr.attr_set |= MOUNT_ATTR_NOEXEC;  // "/" holds rsync itself
    // A clone of a shared mount would join its peer group: what is mounted on it later (the
    // runtime files, where DIR holds them) would appear on the host.
    attr.propagation = MS_PRIVATE;
    if (plan_.read_only) attr.attr_set |= MOUNT_ATTR_RDONLY;
    if (syscall(SYS_mount_setattr, tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
                sizeof(attr)) != 0)
      return Fail(err, "set the attributes of", plan_.dir, errno);
    dir_tree_ = tree.get();
    trees_.push_back(std::move(tree));
    if (plan_.dir != "/") {
      AddParents(plan_.dir);
      // Not a bound runtime directory: what rsync runs from is bound over DIR, read-only and
      // executable, even where DIR holds it.
      Record({ViewStep::kBindDir, plan_.dir, "", dir_tree_, false});
    }
    return true;
  }

  // Records a wrapper's grant: its parents as directories (it is a real path) and a bind of
  // it, nosuid, nodev, noexec, read-only unless `write`. Not a bound runtime directory: a
  // runtime file beneath it still gets its own read-only, executable bind on top.
  bool AddGrant(const std::string& path, bool write, std::string* err) {
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) return Fail(err, "find", path, errno);
    UniqueFd tree(static_cast<int>(syscall(
        SYS_open_tree, AT_FDCWD, path.c_str(),
        OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW)));
    if (!tree.valid()) return Fail(err, "clone", path, errno);
    mount_attr attr = {};
    attr.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
    if (!write) attr.attr_set |= MOUNT_ATTR_RDONLY;
    attr.propagation = MS_PRIVATE;
    if (syscall(SYS_mount_setattr, tree.get(), "", AT_EMPTY_PATH, &attr, sizeof(attr)) != 0)
      return Fail(err, "set the attributes of", path, errno);
    AddParents(path);
    Record({S_ISDIR(st.st_mode) ? ViewStep::kBindDir : ViewStep::kBindFile, path, "", tree.get(),
            false, true});
    trees_.push_back(std::move(tree));
    return true;
  }

  // Records a runtime path: its symlinks on the way, then (unless a bound directory holds it)
  // a read-only bind of what it names.
  bool AddRuntime(const std::string& path, ViewStep::Kind bind, std::string* err) {
    std::string current = Normalize(path);
    for (int hops = 0; hops < 40; ++hops) {
      std::string resolved = "/";
      size_t start = 1;
      bool restarted = false;
      while (start <= current.size() && !restarted) {
        size_t end = current.find('/', start);
        if (end == std::string::npos) end = current.size();
        std::string next =
            (resolved == "/" ? "" : resolved) + "/" + current.substr(start, end - start);
        const bool last = end == current.size();
        if (CoveredByBoundDir(next) && !(last && bind == ViewStep::kBindDir && IsBoundDir(next)))
          return true;
        // The runtime paths share their first components (/usr, /usr/lib, /etc): what an
        // earlier path recorded is not looked up again.
        const ViewStep* known = Recorded(next);
        if (known != nullptr && known->kind == ViewStep::kMkdir && !last) {
          resolved = next;
          start = end + 1;
          continue;
        }
        struct stat st;
        if (known != nullptr && known->kind == ViewStep::kSymlink) {
          st.st_mode = S_IFLNK;
        } else if (lstat(next.c_str(), &st) != 0) {
          return Fail(err, "find", next, errno);
        }
        if (S_ISLNK(st.st_mode)) {
          std::string target;
          if (known != nullptr) {
            target = known->target;
          } else {
            char text[PATH_MAX];
            ssize_t n = readlink(next.c_str(), text, sizeof(text) - 1);
            if (n <= 0) return Fail(err, "read the link", next, n < 0 ? errno : EINVAL);
            target.assign(text, static_cast<size_t>(n));
            Record({ViewStep::kSymlink, next, target, -1, false});
          }
          std::string rest = end < current.size() ? current.substr(end) : "";
          current = Normalize((target[0] == '/' ? target : resolved + "/" + target) + rest);
          restarted = true;
          break;
        }
        if (!last) {
          if (!S_ISDIR(st.st_mode)) return Fail(err, "find", next, ENOTDIR);
          Record({ViewStep::kMkdir, next, "", -1, false});
          resolved = next;
          start = end + 1;
          continue;
        }
        if (bind == ViewStep::kSymlink) return true;  // a name: only its links were wanted
        return AddBind(next, S_ISDIR(st.st_mode) ? ViewStep::kBindDir : ViewStep::kBindFile,
                       S_ISCHR(st.st_mode), err);
      }
      if (!restarted) return true;
    }
    return Fail(err, "resolve", path, ELOOP);
  }

  // Mounts the staging tmpfs, lays the steps out on it, adds /proc, makes it read-only and
  // pivots into it.
  bool Build(std::string* err) {
    if (plan_.dir == "/") {
      // DIR is the whole tree: it is the view's root, with the runtime files bound over it.
      if (syscall(SYS_move_mount, dir_tree_, "", AT_FDCWD, kStaging, MOVE_MOUNT_F_EMPTY_PATH) != 0)
        return Fail(err, "mount", kStaging, errno);
    } else if (mount("tmpfs", kStaging, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                     "mode=0755,size=64k,nr_inodes=4096") != 0) {
      return Fail(err, "mount a tmpfs on", kStaging, errno);
    }
    UniqueFd root(open(kStaging, O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root.valid()) return Fail(err, "open", kStaging, errno);
    for (const ViewStep& step : steps_)
      if (!Lay(root.get(), step, err)) return false;

    // A /proc of the new PID namespace, for the /proc/self/fd/N pins: only the processes'
    // directories (subset=pid: no /proc/sys, /proc/kcore, /proc/sysrq-trigger), read-only.
    if (mkdirat(root.get(), "proc", 0555) != 0 && errno != EEXIST)
      return Fail(err, "create", "/proc", errno);
    const std::string proc = std::string(kStaging) + "/proc";
    if (mount("proc", proc.c_str(), "proc", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "subset=pid,hidepid=invisible") != 0)
      return Fail(err, "mount", "/proc", errno);

    if (plan_.dir != "/") {
      mount_attr attr = {};
      attr.attr_set = MOUNT_ATTR_RDONLY;
      if (syscall(SYS_mount_setattr, root.get(), "", AT_EMPTY_PATH, &attr, sizeof(attr)) != 0)
        return Fail(err, "make read-only", "/", errno);
    }
    // pivot_root(".", ".") stacks the old root on the new one; detaching it leaves no name,
    // and no mount, of the host's tree in this namespace.
    if (fchdir(root.get()) != 0) return Fail(err, "enter", kStaging, errno);
    if (syscall(SYS_pivot_root, ".", ".") != 0) return Fail(err, "pivot into", "/", errno);
    if (!DetachOldRoot(err)) return false;
    if (chdir("/") != 0 || chdir(plan_.dir.c_str()) != 0)
      return Fail(err, "enter", plan_.dir, errno);
    return true;
  }

 private:
  bool IsBoundDir(const std::string& path) const {
    return std::find(plan_.dirs.begin(), plan_.dirs.end(), path) != plan_.dirs.end();
  }
  bool CoveredByBoundDir(const std::string& path) const {
    for (const std::string& dir : bound_dirs_)
      if (Covers(dir, path)) return true;
    return false;
  }

  void AddParents(const std::string& path) {
    size_t at = 1;
    while ((at = path.find('/', at)) != std::string::npos) {
      Record({ViewStep::kMkdir, path.substr(0, at), "", -1, false});
      ++at;
    }
  }

  void Record(ViewStep step) {
    if (!recorded_.emplace(step.path, steps_.size()).second) return;
    steps_.push_back(std::move(step));
  }

  // The step recorded for `path`, or null.
  const ViewStep* Recorded(const std::string& path) const {
    auto found = recorded_.find(path);
    return found == recorded_.end() ? nullptr : &steps_[found->second];
  }

  bool AddBind(const std::string& path, ViewStep::Kind kind, bool device, std::string* err) {
    if (recorded_.count(path)) return true;
    UniqueFd tree;
    if (!CloneReadOnly(path, device, &tree, err)) return false;
    Record({kind, path, "", tree.get(), device});
    if (kind == ViewStep::kBindDir) bound_dirs_.push_back(path);
    trees_.push_back(std::move(tree));
    return true;
  }

  // A detached, private, read-only clone of `path` (non-recursive).
  static bool CloneReadOnly(const std::string& path, bool device, UniqueFd* tree,
                            std::string* err) {
    tree->Reset(static_cast<int>(
        syscall(SYS_open_tree, AT_FDCWD, path.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)));
    if (!tree->valid()) return Fail(err, "clone", path, errno);
    mount_attr attr = {};
    attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID;
    attr.propagation = MS_PRIVATE;
    // /dev/null and /dev/urandom must open; nothing else in the view is a device.
    attr.attr_set |= device ? MOUNT_ATTR_NOEXEC : MOUNT_ATTR_NODEV;
    if (syscall(SYS_mount_setattr, tree->get(), "", AT_EMPTY_PATH, &attr, sizeof(attr)) != 0)
      return Fail(err, "set the attributes of", path, errno);
    return true;
  }

  // Carries out one step relative to the staging root. Steps that meet what is already there
  // (a directory of DIR, a link DIR holds) leave it.
  bool Lay(int root, const ViewStep& step, std::string* err) {
    const std::string rel = step.path == "/" ? "." : step.path.substr(1);
    switch (step.kind) {
      case ViewStep::kMkdir:
        if (mkdirat(root, rel.c_str(), 0755) != 0 && errno != EEXIST)
          return Fail(err, "create", step.path, errno);
        return true;
      case ViewStep::kSymlink:
        if (symlinkat(step.target.c_str(), root, rel.c_str()) != 0 && errno != EEXIST)
          return Fail(err, "create the link", step.path, errno);
        return true;
      case ViewStep::kBindFile: {
        int fd =
            openat(root, rel.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0444);
        if (fd >= 0) {
          close(fd);
        } else if (errno != EEXIST) {
          return Fail(err, "create", step.path, errno);
        }
        break;
      }
      case ViewStep::kBindDir:
        if (mkdirat(root, rel.c_str(), 0755) != 0 && errno != EEXIST && errno != EROFS)
          return Fail(err, "create", step.path, errno);
        break;
    }
    int tree = step.tree;
    UniqueFd again;
    for (int attempt = 0;; ++attempt) {
      if (syscall(SYS_move_mount, tree, "", root, rel.c_str(), MOVE_MOUNT_F_EMPTY_PATH) == 0)
        return true;
      // A file replaced since it was cloned (useradd renames a new /etc/passwd into place)
      // cannot be mounted: clone what the name holds now. Not for DIR, which comes from its
      // descriptor, nor beneath the staging directory, which the tmpfs now hides.
      if (errno != ENOENT || attempt == 3 || step.tree == dir_tree_ || step.grant ||
          Covers(kStaging, step.path))
        return Fail(err, "mount", step.path, errno);
      if (!CloneReadOnly(step.path, step.device, &again, err)) return false;
      tree = again.get();
    }
  }

  const MountViewPlan& plan_;
  int dir_tree_ = -1;
  std::vector<ViewStep> steps_;
  std::map<std::string, size_t> recorded_;  // path -> its index in steps_
  std::vector<std::string> bound_dirs_;
  std::vector<UniqueFd> trees_;
};

}  // namespace

bool MountViewSupported(std::string* why_not) {
  if (geteuid() != 0) {
    *why_not = "not root (the account's own permissions apply)";
    return false;
  }
  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0 ||
      !(data[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective & CAP_TO_MASK(CAP_SYS_ADMIN))) {
    *why_not = "root without CAP_SYS_ADMIN";
    return false;
  }
  // An invalid descriptor: EBADF from a kernel that has the call, ENOSYS from one that lacks it.
  if (syscall(SYS_mount_setattr, -1, "", AT_EMPTY_PATH, nullptr, 0) != 0 && errno == ENOSYS) {
    *why_not = "the kernel lacks mount_setattr (Linux 5.12)";
    return false;
  }
  struct stat st;
  if (stat(kStaging, &st) != 0 || !S_ISDIR(st.st_mode)) {
    *why_not = std::string(kStaging) + " is not a directory to stage the view on";
    return false;
  }
  return true;
}

bool EnterMountView(const MountViewPlan& plan, int dir_fd, std::string* err) {
  ViewBuilder view(plan);
  // A wrapper's grants first, so that one holding DIR lies beneath DIR's bind. Cloned here, as
  // DIR is, from the host's namespace.
  for (const std::string& path : plan.read_grants)
    if (!view.AddGrant(path, false, err)) return false;
  for (const std::string& path : plan.write_grants)
    if (!view.AddGrant(path, true, err)) return false;
  // DIR is cloned from its descriptor before the new mount namespace exists: open_tree clones
  // only mounts of the caller's namespace, and the descriptor's mount is the host's.
  if (!view.AddDir(dir_fd, err)) return false;
  if (unshare(CLONE_NEWNS | CLONE_NEWIPC) != 0)
    return Fail(err, "enter new mount and IPC namespaces at", "/", errno);
  // Nothing done in this namespace may propagate to the host, and nothing from the host (a
  // mount made while rsync runs) into the view.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return Fail(err, "make private", "/", errno);
  // Directories first, so that files and names inside them need nothing more.
  for (const std::string& dir : plan.dirs)
    if (!view.AddRuntime(dir, ViewStep::kBindDir, err)) return false;
  for (const std::string& file : plan.files)
    if (!view.AddRuntime(file, ViewStep::kBindFile, err)) return false;
  for (const std::string& name : plan.links)
    if (!view.AddRuntime(name, ViewStep::kSymlink, err)) return false;
  return view.Build(err);
}

bool MountSnapshotOverlay(int lower, int upper, int work, UniqueFd* mount, std::string* err) {
  UniqueFd fs(static_cast<int>(syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC)));
  if (!fs.valid()) return Fail(err, "open the overlay filesystem for", "DIR", errno);
  // The layers by descriptor: /proc/self/fd/N names exactly the directories opened, whatever
  // happens to their paths, and holds no comma or colon for the option parser.
  auto by_fd = [](int fd) { return "/proc/self/fd/" + std::to_string(fd); };
  const std::pair<const char*, std::string> options[] = {
      {"lowerdir", by_fd(lower)}, {"upperdir", by_fd(upper)}, {"workdir", by_fd(work)},
      {"redirect_dir", "off"},    {"metacopy", "off"},        {"index", "on"},
  };
  for (const auto& [key, value] : options) {
    if (syscall(SYS_fsconfig, fs.get(), FSCONFIG_SET_STRING, key, value.c_str(), 0) != 0)
      return Fail(err, std::string("set the overlay's ") + key + " for", "DIR", errno);
  }
  if (syscall(SYS_fsconfig, fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
    return Fail(err, "create the overlay for", "DIR", errno);
  mount->Reset(static_cast<int>(syscall(SYS_fsmount, fs.get(), FSMOUNT_CLOEXEC,
                                        MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)));
  if (!mount->valid()) return Fail(err, "mount the overlay for", "DIR", errno);
  return true;
}

std::string DescribeMountView(const MountViewPlan& plan) {
  return "mount,pid,ipc; view: " + plan.dir + (plan.dir_mount >= 0 ? " overlay" : "") +
         (plan.read_only ? " ro" : " rw") + " + " +
         std::to_string(plan.dirs.size() + plan.files.size()) + " runtime paths" +
         (plan.read_grants.empty() && plan.write_grants.empty()
              ? ""
              : " + wrapper grants " + std::to_string(plan.read_grants.size()) + " ro " +
                    std::to_string(plan.write_grants.size()) + " rw");
}

}  // namespace rrsync
