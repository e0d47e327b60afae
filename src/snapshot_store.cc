#include "snapshot_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <string_view>

#include "btrfs_subvolume.h"
#include "snapshot_names.h"

namespace rrsync {
namespace {

constexpr std::string_view kOverlayXattrPrefix = "trusted.overlay.";

bool Fail(std::string* err, const std::string& step, const std::string& path, int error) {
  *err = "Failed to " + step + " \"" + path + "\": " + std::strerror(error);
  return false;
}

std::string Join(const std::string& parent, const std::string& name) {
  return parent.empty() ? name : parent + "/" + name;
}

// The names in directory `dir_fd` (not "." and ".."), read through a duplicate so that the
// caller's descriptor keeps its offset and stays open.
bool ListNames(int dir_fd, const std::string& path, std::vector<std::string>* names,
               std::string* err) {
  names->clear();
  int dup_fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dup_fd < 0) return Fail(err, "open", path, errno);
  DIR* dir = fdopendir(dup_fd);
  if (dir == nullptr) {
    int error = errno;
    close(dup_fd);
    return Fail(err, "read", path, error);
  }
  errno = 0;
  while (struct dirent* entry = readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") names->emplace_back(name);
    errno = 0;
  }
  int error = errno;
  closedir(dir);
  if (error != 0) return Fail(err, "read", path, error);
  return true;
}

// The name through which a descriptor opened O_PATH | O_NOFOLLOW reaches its inode itself, a
// symlink included: the xattr calls have no AT_EMPTY_PATH form before Linux 6.13.
std::string ProcFdPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

// The names of the xattrs of the inode `fd` (O_PATH) holds.
bool ListXattrs(int fd, const std::string& path, std::vector<std::string>* names,
                std::string* err) {
  names->clear();
  const std::string proc = ProcFdPath(fd);
  std::vector<char> buf(1024);
  for (;;) {
    ssize_t n = listxattr(proc.c_str(), buf.data(), buf.size());
    if (n >= 0) {
      for (ssize_t at = 0; at < n;) {
        std::string name(buf.data() + at);
        at += static_cast<ssize_t>(name.size()) + 1;
        if (!name.empty()) names->push_back(std::move(name));
      }
      return true;
    }
    if (errno == ENOTSUP) return true;  // a filesystem without xattrs has none to copy
    if (errno != ERANGE || buf.size() >= 1 << 20)
      return Fail(err, "list the xattrs of", path, errno);
    buf.resize(buf.size() * 4);
  }
}

bool GetXattr(int fd, const std::string& name, const std::string& path, std::string* value,
              std::string* err) {
  const std::string proc = ProcFdPath(fd);
  std::vector<char> buf(256);
  for (;;) {
    ssize_t n = getxattr(proc.c_str(), name.c_str(), buf.data(), buf.size());
    if (n >= 0) {
      value->assign(buf.data(), static_cast<size_t>(n));
      return true;
    }
    if (errno != ERANGE || buf.size() >= 1 << 20)
      return Fail(err, "read the xattr " + name + " of", path, errno);
    buf.resize(buf.size() * 4);
  }
}

// Removes overlayfs's own xattrs from the inode `fd` holds and tells whether it was an opaque
// directory. The ones measured on Linux 5.15 to 6.18 with redirect_dir=off, metacopy=off,
// index=off are understood: origin (copied up), impure and uuid (bookkeeping), opaque ("y").
// Anything else (a redirect, a metacopy, an xwhiteout) means layers this code cannot merge
// faithfully: the snapshot fails rather than being made wrong. index=on adds nlink (the link
// count of an indexed hard link), bookkeeping too.
bool StripOverlayXattrs(int fd, const std::string& path, bool* opaque, std::string* err) {
  *opaque = false;
  std::vector<std::string> names;
  if (!ListXattrs(fd, path, &names, err)) return false;
  for (const std::string& name : names) {
    if (!name.starts_with(kOverlayXattrPrefix)) continue;
    const std::string_view what = std::string_view(name).substr(kOverlayXattrPrefix.size());
    if (what == "opaque") {
      std::string value;
      if (!GetXattr(fd, name, path, &value, err)) return false;
      if (value != "y") {
        *err = "Failed to merge \"" + path + "\": overlayfs marks it opaque=" + value +
               ", which rrsync does not understand";
        return false;
      }
      *opaque = true;
    } else if (what != "origin" && what != "impure" && what != "uuid" && what != "nlink") {
      *err = "Failed to merge \"" + path + "\": it carries " + name +
             ", which rrsync does not understand";
      return false;
    }
    if (removexattr(ProcFdPath(fd).c_str(), name.c_str()) != 0)
      return Fail(err, "remove " + name + " from", path, errno);
  }
  return true;
}

// Copies every xattr of directory `from` to directory `to` (both opened O_RDONLY), POSIX ACLs
// included (they are system.posix_acl_* xattrs), overlayfs's own excepted.
bool CopyXattrs(int from, int to, const std::string& path, std::string* err) {
  std::vector<char> list(4096);
  ssize_t n;
  while ((n = flistxattr(from, list.data(), list.size())) < 0) {
    if (errno == ENOTSUP) return true;
    if (errno != ERANGE || list.size() >= 1 << 20)
      return Fail(err, "list the xattrs of", path, errno);
    list.resize(list.size() * 4);
  }
  std::vector<char> value(4096);
  for (ssize_t at = 0; at < n;) {
    std::string name(list.data() + at);
    at += static_cast<ssize_t>(name.size()) + 1;
    if (name.empty() || name.starts_with(kOverlayXattrPrefix)) continue;
    ssize_t size;
    while ((size = fgetxattr(from, name.c_str(), value.data(), value.size())) < 0) {
      if (errno != ERANGE || value.size() >= 1 << 20)
        return Fail(err, "read the xattr " + name + " of", path, errno);
      value.resize(value.size() * 4);
    }
    if (fsetxattr(to, name.c_str(), value.data(), static_cast<size_t>(size), 0) != 0)
      return Fail(err, "set the xattr " + name + " on", path, errno);
  }
  return true;
}

int OpenDirAt(int dir_fd, const std::string& name) {
  return openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

bool SetTimes(int fd, const struct stat& st, const std::string& path, std::string* err) {
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (futimens(fd, times) != 0) return Fail(err, "set the times of", path, errno);
  return true;
}

// A deep tree holds one descriptor per level: let this process use what its hard limit allows.
void RaiseDescriptorLimit() {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

bool RemoveTreeBelow(int parent_fd, const std::string& name, const std::string& path, int depth,
                     std::string* err) {
  struct stat st;
  if (fstatat(parent_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return true;
    return Fail(err, "stat", path, errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (unlinkat(parent_fd, name.c_str(), 0) != 0 && errno != ENOENT)
      return Fail(err, "remove", path, errno);
    return true;
  }
  if (depth > 4096) return Fail(err, "remove", path, ELOOP);
  UniqueFd dir(OpenDirAt(parent_fd, name));
  if (dir.valid() && IsSubvolumeRoot(dir.get())) {
    // A subvolume goes whole, its read-only flag cleared; one the kernel will not destroy (a
    // nested subvolume: ENOTEMPTY) is emptied below and removed by rmdir(2), which btrfs
    // turns into a destroy for root.
    dir.Reset();
    std::string destroy_err;
    if (DestroySubvolumeAt(parent_fd, name, path, &destroy_err)) return true;
    dir.Reset(OpenDirAt(parent_fd, name));
    if (!dir.valid()) return Fail(err, "open", path, errno);
  }
  if (!dir.valid()) {
    // A directory without search permission for an ordinary account: its own, so it may open it.
    if (errno != EACCES || st.st_uid != geteuid() ||
        fchmodat(parent_fd, name.c_str(), 0700, 0) != 0)
      return Fail(err, "open", path, errno);
    dir.Reset(OpenDirAt(parent_fd, name));
    if (!dir.valid()) return Fail(err, "open", path, errno);
  }
  // rsync may have left a directory read-only; removing its entries needs write permission.
  if (st.st_uid == geteuid() && (st.st_mode & 0700) != 0700) fchmod(dir.get(), 0700);
  std::vector<std::string> names;
  if (!ListNames(dir.get(), path, &names, err)) return false;
  for (const std::string& entry : names)
    if (!RemoveTreeBelow(dir.get(), entry, Join(path, entry), depth + 1, err)) return false;
  if (unlinkat(parent_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    return Fail(err, "remove", path, errno);
  return true;
}

// overlayfs's index (index=on): for each lower hard link one of whose names was copied up, the
// upper inode, linked in work/index under the hex of the lower inode's file handle (struct
// ovl_fb: version, 0xfb, length, flags, handle type, 16 bytes of uuid, the handle's bytes).
// The merge links the names the push left alone to that inode, as rsync saw them in its view.
class OverlayIndex {
 public:
  // Reads work/index; an absent one is an empty index.
  bool Load(int work, const std::string& path, std::string* err) {
    index_.Reset(OpenDirAt(work, "index"));
    if (!index_.valid()) return errno == ENOENT ? true : Fail(err, "open", path + "/index", errno);
    std::vector<std::string> names;
    if (!ListNames(index_.get(), path + "/index", &names, err)) return false;
    for (const std::string& name : names) {
      std::string bytes;
      if (!Unhex(name, &bytes) || bytes.size() < 21 || static_cast<uint8_t>(bytes[1]) != 0xfb ||
          static_cast<uint8_t>(bytes[2]) != bytes.size())
        continue;  // not a file handle overlayfs wrote: never matches a lower inode
      struct stat st;
      // A whiteout (every name removed) or a directory index: no inode to link.
      if (fstatat(index_.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
          S_ISDIR(st.st_mode) || (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)))
        continue;
      by_handle_[bytes.substr(4, 1) + bytes.substr(21)] = name;
    }
    return true;
  }
  bool empty() const { return by_handle_.empty(); }
  int fd() const { return index_.get(); }
  // The index entry of lower entry `name` in `lower`, or nullptr.
  const std::string* Find(int lower, const std::string& name) const {
    alignas(struct file_handle) unsigned char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ];
    auto* handle = reinterpret_cast<struct file_handle*>(buf);
    handle->handle_bytes = MAX_HANDLE_SZ;
    int mount_id;
    if (name_to_handle_at(lower, name.c_str(), handle, &mount_id, 0) != 0) return nullptr;
    std::string key(1, static_cast<char>(handle->handle_type));
    key.append(reinterpret_cast<const char*>(handle->f_handle), handle->handle_bytes);
    auto it = by_handle_.find(key);
    return it == by_handle_.end() ? nullptr : &it->second;
  }

 private:
  static bool Unhex(const std::string& text, std::string* out) {
    if (text.size() % 2 != 0) return false;
    out->clear();
    for (size_t i = 0; i < text.size(); i += 2) {
      int value = 0;
      for (char c : {text[i], text[i + 1]}) {
        value <<= 4;
        if (c >= '0' && c <= '9')
          value |= c - '0';
        else if (c >= 'a' && c <= 'f')
          value |= c - 'a' + 10;
        else
          return false;
      }
      out->push_back(static_cast<char>(value));
    }
    return true;
  }
  UniqueFd index_;
  std::map<std::string, std::string> by_handle_;  // handle type + bytes -> index entry
};

// Merges lower directory `lower` (-1: none) into upper directory `upper`, which becomes the
// plain directory (see MergeOverlayLayers). `path` names `upper` relative to the snapshot.
bool Merge(int lower, int upper, const std::string& path, int depth, int max_depth,
           const OverlayIndex& index, std::string* err) {
  if (depth > max_depth) {
    *err = "Failed to merge \"" + path + "\": deeper than " + std::to_string(max_depth) +
           " directories";
    return false;
  }
  std::vector<std::string> upper_names;
  if (!ListNames(upper, path.empty() ? "." : path, &upper_names, err)) return false;
  std::set<std::string> seen;
  for (const std::string& name : upper_names) {
    const std::string child = Join(path, name);
    seen.insert(name);
    struct stat st;
    if (fstatat(upper, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return Fail(err, "stat", child, errno);
    if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
      // A whiteout: the name was removed in this push; the lower entry stays hidden.
      if (unlinkat(upper, name.c_str(), 0) != 0)
        return Fail(err, "remove the whiteout", child, errno);
      continue;
    }
    UniqueFd entry(openat(upper, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!entry.valid()) return Fail(err, "open", child, errno);
    bool opaque = false;
    if (!StripOverlayXattrs(entry.get(), child, &opaque, err)) return false;
    if (!S_ISDIR(st.st_mode)) continue;  // a file written or copied up in this push: kept
    UniqueFd sub_upper(OpenDirAt(upper, name));
    if (!sub_upper.valid()) return Fail(err, "open", child, errno);
    struct stat before;
    if (fstat(sub_upper.get(), &before) != 0) return Fail(err, "stat", child, errno);
    UniqueFd sub_lower;
    if (lower >= 0 && !opaque) {
      sub_lower.Reset(OpenDirAt(lower, name));
      if (!sub_lower.valid() && errno != ENOENT && errno != ENOTDIR)
        return Fail(err, "open the earlier", child, errno);
    }
    if (!Merge(sub_lower.get(), sub_upper.get(), child, depth + 1, max_depth, index, err))
      return false;
    // The entries linked in changed its times: they are the ones rsync left.
    if (!SetTimes(sub_upper.get(), before, child, err)) return false;
  }
  if (lower < 0) return true;
  std::vector<std::string> lower_names;
  if (!ListNames(lower, path.empty() ? "." : path, &lower_names, err)) return false;
  for (const std::string& name : lower_names) {
    if (seen.count(name)) continue;
    const std::string child = Join(path, name);
    struct stat st;
    if (fstatat(lower, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return Fail(err, "stat the earlier", child, errno);
    if (!S_ISDIR(st.st_mode)) {
      // A name of a lower hard link another name of which was copied up: in rsync's view it was
      // that upper inode (a link -H added to the group), so it stays one with it.
      const std::string* indexed =
          st.st_nlink > 1 && !index.empty() ? index.Find(lower, name) : nullptr;
      if (indexed != nullptr) {
        if (linkat(index.fd(), indexed->c_str(), upper, name.c_str(), 0) != 0)
          return Fail(err, "link the hard-linked", child, errno);
        continue;
      }
      // Unchanged: the same inode as in the earlier snapshot (a symlink itself, not its target).
      if (linkat(lower, name.c_str(), upper, name.c_str(), 0) != 0)
        return Fail(err, "link the unchanged", child, errno);
      continue;
    }
    if (mkdirat(upper, name.c_str(), 0700) != 0) return Fail(err, "create", child, errno);
    UniqueFd sub_upper(OpenDirAt(upper, name));
    UniqueFd sub_lower(OpenDirAt(lower, name));
    if (!sub_upper.valid()) return Fail(err, "open", child, errno);
    if (!sub_lower.valid()) return Fail(err, "open the earlier", child, errno);
    if (!Merge(sub_lower.get(), sub_upper.get(), child, depth + 1, max_depth, index, err))
      return false;
    // Owner before mode (chown clears set-id bits), xattrs (ACLs) after the mode, times last.
    if (fchown(sub_upper.get(), st.st_uid, st.st_gid) != 0)
      return Fail(err, "set the owner of", child, errno);
    if (fchmod(sub_upper.get(), st.st_mode & 07777) != 0)
      return Fail(err, "set the mode of", child, errno);
    if (!CopyXattrs(sub_lower.get(), sub_upper.get(), child, err)) return false;
    if (!SetTimes(sub_upper.get(), st, child, err)) return false;
  }
  return true;
}

}  // namespace

const char* SnapshotLevelName(SnapshotLevel level) {
  switch (level) {
    case SnapshotLevel::kBtrfs:
      return "btrfs-subvolume";
    case SnapshotLevel::kOverlay:
      return "overlay";
    case SnapshotLevel::kLinkDest:
      break;
  }
  return "link-dest";
}

SnapshotLevel ChooseSnapshotLevel(int dir_fd, const std::optional<std::string>& latest,
                                  bool mount_view, const std::string& no_view, std::string* why) {
  why->clear();
  // Both kernel-held levels put rsync in a view where only the new snapshot is.
  if (!mount_view) {
    *why = no_view;
    return SnapshotLevel::kLinkDest;
  }
  if (!OnBtrfs(dir_fd)) {
    *why = "DIR is not on btrfs";
    return SnapshotLevel::kOverlay;
  }
  if (!latest) return SnapshotLevel::kBtrfs;
  // latest made at the overlay level is a plain directory of hard links: a btrfs snapshot
  // needs a subvolume to start from, so the chain stays at the overlay level (and says so)
  // until the admin converts latest (README, "Snapshot backups").
  UniqueFd basis(OpenDirAt(dir_fd, *latest));
  bool read_only = false;
  std::string ignored;
  if (!basis.valid() || !IsSubvolumeRoot(basis.get())) {
    *why = "latest is a plain directory, not a btrfs subvolume";
    return SnapshotLevel::kOverlay;
  }
  if (!SubvolumeIsReadOnly(basis.get(), &read_only, *latest, &ignored) || !read_only) {
    // A writable latest is not one rrsync sealed: someone else may be writing it.
    *why = "latest is a writable btrfs subvolume";
    return SnapshotLevel::kOverlay;
  }
  return SnapshotLevel::kBtrfs;
}

bool ReadLatestSnapshot(int dir_fd, std::optional<std::string>* latest, std::string* err) {
  latest->reset();
  const std::string link(kLatestSnapshotLink);
  char text[PATH_MAX];
  ssize_t n = readlinkat(dir_fd, link.c_str(), text, sizeof(text) - 1);
  if (n < 0) {
    if (errno == ENOENT) return true;
    if (errno == EINVAL) {
      *err = "snapshot mode: " + link + " in the restricted dir is not a symlink";
      return false;
    }
    return Fail(err, "read", link, errno);
  }
  std::string target(text, static_cast<size_t>(n));
  struct stat st;
  if (!ParseSnapshotName(target) ||
      fstatat(dir_fd, target.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) {
    *err =
        "snapshot mode: " + link + " does not point to a snapshot directory of the restricted dir";
    return false;
  }
  *latest = std::move(target);
  return true;
}

bool RemoveTreeAt(int dir_fd, const std::string& name, std::string* err) {
  RaiseDescriptorLimit();
  return RemoveTreeBelow(dir_fd, name, name, 0, err);
}

bool RemoveIncomingLeftovers(int dir_fd, std::vector<std::string>* removed, std::string* err) {
  removed->clear();
  std::vector<std::string> names;
  if (!ListNames(dir_fd, ".", &names, err)) return false;
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    if (!name.starts_with(kIncomingSnapshotPrefix)) continue;
    if (!RemoveTreeAt(dir_fd, name, err)) return false;
    removed->push_back(name);
  }
  return true;
}

std::string ChooseSnapshotName(int dir_fd, std::time_t start) {
  std::vector<std::string> names;
  std::string ignored;
  ListNames(dir_fd, ".", &names, &ignored);
  std::vector<std::string> snapshots = SortedSnapshotNames(names);
  std::time_t when = start;
  if (!snapshots.empty()) {
    std::optional<std::time_t> newest = ParseSnapshotName(snapshots.back());
    if (newest && *newest >= when) when = *newest + 1;
  }
  return FormatSnapshotName(when);
}

bool CreateIncoming(int dir_fd, const std::string& snapshot_name,
                    const std::optional<std::string>& latest, SnapshotLevel level,
                    IncomingSnapshot* incoming, std::string* err) {
  const bool overlay = level == SnapshotLevel::kOverlay;
  incoming->name = std::string(kIncomingSnapshotPrefix) + snapshot_name;
  const std::string& name = incoming->name;
  // Private: nobody but this account looks into a push in progress.
  if (mkdirat(dir_fd, name.c_str(), 0700) != 0) return Fail(err, "create", name, errno);
  incoming->fd.Reset(OpenDirAt(dir_fd, name));
  if (!incoming->fd.valid()) return Fail(err, "open", name, errno);
  const int in = incoming->fd.get();
  if (level == SnapshotLevel::kBtrfs) {
    // The snapshot carries latest's root (mode, owner, times, xattrs) and every extent, shared
    // until rsync writes: nothing to copy, and latest itself stays read-only throughout.
    if (latest) {
      incoming->lower.Reset(OpenDirAt(dir_fd, *latest));
      if (!incoming->lower.valid()) return Fail(err, "open", *latest, errno);
      if (!SnapshotSubvolume(incoming->lower.get(), in, "tree", err)) return false;
    } else if (!CreateSubvolume(in, "tree", err)) {
      return false;
    }
    incoming->tree.Reset(OpenDirAt(in, "tree"));
    if (!incoming->tree.valid()) return Fail(err, "open", name + "/tree", errno);
    return true;
  }
  if (mkdirat(in, "tree", 0755) != 0) return Fail(err, "create", name + "/tree", errno);
  incoming->tree.Reset(OpenDirAt(in, "tree"));
  if (!incoming->tree.valid()) return Fail(err, "open", name + "/tree", errno);
  if (latest) {
    incoming->lower.Reset(OpenDirAt(dir_fd, *latest));
    if (!incoming->lower.valid()) return Fail(err, "open", *latest, errno);
    struct stat st;
    if (fstat(incoming->lower.get(), &st) != 0) return Fail(err, "stat", *latest, errno);
    // The new snapshot's root starts as latest's: what rsync leaves alone stays as it was.
    // An account that is not root may not give the root away: there the owner stays its own.
    if ((st.st_uid != geteuid() || st.st_gid != getegid()) &&
        fchown(incoming->tree.get(), st.st_uid, st.st_gid) != 0 && geteuid() == 0)
      return Fail(err, "set the owner of", name + "/tree", errno);
    if (fchmod(incoming->tree.get(), st.st_mode & 07777) != 0)
      return Fail(err, "set the mode of", name + "/tree", errno);
    if (!SetTimes(incoming->tree.get(), st, name + "/tree", err)) return false;
  } else if (overlay) {
    if (mkdirat(in, "empty", 0755) != 0) return Fail(err, "create", name + "/empty", errno);
    incoming->lower.Reset(OpenDirAt(in, "empty"));
    if (!incoming->lower.valid()) return Fail(err, "open", name + "/empty", errno);
  }
  if (overlay) {
    if (mkdirat(in, "work", 0700) != 0) return Fail(err, "create", name + "/work", errno);
    incoming->work.Reset(OpenDirAt(in, "work"));
    if (!incoming->work.valid()) return Fail(err, "open", name + "/work", errno);
  }
  return true;
}

bool MergeOverlayLayers(const IncomingSnapshot& incoming, int max_depth, std::string* err) {
  RaiseDescriptorLimit();
  const int upper = incoming.tree.get();
  struct stat before;
  if (fstat(upper, &before) != 0) return Fail(err, "stat", incoming.name + "/tree", errno);
  UniqueFd root(openat(upper, ".", O_PATH | O_CLOEXEC));
  bool opaque = false;
  if (!root.valid() || !StripOverlayXattrs(root.get(), ".", &opaque, err)) {
    if (err->empty()) return Fail(err, "open", incoming.name + "/tree", errno);
    return false;
  }
  OverlayIndex index;
  if (incoming.work.valid() && !index.Load(incoming.work.get(), incoming.name + "/work", err))
    return false;
  if (!Merge(opaque ? -1 : incoming.lower.get(), upper, "", 0, max_depth, index, err)) return false;
  return SetTimes(upper, before, ".", err);
}

bool CheckBtrfsSnapshot(const IncomingSnapshot& incoming, std::string* err) {
  const std::string tree = incoming.name + "/tree";
  // rsync's view held the tree's root only; a subvolume made inside it (the system-call filter
  // refuses btrfs's ioctls, so only a weaker filter would let one through) would stay writable
  // under the read-only flag: that push makes no snapshot.
  bool nested = false;
  if (!HasNestedSubvolume(incoming.tree.get(), &nested, tree, err)) return false;
  if (nested) {
    *err = "Failed to seal \"" + tree + "\": it holds a subvolume of its own";
    return false;
  }
  return true;
}

bool SealSnapshotSubvolume(int dir_fd, const std::string& name, std::string* err) {
  UniqueFd snapshot(OpenDirAt(dir_fd, name));
  if (!snapshot.valid()) return Fail(err, "open", name, errno);
  if (!SetSubvolumeReadOnly(snapshot.get(), true, name, err)) return false;
  // The flag lives in the subvolume's root item: synced before latest names the snapshot, so
  // that a crash cannot leave latest on one that comes back writable.
  if (syncfs(snapshot.get()) != 0) return Fail(err, "sync", name, errno);
  return true;
}

bool SealLeftoverSnapshots(int dir_fd, std::vector<std::string>* sealed, std::string* err) {
  sealed->clear();
  if (!OnBtrfs(dir_fd)) return true;
  std::vector<std::string> names;
  if (!ListNames(dir_fd, ".", &names, err)) return false;
  for (const std::string& name : SortedSnapshotNames(names)) {
    UniqueFd snapshot(OpenDirAt(dir_fd, name));
    bool read_only = true;
    if (!snapshot.valid() || !IsSubvolumeRoot(snapshot.get()) ||
        !SubvolumeIsReadOnly(snapshot.get(), &read_only, name, err) || read_only)
      continue;
    if (!SealSnapshotSubvolume(dir_fd, name, err)) return false;
    sealed->push_back(name);
  }
  err->clear();
  return true;
}

bool PublishSnapshot(int dir_fd, IncomingSnapshot* incoming, const std::string& snapshot_name,
                     SnapshotLevel level, std::string* err) {
  const int in = incoming->fd.get();
  // Never over an existing name: a snapshot, once made, is not replaced.
  if (renameat2(in, "tree", dir_fd, snapshot_name.c_str(), RENAME_NOREPLACE) != 0)
    return Fail(err, "rename the new snapshot to", snapshot_name, errno);
  // btrfs refuses to rename a read-only subvolume (EROFS: its ".." changes), so the flag is
  // set once the snapshot has its name and before latest names it; a snapshot it cannot seal
  // is destroyed, never published writable.
  if (level == SnapshotLevel::kBtrfs && !SealSnapshotSubvolume(dir_fd, snapshot_name, err)) {
    std::string ignored;
    incoming->tree.Reset();
    DestroySubvolumeAt(dir_fd, snapshot_name, snapshot_name, &ignored);
    return false;
  }
  const std::string link(kLatestSnapshotLink);
  if (symlinkat(snapshot_name.c_str(), in, link.c_str()) != 0)
    return Fail(err, "create the link", incoming->name + "/" + link, errno);
  // rename(2) replaces `latest` atomically: a reader sees the old snapshot or the new one.
  if (renameat(in, link.c_str(), dir_fd, link.c_str()) != 0)
    return Fail(err, "replace", link, errno);
  if (fsync(dir_fd) != 0) return Fail(err, "sync", ".", errno);
  incoming->tree.Reset();
  incoming->work.Reset();
  incoming->lower.Reset();
  incoming->fd.Reset();
  return RemoveTreeAt(dir_fd, incoming->name, err);
}

}  // namespace rrsync
