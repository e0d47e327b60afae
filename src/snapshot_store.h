// Snapshot mode's effects on DIR (-snapshots): removing what a killed push left, preparing the
// incoming tree, turning an overlay's layers into a plain directory, and publishing a snapshot.
// Everything here works relative to directory descriptors, never follows a symlink and never
// re-resolves a path string: the incoming tree was written by an rsync that may have been
// hijacked. Called by the rrsync process, outside rsync's view, under DIR's lock.
#ifndef RRSYNC_SNAPSHOT_STORE_H_
#define RRSYNC_SNAPSHOT_STORE_H_

#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "unique_fd.h"

namespace rrsync {

// How a snapshot push is protected (the session log's snapshots=LEVEL), strongest first.
enum class SnapshotLevel {
  kBtrfs,     // rsync writes a btrfs snapshot of latest in its mount view, made read-only after
  kOverlay,   // rsync writes an overlay's upper layer in its mount view; earlier snapshots absent
  kLinkDest,  // rsync writes the incoming tree with --link-dest=latest; no kernel barrier
};

// "btrfs-subvolume", "overlay" or "link-dest".
const char* SnapshotLevelName(SnapshotLevel level);

// The strongest level a push to DIR (`dir_fd`, whose `latest` is `latest`) can have. Without
// `mount_view` (not root, -sandbox=off, a kernel without the mount API) only link-dest; with
// it, btrfs-subvolume where DIR is on btrfs and latest is a read-only subvolume or there is no
// latest yet, else overlay. *why says why a stronger level is not in force ("" at the
// strongest); `no_view` is why there is no mount view, taken as the why when so.
SnapshotLevel ChooseSnapshotLevel(int dir_fd, const std::optional<std::string>& latest,
                                  bool mount_view, const std::string& no_view, std::string* why);

// The name `latest` points to, when it is a symlink to a snapshot name that is a directory of
// DIR; nothing when there is no `latest` yet. False with *err set for anything else (a latest
// that is not such a link): the push is refused rather than started from an unknown basis.
bool ReadLatestSnapshot(int dir_fd, std::optional<std::string>* latest, std::string* err);

// Removes every DIR/.rrsync-incoming-* entry (what a killed or failed push left), without
// following symlinks; fills *removed with their names. False with *err set when one cannot be
// removed.
bool RemoveIncomingLeftovers(int dir_fd, std::vector<std::string>* removed, std::string* err);

// Removes `name` in `dir_fd` and everything beneath it, without following symlinks; a btrfs
// subvolume on the way (an incoming tree at the btrfs level) is destroyed, read-only or not.
bool RemoveTreeAt(int dir_fd, const std::string& name, std::string* err);

// The name of the snapshot a push started at `start` becomes: its UTC time, or one second after
// the newest existing snapshot when the clock says otherwise (a snapshot in the same second, a
// clock set back), so that `latest` is always the newest name.
std::string ChooseSnapshotName(int dir_fd, std::time_t start);

// DIR/.rrsync-incoming-<name> for a push, made empty and private (0700) to hold `tree` (the
// snapshot being written: at the btrfs level a writable subvolume) and, at the overlay level,
// `work` (overlayfs's work directory) and `empty` (the lower layer when there is no snapshot
// yet).
struct IncomingSnapshot {
  std::string name;  // ".rrsync-incoming-<snapshot name>"
  UniqueFd fd;       // the incoming directory
  UniqueFd tree;     // incoming/tree: the upper layer, then the snapshot
  UniqueFd work;     // incoming/work (overlay level only)
  UniqueFd lower;    // the lower layer: DIR/<latest>, or incoming/empty
};

// Creates the incoming directory for snapshot `snapshot_name`. At the btrfs level the tree is a
// writable snapshot of latest (or a new subvolume without one); at the overlay level the
// incoming directory also holds the work directory and (without a latest) an empty lower layer.
// Elsewhere the tree's root takes the mode, owner and times of latest's root, so that an
// untouched root stays as it was.
bool CreateIncoming(int dir_fd, const std::string& snapshot_name,
                    const std::optional<std::string>& latest, SnapshotLevel level,
                    IncomingSnapshot* incoming, std::string* err);

// The btrfs level, after rsync exited 0: refuses a tree holding a subvolume of its own (the
// read-only flag would not cover it).
bool CheckBtrfsSnapshot(const IncomingSnapshot& incoming, std::string* err);

// Makes snapshot `name` in `dir_fd` (a btrfs subvolume) read-only and syncs the flag.
bool SealSnapshotSubvolume(int dir_fd, const std::string& name, std::string* err);

// On btrfs: seals every snapshot-named writable subvolume in DIR (what a push killed between
// naming its snapshot and sealing it left: rsync had exited 0, so it is complete), filling
// *sealed with their names. Nothing elsewhere.
bool SealLeftoverSnapshots(int dir_fd, std::vector<std::string>* sealed, std::string* err);

// Turns the overlay's layers into a plain directory, in place in the upper layer
// (incoming.tree): whiteouts drop a name, an opaque directory hides the lower one, every lower
// name the upper layer lacks is hard-linked (files, symlinks, specials) or recreated with its
// mode, owner, xattrs and times (directories). overlayfs's own xattrs are removed; one this code
// does not understand (a redirect, a metacopy) fails the conversion. Directory times are set
// after their contents. At most `max_depth` directory levels.
bool MergeOverlayLayers(const IncomingSnapshot& incoming, int max_depth, std::string* err);

// Renames incoming/tree to DIR/<snapshot_name> (at the btrfs level, then seals it read-only),
// then replaces `latest` atomically with a link to it (a symlink under a temporary name,
// renamed over), syncs DIR and removes the incoming directory.
bool PublishSnapshot(int dir_fd, IncomingSnapshot* incoming, const std::string& snapshot_name,
                     SnapshotLevel level, std::string* err);

}  // namespace rrsync

#endif  // RRSYNC_SNAPSHOT_STORE_H_
