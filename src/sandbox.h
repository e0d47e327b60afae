// Kernel-enforced confinement of the rsync that rrsync starts (Landlock).
#ifndef RRSYNC_SANDBOX_H_
#define RRSYNC_SANDBOX_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

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
  // Deny socket() and io_uring_setup() with a seccomp filter: Landlock (ABI 7) leaves unix
  // sockets by path and UDP open, and rsync --server needs neither. Tests turn it off to see
  // the Landlock network rules on their own.
  bool deny_new_sockets = true;
};

// What was put in force, for the session log.
struct SandboxReport {
  int abi = 0;            // the kernel's Landlock ABI; 0 when Landlock is unavailable
  bool enforced = false;  // a Landlock ruleset is in force on this process
  std::string rights;     // the handled rights actually in force, for the log
  std::string warning;    // set when kAuto ran with less than the full ruleset
};

// Returns the kernel's Landlock ABI version, 0 when Landlock is unavailable. Tests substitute
// another probe to play an older kernel: the rights are then cut to that ABI for real.
using LandlockAbiProbe = int (*)();
int ProbeLandlockAbi();

// Confines the calling process, and what it execs next, to `plan`. Sets no_new_privs. Returns
// false and fills *err when the session must be refused (kRequire without full enforcement, a
// push needing REFER on an ABI-1 kernel, or a setup step that failed). The caller must be
// single-threaded (Landlock confines only the calling thread) and must close every descriptor
// not meant for rsync before it execs: descriptors opened before keep their access.
bool EnterSandbox(const SandboxPlan& plan, SandboxMode mode, SandboxReport* report,
                  std::string* err, LandlockAbiProbe probe = ProbeLandlockAbi);

// EnterSandbox in two steps, for a caller that starts rsync as a child: PrepareSandbox does the
// work (probing the kernel, planning the rules from rsync's ELF headers, building the Landlock
// ruleset) before the child exists, and the child only makes the irrevocable calls
// (ApplySandbox, or ApplySandboxSyscalls in a child that shares its parent's memory). Nothing
// is restricted until then; dropping a prepared sandbox just closes the ruleset.
class PreparedSandbox;
bool PrepareSandbox(const SandboxPlan& plan, SandboxMode mode, PreparedSandbox* prepared,
                    std::string* err, LandlockAbiProbe probe = ProbeLandlockAbi);
// Checks that the caller is single-threaded, sets no_new_privs, restricts the calling process
// to the prepared ruleset and installs the socket filter. Fills *report as EnterSandbox does.
bool ApplySandbox(PreparedSandbox& prepared, SandboxReport* report, std::string* err);

// What ApplySandboxSyscalls did: plain data, written by a child that may share its parent's
// memory, and read by DescribeSandboxOutcome.
struct SandboxApplyOutcome {
  int failed_step = 0;      // 0: applied; else the step that failed (sandbox.cc)
  int error = 0;            // its errno, or the number of threads
  bool filter_installed = false;
  int filter_error = 0;     // the socket filter failed under auto: its errno, -1 if unsupported
};

// ApplySandbox's system calls and nothing else: no allocation, no lock, no stdio, so that a
// child sharing its parent's memory until it execs (clone with CLONE_VM | CLONE_VFORK, as
// posix_spawn does) may run it. The ruleset descriptor is left open (it is close-on-exec).
void ApplySandboxSyscalls(const PreparedSandbox& prepared, SandboxApplyOutcome* outcome);
// The report and the refusal ApplySandbox would give for `outcome`. Returns false when the
// sandbox was not applied (*err says why).
bool DescribeSandboxOutcome(const PreparedSandbox& prepared, const SandboxApplyOutcome& outcome,
                            SandboxReport* report, std::string* err);

// One path rule of the ruleset: what may be done beneath `path`, and why it is there.
struct SandboxRule {
  std::string path;
  uint64_t access = 0;  // Landlock filesystem rights (landlock_ruleset.h), before ABI masking
  std::string reason;
};

// The path rules for `plan`: DIR with the rights the direction needs, then the runtime files
// rsync itself needs (its binary, its program interpreter, the directories of its shared
// libraries, the loader cache, the name-mapping files), found from the rsync binary's ELF
// headers and /etc/ld.so.cache. Returns false when the binary cannot be understood or a
// library cannot be found (the session is refused rather than started broken).
bool PlanSandboxRules(const SandboxPlan& plan, std::vector<SandboxRule>* rules, std::string* err);

// The Landlock filesystem rights DIR gets for `plan`.
uint64_t DirAccessForPlan(const SandboxPlan& plan);

class PreparedSandbox {
 public:
  PreparedSandbox();
  ~PreparedSandbox();
  PreparedSandbox(PreparedSandbox&&) noexcept;
  PreparedSandbox& operator=(PreparedSandbox&&) noexcept;

 private:
  friend bool PrepareSandbox(const SandboxPlan&, SandboxMode, PreparedSandbox*, std::string*,
                             LandlockAbiProbe);
  friend bool ApplySandbox(PreparedSandbox&, SandboxReport*, std::string*);
  friend void ApplySandboxSyscalls(const PreparedSandbox&, SandboxApplyOutcome*);
  friend bool DescribeSandboxOutcome(const PreparedSandbox&, const SandboxApplyOutcome&,
                                     SandboxReport*, std::string*);
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace rrsync

#endif  // RRSYNC_SANDBOX_H_
