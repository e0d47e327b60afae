// The last steps before rsync runs: the single-run lock, and starting rsync itself.
#ifndef RRSYNC_RUNNER_H_
#define RRSYNC_RUNNER_H_

#include <sys/types.h>

#include <functional>
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

// Starts rsync in a child that shares this process's memory until it execs (clone with
// CLONE_VM | CLONE_VFORK, as posix_spawn does): no page tables are copied, and this process
// resumes once the child has exec'd or failed. Between the two the child makes system calls
// only: it applies `sandbox` (ApplySandboxSyscalls) and lets only `inherited` descriptors reach
// rsync (the pins its /proc/self/fd/N arguments name; every other descriptor above 2 is closed
// at the exec). Returns the child's pid and fills *report (the sandbox in force);
// or -1 with *err set when the child failed before rsync ran (it has been reaped).
pid_t SpawnRsync(const std::string& rsync_path, const std::vector<std::string>& argv,
                 const std::vector<int>& inherited, const PreparedSandbox& sandbox,
                 SandboxReport* report, std::string* err);

// What runs in the child of StartRsyncInView once it is in the mount view: fills rsync's argv
// and the descriptors it inherits (rrsync pins the client's paths here, in the view, so that no
// descriptor leads back to the host's tree through ".."). Returns false with *refusal set.
using InViewStep = std::function<bool(std::vector<std::string>* argv, std::vector<int>* inherited,
                                      std::string* refusal)>;

// Starts rsync for a sandbox that uses the mount view (sandbox.uses_mount_view()): as the first
// process of a new PID namespace, which enters new mount and IPC namespaces and the view
// (EnterSandboxView, from `dir_fd`), runs `in_view`, applies the rest of the sandbox and execs.
// rsync is killed if this process dies (it may hold the lock). Returns the child's pid with
// *report and *argv (what rsync was given) filled, or -1 with *err set when the child failed
// before rsync ran (it has been reaped; *err is its refusal or the failed step).
pid_t StartRsyncInView(const std::string& rsync_path, int dir_fd, PreparedSandbox& sandbox,
                       const InViewStep& in_view, SandboxReport* report,
                       std::vector<std::string>* argv, std::string* err);

// Gives rsync the locale upstream's Python gives it (PEP 538's locale coercion): where LC_ALL is
// unset and LC_CTYPE (else LANG) is unset, C or POSIX, sets LC_CTYPE=C.UTF-8 in this process's
// environment, which rsync inherits. --iconv=. and the printing of names that are not ASCII
// depend on it. A locale the client chose (sshd's AcceptEnv LANG LC_*) is left alone.
void CoerceCLocale();

// Passes SIGHUP, SIGINT and SIGTERM on to `child` while this process waits for it, so that an
// sshd ending the session ends rsync too.
void ForwardTerminationSignals(pid_t child);

// Waits for child `pid`. Returns its exit status, or 128 plus the signal that ended it.
int WaitForChild(pid_t pid);

}  // namespace rrsync

#endif  // RRSYNC_RUNNER_H_
