// `rrsync-admin snapshots` and `prune`: reading and removing the snapshots of a -snapshots DIR.
// Everything below DIR was written by a client, so every name is opened relative to its
// directory's descriptor, never through a symlink and never across a mount point.
#ifndef RRSYNC_ADMIN_SNAPSHOTS_H_
#define RRSYNC_ADMIN_SNAPSHOTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "admin_retention.h"

namespace rrsync {

// A prune moves a snapshot out of the snapshot names under this prefix before it removes the
// tree, so that a removal that stops half-way never leaves a partial tree under a snapshot name.
inline constexpr char kPruningPrefix[] = ".rrsync-pruning-";

// One tree below DIR: a snapshot, or the leftover of a push or a prune that did not finish.
struct SnapshotTree {
  std::string name;                // as it is in DIR (leftovers escaped for printing)
  bool complete = true;            // a snapshot name; false for .rrsync-incoming-* / -pruning-*
  bool latest = false;             // `latest` points to it
  uint64_t bytes = 0;              // apparent size of its files and symlinks, each inode once
  uint64_t unique_bytes = 0;       // of those, the inodes with no link outside this tree
  uint64_t files = 0;              // inodes other than directories, each once
  std::vector<std::string> notes;  // what the count left out (mount points, unreadable parts)
};

// What DIR holds.
struct SnapshotListing {
  std::vector<SnapshotTree> snapshots;   // oldest first
  std::vector<SnapshotTree> incomplete;  // leftovers, by name
  std::string latest;                    // the snapshot `latest` names; empty without one
};

// Reads DIR: every snapshot and leftover with its sizes (when `sizes`), and where `latest`
// points. Fails when DIR cannot be opened or `latest` is something other than a symlink to a
// snapshot name in DIR (prune must then not guess what to spare).
bool ListSnapshots(const std::string& dir, bool sizes, SnapshotListing* listing, std::string* err);

// The text and JSON forms of a listing.
std::string FormatSnapshotsText(const SnapshotListing& listing);
std::string FormatSnapshotsJson(const SnapshotListing& listing);

// What `prune` was asked to do.
struct PruneRequest {
  std::string dir;
  RetentionPolicy policy;
  bool dry_run = false;
};

// Why prune stopped before it began: DIR busy (a push holds rrsync's lock) or anything else.
enum class PruneFailure { kNone, kBusy, kFailed };

// What prune decided and did.
struct PruneOutcome {
  std::vector<RetentionVerdict> verdicts;      // oldest first
  std::vector<std::string> removed;            // snapshots removed, oldest first
  std::vector<std::string> leftovers_removed;  // trees earlier prunes left half-removed
  PruneFailure failure = PruneFailure::kNone;
};

// Takes rrsync's lock on DIR (runner.h LockDirectory; refuses when it is held or unsupported),
// decides with DecideRetention by name, and unless dry_run removes each snapshot no rule keeps
// (never the one `latest` names), then any tree an earlier prune left half-removed. Stops at the
// first entry it cannot remove (an immutable file, a mount point) and says which.
bool Prune(const PruneRequest& request, PruneOutcome* outcome, std::string* err);

// The lines prune prints: each snapshot kept or removed and why, then a summary.
std::string FormatPruneText(const PruneRequest& request, const PruneOutcome& outcome);

}  // namespace rrsync

#endif  // RRSYNC_ADMIN_SNAPSHOTS_H_
