// The capability layer: which capabilities the rsync of one session keeps, and dropping the
// rest from every set (bounding, permitted, effective, inheritable, ambient).
#ifndef RRSYNC_SANDBOX_CAPABILITIES_H_
#define RRSYNC_SANDBOX_CAPABILITIES_H_

#include <cstdint>
#include <string>

namespace rrsync {

// What about a session decides the capabilities its rsync needs.
struct CapabilityNeeds {
  bool write = false;         // a push: rsync creates files and sets their owners and modes
  bool devices = false;       // may create device nodes (a push with DIR "/")
  bool xattrs = false;        // -X: trusted.* names need CAP_SYS_ADMIN, security.capability SETFCAP
  bool open_noatime = false;  // --open-noatime: O_NOATIME on files of other owners needs FOWNER
  bool pull_writes = false;   // a pull removes what it sent or appends to its log file
};

// The capabilities (a mask of 1 << CAP_*) kept for `needs`, when rsync runs as root. Each one
// is documented, with what fails without it, in docs/SANDBOX.md.
uint64_t CapabilitiesToKeep(const CapabilityNeeds& needs);

// "chown,dac_override" for a mask; "none" for 0.
std::string CapabilityNames(uint64_t caps);

// The calling process's effective set, as a mask.
uint64_t EffectiveCapabilities();

// Cuts every set to `keep`: the bounding set (when this process may: CAP_SETPCAP, else it holds
// nothing the kernel could hand back after the exec; no_new_privs stops file capabilities),
// the ambient set, inheritable to nothing, permitted and effective to keep & permitted. System
// calls only (see ApplySandboxSyscalls). Returns 0 or the errno of the step that failed.
int DropCapabilities(uint64_t keep);

}  // namespace rrsync

#endif  // RRSYNC_SANDBOX_CAPABILITIES_H_
