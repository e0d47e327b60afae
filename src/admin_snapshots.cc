#include "admin_snapshots.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>

#include "btrfs_subvolume.h"
#include "escape.h"
#include "runner.h"
#include "snapshot_names.h"
#include "unique_fd.h"

#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT 0x00002000
#endif

namespace rrsync {

namespace {

std::string Errno(int e) { return strerror(e); }

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Client-written trees can be deep: one descriptor per level is held, so let this process have
// as many as its hard limit allows.
void RaiseDescriptorLimit() {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// Whether the directory `name` in `dir_fd` is the root of a mount. statx says so on Linux 5.8
// and later; before that a device other than its parent's is taken as one (the safe side: a
// btrfs subvolume then counts as a mount point too).
bool IsMountRoot(int dir_fd, const char* name, dev_t parent_dev) {
  struct statx stx;
  if (statx(dir_fd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_BASIC_STATS, &stx) != 0)
    return true;
  if (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
    return (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
  return makedev(stx.stx_dev_major, stx.stx_dev_minor) != parent_dev;
}

// The names in directory `fd`, without "." and "..". The descriptor stays open and usable.
bool ReadNames(int fd, std::vector<std::string>* names, int* error) {
  names->clear();
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) {
    *error = errno;
    return false;
  }
  DIR* dir = fdopendir(copy);
  if (dir == nullptr) {
    *error = errno;
    close(copy);
    return false;
  }
  rewinddir(dir);
  errno = 0;
  while (struct dirent* entry = readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") names->emplace_back(name);
    errno = 0;
  }
  *error = errno;
  closedir(dir);
  std::sort(names->begin(), names->end());
  return *error == 0;
}

// Opens the directory `name` in `parent_fd` without following a symlink.
UniqueFd OpenDirectoryAt(int parent_fd, const char* name) {
  return UniqueFd(
      openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY));
}

// Links of each inode seen in one tree, to tell what only that tree holds.
struct InodeTally {
  struct Count {
    nlink_t seen = 0;
    nlink_t links = 0;
    uint64_t size = 0;
  };
  std::map<std::pair<dev_t, ino_t>, Count> inodes;
};

void TallyTree(int fd, const std::string& path, dev_t dev, InodeTally* tally,
               std::vector<std::string>* notes) {
  std::vector<std::string> names;
  int error = 0;
  if (!ReadNames(fd, &names, &error)) {
    notes->push_back("cannot read " + EscapeAndShorten(path, 300) + ": " + Errno(error));
    return;
  }
  for (const std::string& name : names) {
    struct stat st;
    const std::string child = path + "/" + name;
    if (fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      notes->push_back("cannot stat " + EscapeAndShorten(child, 300) + ": " + Errno(errno));
      continue;
    }
    if (!S_ISDIR(st.st_mode)) {
      InodeTally::Count& count = tally->inodes[{st.st_dev, st.st_ino}];
      ++count.seen;
      count.links = st.st_nlink;
      count.size = static_cast<uint64_t>(st.st_size);
      continue;
    }
    if (IsMountRoot(fd, name.c_str(), dev)) {
      notes->push_back("not counted: " + EscapeAndShorten(child, 300) + " is a mount point");
      continue;
    }
    UniqueFd sub = OpenDirectoryAt(fd, name.c_str());
    if (!sub.valid()) {
      notes->push_back("cannot open " + EscapeAndShorten(child, 300) + ": " + Errno(errno));
      continue;
    }
    TallyTree(sub.get(), child, st.st_dev, tally, notes);
  }
}

void MeasureTree(int dir_fd, const std::string& dir, SnapshotTree* tree) {
  struct stat st;
  if (fstatat(dir_fd, tree->name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return;
  UniqueFd fd = OpenDirectoryAt(dir_fd, tree->name.c_str());
  if (!fd.valid()) {
    tree->notes.push_back("cannot open: " + Errno(errno));
    return;
  }
  bool read_only = false;
  std::string ignored;
  if (IsSubvolumeRoot(fd.get()))
    tree->notes.push_back(
        std::string(SubvolumeIsReadOnly(fd.get(), &read_only, tree->name, &ignored) && read_only
                        ? "read-only"
                        : "writable") +
        " btrfs subvolume: extents it shares with other snapshots are counted in each");
  InodeTally tally;
  TallyTree(fd.get(), dir + "/" + EscapeAndShorten(tree->name, 300), st.st_dev, &tally,
            &tree->notes);
  for (const auto& [inode, count] : tally.inodes) {
    ++tree->files;
    tree->bytes += count.size;
    if (count.seen >= count.links) tree->unique_bytes += count.size;
  }
}

// The snapshot `latest` names, "" when there is no `latest`, or false when it is anything but a
// symlink to a snapshot name in DIR.
bool ReadLatest(int dir_fd, const std::string& dir, std::string* latest, std::string* err) {
  latest->clear();
  char buf[4096];
  const std::string link(kLatestSnapshotLink);
  ssize_t n = readlinkat(dir_fd, link.c_str(), buf, sizeof buf - 1);
  if (n < 0 && errno == ENOENT) return true;
  if (n < 0) {
    *err = "\"" + dir + "/" + link + "\" is not a symlink to a snapshot" +
           (errno == EINVAL ? std::string() : ": " + Errno(errno));
    return false;
  }
  std::string target(buf, static_cast<size_t>(n));
  std::string name = target;
  if (StartsWith(name, "./")) name = name.substr(2);
  while (!name.empty() && name.back() == '/') name.pop_back();
  if (!name.empty() && name[0] == '/') {
    // An absolute target counts only when it names a snapshot of this very DIR.
    const size_t slash = name.rfind('/');
    struct stat in_dir, parent;
    const std::string parent_path = slash == 0 ? "/" : name.substr(0, slash);
    if (stat(parent_path.c_str(), &parent) == 0 && fstat(dir_fd, &in_dir) == 0 &&
        parent.st_dev == in_dir.st_dev && parent.st_ino == in_dir.st_ino) {
      name = name.substr(slash + 1);
    }
  }
  if (!ParseSnapshotName(name)) {
    *err = "\"" + dir + "/" + link + "\" points to \"" + EscapeAndShorten(target, 300) +
           "\", not to a snapshot in DIR";
    return false;
  }
  *latest = name;
  return true;
}

UniqueFd OpenSnapshotDir(const std::string& dir, std::string* err) {
  UniqueFd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) *err = "Failed to open \"" + dir + "\": " + Errno(errno);
  return fd;
}

std::string HumanSize(uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " B";
  static const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = static_cast<double>(bytes) / 1024;
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < sizeof kUnits / sizeof kUnits[0]) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.1f %s", value, kUnits[unit]);
  return text;
}

// "2026-12-01 02:00:00 UTC" for a snapshot name.
std::string SnapshotDate(const std::string& name) {
  return name.substr(0, 10) + " " + name.substr(11, 2) + ":" + name.substr(13, 2) + ":" +
         name.substr(15, 2) + " UTC";
}

// Removes the tree `name` in `parent_fd` bottom-up, each name relative to its directory's
// descriptor: a symlink is removed, never followed, and a mount point stops the removal (the
// filesystem mounted there is not the snapshot's). `shown` names the tree in messages.
bool RemoveTree(int parent_fd, const std::string& name, const std::string& shown,
                std::string* err) {
  struct stat before;
  if (fstatat(parent_fd, name.c_str(), &before, AT_SYMLINK_NOFOLLOW) != 0) {
    *err = "Failed to stat \"" + shown + "\": " + Errno(errno);
    return false;
  }
  struct stat parent;
  if (fstat(parent_fd, &parent) != 0) {
    *err = "Failed to stat the directory of \"" + shown + "\": " + Errno(errno);
    return false;
  }
  if (IsMountRoot(parent_fd, name.c_str(), parent.st_dev)) {
    *err = "refusing to remove \"" + shown + "\": it is a mount point";
    return false;
  }
  UniqueFd fd = OpenDirectoryAt(parent_fd, name.c_str());
  struct stat opened;
  if (!fd.valid() || fstat(fd.get(), &opened) != 0 || opened.st_dev != before.st_dev ||
      opened.st_ino != before.st_ino) {
    *err = "Failed to open \"" + shown + "\" (it must be a real directory)" +
           (fd.valid() ? std::string() : ": " + Errno(errno));
    return false;
  }
  if (IsSubvolumeRoot(fd.get())) {
    // A snapshot made at the btrfs level: its read-only flag cleared and the subvolume destroyed
    // whole. One the kernel will not destroy (a subvolume inside it: ENOTEMPTY) is emptied
    // below like a directory, and its root removed by rmdir(2), a destroy for root.
    fd.Reset();
    std::string destroy_err;
    if (DestroySubvolumeAt(parent_fd, name, shown, &destroy_err)) return true;
    fd = OpenDirectoryAt(parent_fd, name.c_str());
    if (!fd.valid()) {
      *err = destroy_err;
      return false;
    }
    bool read_only = false;
    if (SubvolumeIsReadOnly(fd.get(), &read_only, shown, err) && read_only) {
      *err = destroy_err;
      return false;
    }
  }
  std::vector<std::string> names;
  int error = 0;
  if (!ReadNames(fd.get(), &names, &error)) {
    *err = "Failed to read \"" + shown + "\": " + Errno(error);
    return false;
  }
  for (const std::string& entry : names) {
    const std::string child = shown + "/" + EscapeAndShorten(entry, 300);
    struct stat st;
    if (fstatat(fd.get(), entry.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      *err = "Failed to stat \"" + child + "\": " + Errno(errno);
      return false;
    }
    if (S_ISDIR(st.st_mode)) {
      if (!RemoveTree(fd.get(), entry, child, err)) return false;
      continue;
    }
    if (unlinkat(fd.get(), entry.c_str(), 0) != 0) {
      const int e = errno;
      *err =
          "Failed to remove \"" + child + "\": " + Errno(e) +
          (e == EPERM ? " (immutable or append-only? see lsattr; prune clears no attribute)" : "");
      return false;
    }
  }
  if (unlinkat(parent_fd, name.c_str(), AT_REMOVEDIR) != 0) {
    *err = "Failed to remove \"" + shown + "\": " + Errno(errno);
    return false;
  }
  return true;
}

}  // namespace

namespace {

// ListSnapshots on an open DIR; `dir` names it in messages.
bool ListSnapshotsAt(const UniqueFd& dir_fd, const std::string& dir, bool sizes,
                     SnapshotListing* listing, std::string* err) {
  *listing = SnapshotListing();
  if (!ReadLatest(dir_fd.get(), dir, &listing->latest, err)) return false;
  std::vector<std::string> names;
  int error = 0;
  if (!ReadNames(dir_fd.get(), &names, &error)) {
    *err = "Failed to read \"" + dir + "\": " + Errno(error);
    return false;
  }
  if (sizes) RaiseDescriptorLimit();
  for (const std::string& name : SortedSnapshotNames(names)) {
    struct stat st;
    if (fstatat(dir_fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode))
      continue;  // a snapshot is a directory; a file or symlink under its name is not one
    SnapshotTree tree;
    tree.name = name;
    tree.latest = name == listing->latest;
    if (sizes) MeasureTree(dir_fd.get(), dir, &tree);
    listing->snapshots.push_back(std::move(tree));
  }
  if (!listing->latest.empty() && std::none_of(listing->snapshots.begin(), listing->snapshots.end(),
                                               [](const SnapshotTree& t) { return t.latest; })) {
    *err = "\"" + dir + "/" + std::string(kLatestSnapshotLink) + "\" points to " + listing->latest +
           ", which is not a snapshot directory in DIR";
    return false;
  }
  for (const std::string& name : names) {
    if (!StartsWith(name, kIncomingSnapshotPrefix) && !StartsWith(name, kPruningPrefix)) continue;
    struct stat st;
    if (fstatat(dir_fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode))
      continue;
    SnapshotTree tree;
    tree.name = name;
    tree.complete = false;
    if (sizes) MeasureTree(dir_fd.get(), dir, &tree);
    tree.name = EscapeAndShorten(name, 300);
    listing->incomplete.push_back(std::move(tree));
  }
  return true;
}

}  // namespace

bool ListSnapshots(const std::string& dir, bool sizes, SnapshotListing* listing, std::string* err) {
  UniqueFd dir_fd = OpenSnapshotDir(dir, err);
  return dir_fd.valid() && ListSnapshotsAt(dir_fd, dir, sizes, listing, err);
}

std::string FormatSnapshotsText(const SnapshotListing& listing) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-20s %-23s %10s %10s %8s\n", "SNAPSHOT", "DATE", "SIZE",
                "ONLY HERE", "FILES");
  out += line;
  for (const SnapshotTree& t : listing.snapshots) {
    std::snprintf(line, sizeof line, "%-20s %-23s %10s %10s %8llu%s\n", t.name.c_str(),
                  SnapshotDate(t.name).c_str(), HumanSize(t.bytes).c_str(),
                  HumanSize(t.unique_bytes).c_str(), static_cast<unsigned long long>(t.files),
                  t.latest ? "  latest" : "");
    out += line;
    for (const std::string& note : t.notes) out += "  note: " + note + "\n";
  }
  for (const SnapshotTree& t : listing.incomplete) {
    const char* what = StartsWith(t.name, kPruningPrefix)
                           ? "incomplete (a prune that stopped)"
                           : "incomplete (a push that did not finish)";
    out += t.name + "  " + HumanSize(t.bytes) + ", " + HumanSize(t.unique_bytes) + " only here, " +
           std::to_string(t.files) + " files: " + what + "\n";
    for (const std::string& note : t.notes) out += "  note: " + note + "\n";
  }
  if (listing.snapshots.empty()) out += "(no snapshots)\n";
  return out;
}

std::string FormatSnapshotsJson(const SnapshotListing& listing) {
  auto tree_json = [](const SnapshotTree& t) {
    nlohmann::json j = {{"name", t.name},   {"complete", t.complete},         {"latest", t.latest},
                        {"bytes", t.bytes}, {"unique_bytes", t.unique_bytes}, {"files", t.files},
                        {"notes", t.notes}};
    if (t.complete) {
      j["time"] = t.name.substr(0, 13) + ":" + t.name.substr(13, 2) + ":" + t.name.substr(15);
    }
    return j;
  };
  nlohmann::json out = {
      {"latest", listing.latest.empty() ? nlohmann::json(nullptr) : nlohmann::json(listing.latest)},
      {"snapshots", nlohmann::json::array()},
      {"incomplete", nlohmann::json::array()}};
  for (const SnapshotTree& t : listing.snapshots) out["snapshots"].push_back(tree_json(t));
  for (const SnapshotTree& t : listing.incomplete) out["incomplete"].push_back(tree_json(t));
  return out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

bool Prune(const PruneRequest& request, PruneOutcome* outcome, std::string* err) {
  *outcome = PruneOutcome();
  outcome->failure = PruneFailure::kFailed;
  if (!request.policy.KeepsAny()) {
    *err =
        "prune needs at least one --keep-last, --keep-daily, --keep-weekly or --keep-monthly "
        "above 0";
    return false;
  }
  UniqueFd dir_fd = OpenSnapshotDir(request.dir, err);
  if (!dir_fd.valid()) return false;
  // rrsync holds this lock for a whole push: under it no snapshot is being written and `latest`
  // does not move. Unsupported is refused here, unlike in rrsync: removing is not undone.
  UniqueFd lock;
  if (!request.dry_run) {
    switch (LockDirectory(request.dir, &lock)) {
      case LockResult::kLocked:
        break;
      case LockResult::kBusy:
        outcome->failure = PruneFailure::kBusy;
        *err = "\"" + request.dir + "\" is busy: a push holds rrsync's lock; try again later";
        return false;
      case LockResult::kUnsupported:
        *err = "Failed to lock \"" + request.dir + "\" (flock): refusing to prune without the lock";
        return false;
    }
  }
  struct stat locked, opened;
  if (lock.valid() && (fstat(lock.get(), &locked) != 0 || fstat(dir_fd.get(), &opened) != 0 ||
                       locked.st_dev != opened.st_dev || locked.st_ino != opened.st_ino)) {
    *err = "\"" + request.dir + "\" changed while it was being locked";
    return false;
  }
  SnapshotListing listing;
  if (!ListSnapshotsAt(dir_fd, request.dir, false, &listing, err)) return false;
  std::vector<std::string> names;
  for (const SnapshotTree& t : listing.snapshots) names.push_back(t.name);
  outcome->verdicts = DecideRetention(names, request.policy, listing.latest);
  outcome->failure = PruneFailure::kNone;
  if (request.dry_run) return true;

  RaiseDescriptorLimit();
  std::vector<std::string> doomed;
  for (const RetentionVerdict& v : outcome->verdicts) {
    if (v.keep()) continue;
    if (v.name == listing.latest) {  // DecideRetention keeps it; a second guard costs nothing
      *err = "internal error: would remove the latest snapshot " + v.name;
      outcome->failure = PruneFailure::kFailed;
      return false;
    }
    const std::string parked = kPruningPrefix + v.name;
    if (renameat2(dir_fd.get(), v.name.c_str(), dir_fd.get(), parked.c_str(), RENAME_NOREPLACE) !=
        0) {
      *err = "Failed to rename \"" + request.dir + "/" + v.name + "\" to " + parked + ": " +
             Errno(errno);
      outcome->failure = PruneFailure::kFailed;
      return false;
    }
    if (!RemoveTree(dir_fd.get(), parked, request.dir + "/" + parked, err)) {
      outcome->failure = PruneFailure::kFailed;
      return false;
    }
    outcome->removed.push_back(v.name);
  }
  // What an earlier prune left half-removed: its name says prune chose it.
  std::vector<std::string> entries;
  int error = 0;
  if (!ReadNames(dir_fd.get(), &entries, &error)) {
    *err = "Failed to read \"" + request.dir + "\": " + Errno(error);
    outcome->failure = PruneFailure::kFailed;
    return false;
  }
  for (const std::string& entry : entries) {
    if (!StartsWith(entry, kPruningPrefix) ||
        !ParseSnapshotName(std::string_view(entry).substr(sizeof kPruningPrefix - 1)))
      continue;
    if (!RemoveTree(dir_fd.get(), entry, request.dir + "/" + entry, err)) {
      outcome->failure = PruneFailure::kFailed;
      return false;
    }
    outcome->leftovers_removed.push_back(entry);
  }
  return true;
}

std::string FormatPruneText(const PruneRequest& request, const PruneOutcome& outcome) {
  std::string out;
  size_t kept = 0, dropped = 0;
  for (const RetentionVerdict& v : outcome.verdicts) {
    if (v.keep()) {
      ++kept;
      std::string why;
      for (const std::string& r : v.reasons) why += (why.empty() ? "" : ", ") + r;
      out += "keep   " + v.name + "  (" + why + ")\n";
    } else {
      ++dropped;
      out += "remove " + v.name + "  (no rule keeps it)\n";
    }
  }
  if (request.dry_run) {
    out += "dry run: would keep " + std::to_string(kept) + " and remove " +
           std::to_string(dropped) + " snapshot(s); nothing was changed\n";
  } else {
    for (const std::string& name : outcome.removed) out += "removed " + name + "\n";
    for (const std::string& name : outcome.leftovers_removed)
      out += "removed " + name + " (left by an earlier prune)\n";
    out += "kept " + std::to_string(kept) + ", removed " + std::to_string(outcome.removed.size()) +
           " of " + std::to_string(dropped) + " snapshot(s)\n";
  }
  return out;
}

}  // namespace rrsync
