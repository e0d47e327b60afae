// The retention rule of `rrsync-admin prune`: snapshot names in, the set to keep out. Pure: it
// reads no clock and no file, so it is tested on generated names alone.
#ifndef RRSYNC_ADMIN_RETENTION_H_
#define RRSYNC_ADMIN_RETENTION_H_

#include <ctime>
#include <string>
#include <vector>

namespace rrsync {

// How many snapshots each rule keeps (0: the rule keeps none).
struct RetentionPolicy {
  int last = 0;     // the N newest snapshots
  int daily = 0;    // the newest snapshot of each of the N newest UTC days that have one
  int weekly = 0;   // ... of each of the N newest ISO 8601 weeks (Monday to Sunday, UTC)
  int monthly = 0;  // ... of each of the N newest calendar months (UTC)

  // True when some rule keeps at least one snapshot.
  bool KeepsAny() const { return last > 0 || daily > 0 || weekly > 0 || monthly > 0; }
};

// One snapshot's verdict and the rules that keep it ("latest", "last 1", "daily 2026-12-01",
// "weekly 2026-W49", "monthly 2026-12"); no reason means it is removed.
struct RetentionVerdict {
  std::string name;
  std::vector<std::string> reasons;
  bool keep() const { return !reasons.empty(); }
};

// The ISO 8601 week of a time in UTC, as "YYYY-Www" (the year is the ISO week-numbering year:
// 2021-01-01 is in 2020-W53).
std::string IsoWeekOf(std::time_t when);

// Applies `policy` as restic's `forget` and borg's `prune` do: going from the newest snapshot to
// the oldest, each rule keeps a snapshot when it is the first (newest) one seen in a bucket that
// rule has not seen yet, until the rule has kept its N. Buckets are counted from the newest
// snapshot, not from today, and only buckets holding a snapshot count, so a pause in the backups
// never makes prune remove more. The snapshot `latest` names is always kept. Names that are not
// snapshot names (snapshot_names.h) are ignored; the result is oldest first.
std::vector<RetentionVerdict> DecideRetention(const std::vector<std::string>& names,
                                              const RetentionPolicy& policy,
                                              const std::string& latest);

}  // namespace rrsync

#endif  // RRSYNC_ADMIN_RETENTION_H_
