// Kernel-enforced confinement of the rsync that rrsync starts (Landlock).
#ifndef RRSYNC_SANDBOX_H_
#define RRSYNC_SANDBOX_H_

#include <string>
#include <string_view>

namespace rrsync {

// How hard rrsync insists on the sandbox (-sandbox=MODE).
enum class SandboxMode {
  kAuto,     // enforce what the kernel supports; without Landlock run unconfined, with a warning
  kRequire,  // refuse the session unless the full ruleset for this request is enforced
  kOff,      // do not confine
};

// Parses "auto", "require" or "off". Returns false for anything else.
bool ParseSandboxMode(std::string_view text, SandboxMode* mode);

// What one session may do; recorded by the caller, applied once by EnterSandbox.
struct SandboxPlan {
  std::string dir;         // absolute real path of the restricted directory
  bool write = false;      // a push: rsync may create, change and remove inside dir
  bool devices = false;    // may create device nodes (only when dir is "/")
  std::string rsync_path;  // absolute path of the rsync binary that will be exec'd
};

// What was put in force, for the session log.
struct SandboxReport {
  int abi = 0;            // the kernel's Landlock ABI; 0 when Landlock is unavailable
  bool enforced = false;  // a Landlock ruleset is in force on this process
  std::string rights;     // the handled rights actually in force, for the log
  std::string warning;    // set when kAuto ran with less than the full ruleset
};

// Confines the calling process, and what it execs next, to `plan`. Sets no_new_privs. Returns
// false and fills *err when the session must be refused (kRequire without full enforcement, a
// push needing REFER on an ABI-1 kernel, or a setup step that failed).
bool EnterSandbox(const SandboxPlan& plan, SandboxMode mode, SandboxReport* report,
                  std::string* err);

}  // namespace rrsync

#endif  // RRSYNC_SANDBOX_H_
