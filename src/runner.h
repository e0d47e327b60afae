// The last steps before rsync runs: the single-run lock, and starting rsync itself.
#ifndef RRSYNC_RUNNER_H_
#define RRSYNC_RUNNER_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "sandbox.h"
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

// Starts rsync in a child that shares this process's memory until it execs (clone with
// CLONE_VM | CLONE_VFORK, as posix_spawn does): no page tables are copied, and this process
// resumes once the child has exec'd or failed. Between the two the child makes system calls
// only: it applies `sandbox` (ApplySandboxSyscalls) and lets only `inherited` descriptors reach
// rsync, as ExecRsync does. Returns the child's pid and fills *report (the sandbox in force);
// or -1 with *err set when the child failed before rsync ran (it has been reaped).
pid_t SpawnRsync(const std::string& rsync_path, const std::vector<std::string>& argv,
                 const std::vector<int>& inherited, const PreparedSandbox& sandbox,
                 SandboxReport* report, std::string* err);

// Waits for child `pid`. Returns its exit status, or 128 plus the signal that ended it.
int WaitForChild(pid_t pid);

}  // namespace rrsync

#endif  // RRSYNC_RUNNER_H_
