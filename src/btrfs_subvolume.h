// Snapshot mode's btrfs level: the subvolume calls rrsync makes on DIR (libc and the kernel's
// ioctls only, no btrfs-progs). Each works relative to a directory descriptor and a name in it,
// never a path string; each returns false with *err set ("Failed to <verb> "<name>": <reason>").
#ifndef RRSYNC_BTRFS_SUBVOLUME_H_
#define RRSYNC_BTRFS_SUBVOLUME_H_

#include <string>

namespace rrsync {

// Whether the directory `fd` holds is on btrfs (statfs's f_type).
bool OnBtrfs(int fd);

// Whether `fd` is the root of a btrfs subvolume (btrfs, and inode 256, the first free object
// id, which every subvolume's root directory has and no other directory does).
bool IsSubvolumeRoot(int fd);

// Whether subvolume `fd` is read-only (BTRFS_IOC_SUBVOL_GETFLAGS).
bool SubvolumeIsReadOnly(int fd, bool* read_only, const std::string& name, std::string* err);

// Sets or clears subvolume `fd`'s read-only flag (BTRFS_IOC_SUBVOL_SETFLAGS; root's, for a
// subvolume of another owner).
bool SetSubvolumeReadOnly(int fd, bool read_only, const std::string& name, std::string* err);

// Makes `name` in `dir_fd` a writable snapshot of subvolume `source_fd`
// (BTRFS_IOC_SNAP_CREATE_V2): the same extents, shared until one side writes.
bool SnapshotSubvolume(int source_fd, int dir_fd, const std::string& name, std::string* err);

// Makes `name` in `dir_fd` a new, empty subvolume (BTRFS_IOC_SUBVOL_CREATE).
bool CreateSubvolume(int dir_fd, const std::string& name, std::string* err);

// Whether subvolume `fd` has a subvolume beneath it (BTRFS_IOC_GET_SUBVOL_ROOTREF, Linux 4.18):
// its read-only flag would not cover that one, so a snapshot holding one is not made.
bool HasNestedSubvolume(int fd, bool* nested, const std::string& name, std::string* err);

// Destroys subvolume `name` in `dir_fd` and everything in it, read-only or not
// (BTRFS_IOC_SNAP_DESTROY; CAP_SYS_ADMIN). `shown` names it in messages.
bool DestroySubvolumeAt(int dir_fd, const std::string& name, const std::string& shown,
                        std::string* err);

}  // namespace rrsync

#endif  // RRSYNC_BTRFS_SUBVOLUME_H_
