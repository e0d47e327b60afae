// The names of snapshot mode (-snapshots): one directory per completed push, named by rrsync's
// clock in UTC, and a symlink "latest" to the newest. Pure text rules, shared by rrsync and
// rrsync-admin, so that both read a snapshot directory the same way.
#ifndef RRSYNC_SNAPSHOT_NAMES_H_
#define RRSYNC_SNAPSHOT_NAMES_H_

#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rrsync {

// The symlink to the newest complete snapshot.
inline constexpr std::string_view kLatestSnapshotLink = "latest";

// A push in progress is written under a name that begins with this prefix (a dot, so that it can
// never parse as a snapshot name) and becomes a snapshot only when rsync exits 0.
inline constexpr std::string_view kIncomingSnapshotPrefix = ".rrsync-incoming-";

// Returns the snapshot name for `when` (seconds since the epoch), "YYYY-MM-DDTHHMMSSZ" in UTC.
std::string FormatSnapshotName(std::time_t when);

// Returns the time a snapshot name stands for, or nothing unless `name` is exactly
// "YYYY-MM-DDTHHMMSSZ" with a valid date and time (no leap seconds, years 1970-9999).
std::optional<std::time_t> ParseSnapshotName(std::string_view name);

// Returns the names in `names` that are snapshot names, oldest first (duplicates kept once).
std::vector<std::string> SortedSnapshotNames(const std::vector<std::string>& names);

}  // namespace rrsync

#endif  // RRSYNC_SNAPSHOT_NAMES_H_
