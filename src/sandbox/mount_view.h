// The mount-view layer: rsync runs in private mount, PID and IPC namespaces whose root holds DIR
// and the files rsync itself needs, and nothing else, so that no name outside DIR exists for it.
#ifndef RRSYNC_SANDBOX_MOUNT_VIEW_H_
#define RRSYNC_SANDBOX_MOUNT_VIEW_H_

#include <string>
#include <vector>

#include "unique_fd.h"

namespace rrsync {

// What the view holds. Every path is absolute and appears at the same path in the view, so the
// paths rrsync checked, pinned and logged keep meaning the same files.
struct MountViewPlan {
  std::string dir;                 // DIR's real path: bound with what beneath it, nosuid, nodev
  bool read_only = true;           // a pull: DIR is bound read-only
  std::vector<std::string> dirs;   // runtime directories bound whole, read-only (library dirs)
  std::vector<std::string> files;  // runtime files bound read-only; symlinks on the way replicated
  std::vector<std::string> links;  // names whose symlink chains are replicated (what the loader
                                   // opens inside `dirs`)
  int dir_mount = -1;              // snapshot mode's overlay (MountSnapshotOverlay), in DIR's place
  // A wrapper's grants (-wrapper-read, -wrapper-write): real paths outside DIR, bound
  // nosuid, nodev, noexec, read-only or read-write, beneath the runtime files. One that holds
  // DIR is bound first, DIR on top of it.
  std::vector<std::string> read_grants;
  std::vector<std::string> write_grants;
};

// Whether this process can build a view: it runs as root with CAP_SYS_ADMIN, and the kernel has
// the mount API the view uses (open_tree, move_mount, mount_setattr: Linux 5.12). Fills *why_not.
bool MountViewSupported(std::string* why_not);

// In the process that becomes rsync, before it gives up CAP_SYS_ADMIN: enters new mount and IPC
// namespaces, builds the view on a fresh tmpfs (read-only once built), with a fresh /proc (pids
// only, read-only), then pivots into it and detaches the old root. The process must be the
// first of a new PID namespace (unshare(CLONE_NEWPID) in its parent before the fork), so that
// /proc shows only rsync's own processes and no other process can be signalled. `dir_fd` is DIR,
// opened before: the bind is made from it, never from a path a client could have swapped. On
// success the working directory is DIR in the view.
bool EnterMountView(const MountViewPlan& plan, int dir_fd, std::string* err);

// Makes snapshot mode's overlay, detached (fsmount), for the view to mount in DIR's place: lower
// layer `lower` (read-only to the overlay: the kernel never writes it), upper layer `upper` and
// work directory `work`, all directories of one filesystem opened by the caller. With
// redirect_dir=off and metacopy=off every change is a plain file, directory or whiteout in
// `upper` (renaming a lower directory fails with EXDEV, which rsync never needs); index=on keeps
// a lower hard link's names one inode when one of them is copied up (a link rsync -H adds to a
// group), recorded in work/index for the merge.
// nosuid, nodev, noexec. Fills *mount with the detached mount's descriptor.
bool MountSnapshotOverlay(int lower, int upper, int work, UniqueFd* mount, std::string* err);

// Short text for the session log: "mount,pid,ipc; view: DIR rw + 12 runtime paths".
std::string DescribeMountView(const MountViewPlan& plan);

}  // namespace rrsync

#endif  // RRSYNC_SANDBOX_MOUNT_VIEW_H_
