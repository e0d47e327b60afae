// The system-call layer: a seccomp filter that refuses, with EPERM, the calls rsync --server
// never makes and a hijacked rsync would use to reach the kernel, other processes or the host.
#ifndef RRSYNC_SANDBOX_SYSCALL_FILTER_H_
#define RRSYNC_SANDBOX_SYSCALL_FILTER_H_

#include <linux/filter.h>

#include <string>
#include <vector>

namespace rrsync {

// A compiled filter, built before the sandbox is applied so that installing it allocates
// nothing.
struct SyscallFilter {
  std::vector<sock_filter> program;  // empty: not built for this architecture
  int denied_calls = 0;              // how many system calls the policy names, for the log
};

// The policy (docs/SANDBOX.md, "System calls"): a deny list, each entry a group the issue of
// root confinement names, plus argument checks where a call is harmless on the caller itself.
// Every refusal is EPERM, except clone3 (ENOSYS, so that libc falls back to clone, whose flags
// the filter can see). A foreign architecture's calls (x32, i386) are refused outright.
SyscallFilter BuildSyscallFilter();

// Installs `filter` on the calling thread; no_new_privs must be set. System calls only.
// Returns 0, or the errno of the failure (-1: the filter is empty for this architecture).
int InstallSyscallFilter(const SyscallFilter& filter);

// For the session log: "deny-list of N calls, M checked on their arguments, K ioctls", or why
// there is none.
std::string DescribeSyscallFilter(const SyscallFilter& filter);

}  // namespace rrsync

#endif  // RRSYNC_SANDBOX_SYSCALL_FILTER_H_
