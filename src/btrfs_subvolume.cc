#include "btrfs_subvolume.h"

#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "unique_fd.h"

namespace rrsync {
namespace {

constexpr ino_t kSubvolumeRootInode = 256;  // BTRFS_FIRST_FREE_OBJECTID

bool Fail(std::string* err, const std::string& step, const std::string& name, int error) {
  *err = "Failed to " + step + " \"" + name + "\": " + std::strerror(error);
  return false;
}

// The kernel's fixed-size name field: a longer name would be cut, so it is refused.
bool CopyName(const std::string& name, char* field, size_t size, std::string* err) {
  if (name.empty() || name.size() >= size || name.find('/') != std::string::npos)
    return Fail(err, "use the name", name, ENAMETOOLONG);
  std::memcpy(field, name.c_str(), name.size() + 1);
  return true;
}

}  // namespace

bool OnBtrfs(int fd) {
  struct statfs sfs;
  return fstatfs(fd, &sfs) == 0 && static_cast<uint32_t>(sfs.f_type) == BTRFS_SUPER_MAGIC;
}

bool IsSubvolumeRoot(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && st.st_ino == kSubvolumeRootInode &&
         OnBtrfs(fd);
}

bool SubvolumeIsReadOnly(int fd, bool* read_only, const std::string& name, std::string* err) {
  uint64_t flags = 0;
  if (ioctl(fd, BTRFS_IOC_SUBVOL_GETFLAGS, &flags) != 0)
    return Fail(err, "read the subvolume flags of", name, errno);
  *read_only = (flags & BTRFS_SUBVOL_RDONLY) != 0;
  return true;
}

bool SetSubvolumeReadOnly(int fd, bool read_only, const std::string& name, std::string* err) {
  uint64_t flags = 0;
  if (ioctl(fd, BTRFS_IOC_SUBVOL_GETFLAGS, &flags) != 0)
    return Fail(err, "read the subvolume flags of", name, errno);
  flags = read_only ? flags | BTRFS_SUBVOL_RDONLY : flags & ~uint64_t{BTRFS_SUBVOL_RDONLY};
  if (ioctl(fd, BTRFS_IOC_SUBVOL_SETFLAGS, &flags) != 0)
    return Fail(err, read_only ? "make read-only the subvolume" : "make writable the subvolume",
                name, errno);
  return true;
}

bool SnapshotSubvolume(int source_fd, int dir_fd, const std::string& name, std::string* err) {
  struct btrfs_ioctl_vol_args_v2 args;
  std::memset(&args, 0, sizeof args);
  args.fd = source_fd;
  if (!CopyName(name, args.name, sizeof args.name, err)) return false;
  if (ioctl(dir_fd, BTRFS_IOC_SNAP_CREATE_V2, &args) != 0)
    return Fail(err, "snapshot the subvolume into", name, errno);
  return true;
}

bool CreateSubvolume(int dir_fd, const std::string& name, std::string* err) {
  struct btrfs_ioctl_vol_args args;
  std::memset(&args, 0, sizeof args);
  if (!CopyName(name, args.name, sizeof args.name, err)) return false;
  if (ioctl(dir_fd, BTRFS_IOC_SUBVOL_CREATE, &args) != 0)
    return Fail(err, "create the subvolume", name, errno);
  return true;
}

bool HasNestedSubvolume(int fd, bool* nested, const std::string& name, std::string* err) {
  struct btrfs_ioctl_get_subvol_rootref_args args;
  std::memset(&args, 0, sizeof args);
  // EOVERFLOW: more references than one call returns, so there is at least one.
  if (ioctl(fd, BTRFS_IOC_GET_SUBVOL_ROOTREF, &args) != 0 && errno != EOVERFLOW)
    return Fail(err, "list the subvolumes beneath", name, errno);
  *nested = args.num_items > 0;
  return true;
}

bool DestroySubvolumeAt(int dir_fd, const std::string& name, const std::string& shown,
                        std::string* err) {
  UniqueFd subvolume(openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!subvolume.valid()) return Fail(err, "open", shown, errno);
  if (!IsSubvolumeRoot(subvolume.get())) return Fail(err, "destroy the subvolume", shown, ENOTDIR);
  // Cleared first (as prune is asked to): only a subvolume already chosen for removal gets
  // here (an incoming tree, a parked prune), and a destroy refused halfway (a nested subvolume:
  // ENOTEMPTY) then leaves a tree the ordinary removal can finish.
  bool read_only = false;
  if (!SubvolumeIsReadOnly(subvolume.get(), &read_only, shown, err)) return false;
  if (read_only && !SetSubvolumeReadOnly(subvolume.get(), false, shown, err)) return false;
  subvolume.Reset();
  struct btrfs_ioctl_vol_args args;
  std::memset(&args, 0, sizeof args);
  if (!CopyName(name, args.name, sizeof args.name, err)) return false;
  if (ioctl(dir_fd, BTRFS_IOC_SNAP_DESTROY, &args) != 0)
    return Fail(err, "destroy the subvolume", shown, errno);
  return true;
}

}  // namespace rrsync
