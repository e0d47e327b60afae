// Kernel-enforced confinement of the rsync that rrsync starts: the plan and the order in which
// its layers are applied. Each layer lives in a file of its own beside this one: the mount view
// (mount_view.h), capabilities (capabilities.h), Landlock (landlock_ruleset.h), the system-call
// policy (syscall_filter.h), and the files rsync itself needs (runtime_files.h).
#ifndef RRSYNC_SANDBOX_H_
#define RRSYNC_SANDBOX_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime_files.h"

namespace rrsync {

// How hard rrsync insists on the sandbox (-sandbox=MODE).
enum class SandboxMode {
  kAuto,     // enforce every layer the kernel and the account allow; log what is missing
  kRequire,  // refuse the session unless every layer this design needs is in force
  kOff,      // do not confine
};

// Parses "auto", "require" or "off". Returns false for anything else.
bool ParseSandboxMode(std::string_view text, SandboxMode* mode);

// What one session may do; recorded by the caller, applied once by EnterSandbox.
struct SandboxPlan {
  std::string dir;  // absolute real path of the restricted directory
  bool write = false;      // a push: rsync may create, change and remove inside dir
  bool devices = false;    // may create device nodes (only when dir is "/")
  std::string rsync_path;  // absolute path of the rsync binary that will be exec'd
  // What rsync_path may exec when it is a wrapper (-wrapper-exec): absolute paths.
  std::vector<std::string> wrapper_exec = {};
  // What such a wrapper may read, or read and write, outside DIR (-wrapper-read,
  // -wrapper-write): absolute real paths, checked against DIR by CheckWrapperGrants, bound in
  // the view (nosuid, nodev, noexec) and granted in Landlock.
  std::vector<std::string> wrapper_read = {};
  std::vector<std::string> wrapper_write = {};
  // The DIR the key names when `dir` is a snapshot inside it (-snapshots); empty otherwise.
  // Grants are checked against it too: none may reach the earlier snapshots.
  std::string key_dir = {};
  bool xattrs = false;        // -X: trusted.* and security.capability need capabilities
  bool open_noatime = false;  // --open-noatime: O_NOATIME on others' files needs FOWNER
  // A pull by a read-write key that writes in DIR, as upstream allows: it removes the files it
  // sent (--remove-source-files), or appends to its --log-file (that file's real path).
  bool remove_sent = false;
  std::string log_file = {};
  // The layers, each on by default; tests and benchmarks turn one off to see the others alone.
  bool use_namespaces = true;     // the mount view, for root (PrepareSandbox, then a child)
  bool drop_capabilities = true;  // every capability set cut to what this transfer needs
  bool syscall_filter = true;     // the seccomp policy (syscall_filter.h)
  // Snapshot mode's overlay (MountSnapshotOverlay): the view mounts it at `dir` and Landlock's
  // rule for `dir` is made on it. Needs the mount view; -1: none.
  int dir_mount = -1;
};

// What was put in force, for the session log.
struct SandboxReport {
  int abi = 0;            // the kernel's Landlock ABI; 0 when Landlock is unavailable
  bool enforced = false;  // a Landlock ruleset is in force on this process
  std::string rights;     // the handled rights actually in force, for the log
  std::string warning;    // set when kAuto ran with less than the full ruleset
  bool mount_view = false;      // rsync runs in the mount view
  uint64_t capabilities = ~0ULL;  // the capabilities rsync may keep (~0: not cut)
};

// Returns the kernel's Landlock ABI version, 0 when Landlock is unavailable. Tests substitute
// another probe to play an older kernel: the rights are then cut to that ABI for real.
using LandlockAbiProbe = int (*)();
int ProbeLandlockAbi();

// What the full Landlock ruleset needs that ABI `abi` cannot enforce ("fs ...; net ...;
// scopes ..."), empty when nothing is missing. Without the other layers (the mount view, for
// root) holding it, -sandbox=require refuses every session on such a kernel.
std::string LandlockMissingForAbi(int abi);

// Confines the calling process, and what it execs next, to `plan`, in place: every layer but
// the mount view, which needs a new process. Sets no_new_privs. Returns false and fills *err
// when the session must be refused (kRequire without full enforcement, a push needing REFER on
// an ABI-1 kernel, or a setup step that failed). The caller must be single-threaded (Landlock
// confines only the calling thread) and must close every descriptor not meant for rsync before
// it execs: descriptors opened before keep their access.
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
// With a mount view (prepared.uses_mount_view()): in the first process of a new PID namespace
// (see EnterMountView), builds the view and pivots into it; `dir_fd` is DIR,
// opened before. A no-op otherwise. Must come before ApplySandbox, which takes the
// capabilities that building the view needs.
bool EnterSandboxView(const PreparedSandbox& prepared, int dir_fd, std::string* err);
// Checks that the caller is single-threaded, drops capabilities, sets no_new_privs, restricts
// the calling process to the prepared ruleset and installs the system-call filter, in that
// order. Fills *report as EnterSandbox does.
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

// The path rules for `plan`: DIR with the rights the direction needs, then the runtime files
// rsync itself needs (its binary, its program interpreter, the directories of its shared
// libraries, the loader cache, the name-mapping files), found from the rsync binary's ELF
// headers and /etc/ld.so.cache. Returns false when the binary cannot be understood or a
// library cannot be found (the session is refused rather than started broken).
bool PlanSandboxRules(const SandboxPlan& plan, std::vector<SandboxRule>* rules, std::string* err);

// Refuses a wrapper grant that does not name an existing path by its real path, that is DIR
// or lies inside it (DIR's rights are the key's alone), or that holds DIR where that would
// widen what rsync may do in DIR: a read grant holding DIR is accepted (every transfer reads
// DIR); a write grant holding DIR only in the mount view, where DIR is a mount of its own on
// top of the grant's (read-only for a -ro key), the pins are opened and DIR's name cannot be
// replaced; neither in snapshot mode, where DIR holds the earlier snapshots.
bool CheckWrapperGrants(const SandboxPlan& plan, bool mount_view, std::string* err);

// The Landlock rights of a wrapper grant: reading, and for `write` making, changing and
// removing files and directories (no links, devices, FIFOs, sockets or cross-directory
// renames).
uint64_t WrapperGrantAccess(bool write);

// The Landlock filesystem rights DIR gets for `plan`.
uint64_t DirAccessForPlan(const SandboxPlan& plan);

class PreparedSandbox {
 public:
  PreparedSandbox();
  ~PreparedSandbox();
  PreparedSandbox(PreparedSandbox&&) noexcept;
  PreparedSandbox& operator=(PreparedSandbox&&) noexcept;

  // Whether rsync must be started in new namespaces and enter the mount view first.
  bool uses_mount_view() const;

 private:
  friend bool PrepareSandbox(const SandboxPlan&, SandboxMode, PreparedSandbox*, std::string*,
                             LandlockAbiProbe);
  friend bool ApplySandbox(PreparedSandbox&, SandboxReport*, std::string*);
  friend void ApplySandboxSyscalls(const PreparedSandbox&, SandboxApplyOutcome*);
  friend bool DescribeSandboxOutcome(const PreparedSandbox&, const SandboxApplyOutcome&,
                                     SandboxReport*, std::string*);
  friend bool EnterSandboxView(const PreparedSandbox&, int, std::string*);
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace rrsync

#endif  // RRSYNC_SANDBOX_H_
