// The last steps before rsync runs: the single-run lock, and starting rsync itself.
#ifndef RRSYNC_RUNNER_H_
#define RRSYNC_RUNNER_H_

#include <functional>
#include <string>
#include <vector>

#include "unique_fd.h"

namespace rrsync {

enum class LockResult { kLocked, kBusy, kUnsupported };

// Takes an exclusive, non-blocking flock on directory `dir`, held as long as *lock stays open.
// kUnsupported (flock not possible on this filesystem) is not an error: the lock is a
// convenience that keeps two pushes apart, not a security control.
LockResult LockDirectory(const std::string& dir, UniqueFd* lock);

// Replaces this process with rsync: `inherited` descriptors stay open for rsync (the pins its
// /proc/self/fd/N arguments name), every other descriptor above 2 is closed. Returns only on
// failure, with *err set.
void ExecRsync(const std::string& rsync_path, const std::vector<std::string>& argv,
               const std::vector<int>& inherited, std::string* err);

// Runs `child` in a forked child and waits for it. Returns the child's exit status, or 128 plus
// the signal that ended it.
int RunInChildAndWait(const std::function<void()>& child);

}  // namespace rrsync

#endif  // RRSYNC_RUNNER_H_
