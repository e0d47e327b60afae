#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <ctime>
#include <string_view>

#include "capabilities.h"
#include "landlock_ruleset.h"
#include "mount_view.h"
#include "runtime_files.h"
#include "syscall_filter.h"

namespace rrsync {
namespace {

using namespace landlock;

// What the sandbox wants handled, at the newest ABI we know; RestrictToAbi cuts it down.
LandlockAccess WantedAccess() {
  LandlockAccess wanted = LandlockAccessForAbi(kNewestKnownAbi);
  // Every TCP bind and connect is denied: no rule ever allows a port. Both scopes cut rsync off
  // from abstract unix sockets and from signalling processes outside its domain (sshd, rrsync).
  // Denials after the exec are worth an audit record (only when audit is on); the other log
  // flags would silence records, so they stay off.
  wanted.restrict_flags = kRestrictSelfLogNewExecOn;
  return wanted;
}

// The number of threads of this process (Landlock confines one thread: a second one would stay
// free until the exec); 0 when /proc cannot tell. System calls only: see ApplySandboxSyscalls.
long CountThreads() {
  // /proc/PID/task has one link per thread besides "." and "..": one stat, where generating
  // /proc/self/status costs ten times as much. The status file where that does not hold.
  struct stat task;
  if (stat("/proc/self/task", &task) == 0 && task.st_nlink >= 3)
    return static_cast<long>(task.st_nlink) - 2;
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;  // no /proc: nothing to check against
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  const char* threads = strstr(buf, "\nThreads:");
  return threads == nullptr ? 0 : strtol(threads + 9, nullptr, 10);
}

std::string DescribeMissing(const LandlockAccess& wanted, const LandlockAccess& got) {
  std::string out;
  auto add = [&](const std::string& what) {
    if (!out.empty()) out += "; ";
    out += what;
  };
  if (wanted.fs & ~got.fs) add("fs " + FsAccessNames(wanted.fs & ~got.fs));
  if (wanted.net & ~got.net) add("net " + NetAccessNames(wanted.net & ~got.net));
  if (wanted.scoped & ~got.scoped) add("scopes " + ScopeNames(wanted.scoped & ~got.scoped));
  return out;
}

std::string FilterError(int error) {
  return error < 0
             ? "Failed to install the system-call filter: not built for this architecture"
             : std::string("Failed to install the system-call filter: ") + std::strerror(error);
}

}  // namespace

std::string LandlockMissingForAbi(int abi) {
  const LandlockAccess wanted = WantedAccess();
  return DescribeMissing(wanted, RestrictToAbi(wanted, abi));
}

bool ParseSandboxMode(std::string_view text, SandboxMode* mode) {
  if (text == "auto") {
    *mode = SandboxMode::kAuto;
  } else if (text == "require") {
    *mode = SandboxMode::kRequire;
  } else if (text == "off") {
    *mode = SandboxMode::kOff;
  } else {
    return false;
  }
  return true;
}

int ProbeLandlockAbi() { return QueryLandlockAbi(nullptr); }

uint64_t DirAccessForPlan(const SandboxPlan& plan) {
  // A pull only reads. rsync --sender opens files and lists directories, nothing else.
  uint64_t access = kFsReadFile | kFsReadDir;
  if (!plan.write) {
    // --remove-source-files: the sender unlinks each file once the receiver has it.
    if (plan.remove_sent) access |= kFsRemoveFile;
    return access;
  }
  // A push, measured option by option (-aHAXS --delete --backup-dir --link-dest --partial-dir
  // --temp-dir --inplace --append): files are written to a temp name and renamed into place
  // (MAKE_REG, WRITE_FILE, REMOVE_FILE on the source directory, REFER across directories),
  // --inplace/--append truncate, -D --specials make FIFOs and sockets (mknodat).
  access |= kFsWriteFile | kFsMakeReg | kFsMakeDir | kFsMakeSym | kFsMakeFifo | kFsMakeSock |
            kFsRemoveFile | kFsRemoveDir | kFsRefer | kFsTruncate;
  // Device nodes only where rrsync would allow them anyway: a DIR of "/".
  if (plan.devices) access |= kFsMakeChar | kFsMakeBlock;
  return access;
}

namespace {

bool CheckPlanPaths(const SandboxPlan& plan, std::string* err) {
  if (plan.dir.empty() || plan.dir[0] != '/') {
    *err =
        "Failed to plan the sandbox: the restricted directory \"" + plan.dir + "\" is not absolute";
    return false;
  }
  if (plan.rsync_path.empty() || plan.rsync_path[0] != '/') {
    *err = "Failed to plan the sandbox: the rsync path \"" + plan.rsync_path + "\" is not absolute";
    return false;
  }
  return true;
}

// Whether `path` is `dir` or lies beneath it (both absolute, in normal form).
bool Beneath(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path == dir || (path.starts_with(dir) && path.size() > dir.size() &&
                         path[dir.size()] == '/');
}

// DIR's rule, then the runtime files' rules, then the wrapper's grants.
std::vector<SandboxRule> RulesFor(const SandboxPlan& plan, const RuntimeFiles& runtime) {
  std::vector<SandboxRule> rules;
  rules.push_back({plan.dir, DirAccessForPlan(plan),
                   plan.write ? "the restricted directory, for a push"
                              : "the restricted directory, for a pull"});
  // A pull's --log-file: rsync opens it O_WRONLY|O_APPEND (it exists: a sender's paths must).
  if (!plan.write && !plan.log_file.empty())
    rules.push_back({plan.log_file, kFsWriteFile, "the pull's --log-file, appended to"});
  rules.insert(rules.end(), runtime.rules.begin(), runtime.rules.end());
  for (const std::string& path : plan.wrapper_read)
    rules.push_back({path, WrapperGrantAccess(false), "-wrapper-read: the admin's grant"});
  for (const std::string& path : plan.wrapper_write)
    rules.push_back({path, WrapperGrantAccess(true), "-wrapper-write: the admin's grant"});
  return rules;
}

}  // namespace

uint64_t WrapperGrantAccess(bool write) {
  uint64_t access = kFsReadFile | kFsReadDir;
  if (write)
    access |= kFsWriteFile | kFsTruncate | kFsMakeReg | kFsMakeDir | kFsRemoveFile | kFsRemoveDir;
  return access;
}

bool CheckWrapperGrants(const SandboxPlan& plan, bool mount_view, std::string* err) {
  auto check = [&](const std::string& path, bool write) {
    const std::string flag = write ? "-wrapper-write" : "-wrapper-read";
    const std::string what = "Failed to grant the wrapper \"" + path + "\" (" + flag + "): ";
    char real[PATH_MAX];
    if (realpath(path.c_str(), real) == nullptr) {
      *err = what + std::strerror(errno) + " (create it, or leave it out of " + flag + ")";
      return false;
    }
    if (path != real) {
      *err = what + "it is not a real path (it names \"" + std::string(real) +
             "\"): declare that";
      return false;
    }
    for (const std::string& dir : {plan.dir, plan.key_dir}) {
      if (dir.empty()) continue;
      if (Beneath(path, dir)) {
        *err = what + "it is DIR or lies inside it, where the key's rights alone decide";
        return false;
      }
      if (!Beneath(dir, path)) continue;
      // It holds DIR, so Landlock's rule for it covers DIR too. Reading DIR is what every
      // transfer does. Writing: in the mount view DIR is a mount of its own on top of the
      // grant's, read-only for a pull unless the key is read-write (a pull that removes what it
      // sent or appends to its log), the pins are opened in the view, and DIR's name, a mount
      // point there, cannot be renamed or replaced; so what rsync may do in DIR stays what the
      // key may do. Without the view none of that holds.
      if (!plan.key_dir.empty()) {
        *err = what + "it holds DIR, which holds the earlier snapshots";
        return false;
      }
      if (!write) continue;
      if (!mount_view) {
        *err = what + "it holds DIR, and without the mount view (root only) rsync could "
                      "replace DIR's name for later sessions";
        return false;
      }
    }
    return true;
  };
  for (const std::string& path : plan.wrapper_read)
    if (!check(path, false)) return false;
  for (const std::string& path : plan.wrapper_write)
    if (!check(path, true)) return false;
  return true;
}

bool PlanSandboxRules(const SandboxPlan& plan, std::vector<SandboxRule>* rules, std::string* err) {
  rules->clear();
  RuntimeFiles runtime;
  if (!CheckPlanPaths(plan, err) ||
      !FindRuntimeFiles(plan.rsync_path, plan.wrapper_exec, &runtime, err))
    return false;
  *rules = RulesFor(plan, runtime);
  return true;
}

// What PrepareSandbox found out and built, for ApplySandbox: every layer recorded first, then
// applied once, in ApplySandboxSyscalls' order.
struct PreparedSandbox::State {
  bool prepared = false;
  SandboxMode mode = SandboxMode::kOff;
  SandboxPlan plan;
  SandboxReport report;  // abi and warnings so far
  // The mount view (root only): entered by the child that becomes rsync, before the rest.
  bool mount_view = false;
  MountViewPlan view;
  // Capabilities: every set cut to `keep`.
  bool drop_capabilities = false;
  uint64_t keep = 0;
  // Landlock: a ruleset built here, enforced at apply.
  bool landlock = false;
  LandlockRuleset ruleset;
  size_t rule_count = 0;
  // The system-call policy, compiled here.
  bool syscall_filter = false;
  SyscallFilter filter;
};

PreparedSandbox::PreparedSandbox() : state_(std::make_unique<State>()) {}
PreparedSandbox::~PreparedSandbox() = default;
PreparedSandbox::PreparedSandbox(PreparedSandbox&&) noexcept = default;
PreparedSandbox& PreparedSandbox::operator=(PreparedSandbox&&) noexcept = default;

bool PreparedSandbox::uses_mount_view() const { return state_->mount_view; }

namespace {

void AddWarning(SandboxReport* report, const std::string& text) {
  report->warning += (report->warning.empty() ? "" : "; ") + text;
}

}  // namespace

bool PrepareSandbox(const SandboxPlan& plan, SandboxMode mode, PreparedSandbox* prepared,
                    std::string* err, LandlockAbiProbe probe) {
  *prepared = PreparedSandbox();
  PreparedSandbox::State& st = *prepared->state_;
  st.mode = mode;
  st.plan = plan;
  st.prepared = true;
  if (mode == SandboxMode::kOff) {
    if (plan.dir_mount < 0) return true;
    *err = "snapshot mode's overlay needs the mount view, and -sandbox=off is set";
    return false;
  }
  const bool require = mode == SandboxMode::kRequire;

  // The mount view, for root: without it, root's capabilities and its ownership of the
  // system's files would let a hijacked rsync change metadata anywhere by name.
  std::string no_view;
  if (plan.use_namespaces && MountViewSupported(&no_view)) {
    st.mount_view = true;
  } else if (plan.dir_mount >= 0) {
    // Only the view can put the overlay in DIR's place: never run the push on DIR instead.
    *err = "snapshot mode's overlay needs the mount view (" + no_view + ")";
    return false;
  } else if (plan.use_namespaces && geteuid() == 0) {
    if (require) {
      *err =
          "the mount namespace layer is unavailable (" + no_view + ") and -sandbox=require is set";
      return false;
    }
    AddWarning(&st.report, "no mount view (" + no_view + "): names outside DIR stay visible");
  }

  if (!CheckWrapperGrants(plan, st.mount_view, err)) return false;

  st.syscall_filter = plan.syscall_filter;
  if (st.syscall_filter) st.filter = BuildSyscallFilter();
  st.drop_capabilities = plan.drop_capabilities;
  CapabilityNeeds needs;
  needs.write = plan.write;
  needs.devices = plan.devices;
  needs.xattrs = plan.xattrs;
  needs.open_noatime = plan.open_noatime;
  needs.pull_writes = !plan.write && (plan.remove_sent || !plan.log_file.empty());
  st.keep = CapabilitiesToKeep(needs);

  // The runtime files (rsync's ELF headers and libraries) serve Landlock and the view alike:
  // found once, when the first of them needs them.
  RuntimeFiles runtime;
  bool runtime_found = false;
  auto find_runtime = [&]() {
    if (!runtime_found)
      runtime_found = CheckPlanPaths(plan, err) &&
                      FindRuntimeFiles(plan.rsync_path, plan.wrapper_exec, &runtime, err);
    return runtime_found;
  };

  const int abi = probe();
  st.report.abi = abi;
  // With the mount view, the system-call policy and the capabilities in force, what an older
  // Landlock lacks is held by them: TCP and abstract sockets need socket(), denied; signals
  // reach only the PID namespace; truncation and device ioctls outside DIR find no file.
  const bool others_hold = st.mount_view && !st.filter.program.empty() && st.drop_capabilities;
  if (abi <= 0) {
    if (!others_hold) {
      if (require) {
        *err = "Landlock is not available on this kernel and -sandbox=require is set";
        return false;
      }
      AddWarning(&st.report, "Landlock is not available on this kernel: rsync runs unconfined");
    } else {
      AddWarning(&st.report,
                 "Landlock is not available on this kernel: the mount view, the capabilities "
                 "and the system-call policy confine rsync");
    }
  } else if (plan.write && abi < 2) {
    // Without REFER (ABI 1) every cross-directory rename fails with EXDEV: Landlock cannot
    // confine a push. The mount view can; without it the push is refused in every mode.
    if (!others_hold) {
      *err =
          "Landlock ABI 1 cannot allow the cross-directory renames a push needs (REFER); "
          "refusing the push";
      return false;
    }
    AddWarning(&st.report,
               "Landlock ABI 1 cannot allow the renames a push needs: the push is confined by the "
               "mount view, the capabilities and the system-call policy");
  } else {
    const LandlockAccess handled = RestrictToAbi(WantedAccess(), abi);
    const std::string missing = LandlockMissingForAbi(abi);
    if (!missing.empty()) {
      if (require && !others_hold) {
        *err = "Landlock ABI " + std::to_string(abi) + " cannot enforce the full ruleset (lacks " +
               missing + ") and -sandbox=require is set";
        return false;
      }
      AddWarning(&st.report,
                 "Landlock ABI " + std::to_string(abi) + " lacks " + missing +
                     (others_hold ? ": the other layers hold those" : ": those stay unrestricted"));
    }
    if (!find_runtime()) return false;
    const std::vector<SandboxRule> rules = RulesFor(plan, runtime);
    // Every rule is added while the process can still open the paths; rules bind to inodes,
    // so they hold in the mount view too. The restriction comes last and is irrevocable.
    if (!st.ruleset.Create(handled, err)) return false;
    for (const SandboxRule& rule : rules) {
      // The overlay has no path outside the view: its rule is made on its root.
      const bool on_overlay = plan.dir_mount >= 0 && &rule == &rules.front();
      if (on_overlay ? !st.ruleset.AllowFd(plan.dir_mount, rule.path, rule.access, err)
                     : !st.ruleset.AllowPath(rule.path, rule.access, err))
        return false;
    }
    st.rule_count = rules.size();
    st.landlock = true;
  }

  if (st.mount_view) {
    if (!find_runtime()) return false;
    st.view.dir = plan.dir;
    st.view.dir_mount = plan.dir_mount;
    // A pull that writes (its key is read-write) sees DIR writable; Landlock, where there is
    // one, still grants only the removal or the log file.
    st.view.read_only = !plan.write && !plan.remove_sent && plan.log_file.empty();
    st.view.dirs = runtime.library_dirs;
    st.view.files = runtime.files;
    st.view.links = runtime.library_names;
    st.view.read_grants = plan.wrapper_read;
    st.view.write_grants = plan.wrapper_write;
  }
  // The caller logs after the restriction; load the time zone while /etc/localtime is
  // readable, so its timestamps stay in local time (glibc reads the file once, on first use).
  tzset();
  return true;
}

bool EnterSandboxView(const PreparedSandbox& prepared, int dir_fd, std::string* err) {
  const PreparedSandbox::State& st = *prepared.state_;
  if (!st.mount_view) return true;
  if (!EnterMountView(st.view, dir_fd, err)) return false;
  // rsync 3.5.0 resolves a path under --confine-root, a /proc/self/fd/N pin included, by opening
  // "/" and every directory on the way O_RDONLY (syscall.c's ona_open; 3.5.1 and Debian's 3.5.0
  // use O_PATH, which Landlock does not check): without READ_DIR there, a push into a pinned
  // subdirectory fails with "change_dir#1 ... Permission denied" and merge files are silently
  // skipped. Only in the view: its root holds nothing but DIR, rsync's own files and its /proc,
  // so listing it names only what rrsync put there. Never without the view, where "/" is the
  // host's: such a walk then fails, and says so (docs/SANDBOX.md).
  return !st.landlock || st.ruleset.AllowPath("/", kFsReadDir, err);
}

// The steps of ApplySandboxSyscalls that can fail (SandboxApplyOutcome::failed_step).
enum ApplyStep {
  kApplied = 0,
  kNotPrepared,
  kThreads,
  kCapabilities,
  kNoNewPrivs,
  kRestrict,
  kFilter
};

void ApplySandboxSyscalls(const PreparedSandbox& prepared, SandboxApplyOutcome* outcome) {
  const PreparedSandbox::State& st = *prepared.state_;
  *outcome = SandboxApplyOutcome();
  if (!st.prepared) {
    outcome->failed_step = kNotPrepared;
    return;
  }
  if (long threads = CountThreads(); threads > 1) {
    outcome->failed_step = kThreads;
    outcome->error = static_cast<int>(threads);
    return;
  }
  // The order matters. The mount view came first (EnterSandboxView: it needs CAP_SYS_ADMIN
  // and mount calls the filter denies). Capabilities next: dropping the bounding set needs
  // CAP_SETPCAP, which goes with it. no_new_privs before Landlock and seccomp, which need it
  // without CAP_SYS_ADMIN, and so that the exec cannot gain back what was dropped. Landlock
  // before the filter, whose policy does not list Landlock's calls but might one day.
  if (st.mode != SandboxMode::kOff && st.drop_capabilities) {
    if (int error = DropCapabilities(st.keep); error != 0) {
      outcome->failed_step = kCapabilities;
      outcome->error = error;
      return;
    }
  }
  // no_new_privs in every mode: rsync never needs to gain privileges by exec.
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    outcome->failed_step = kNoNewPrivs;
    outcome->error = errno;
    return;
  }
  if (st.mode == SandboxMode::kOff) return;
  if (st.landlock && syscall(__NR_landlock_restrict_self, st.ruleset.fd(),
                             st.ruleset.handled().restrict_flags) != 0) {
    outcome->failed_step = kRestrict;
    outcome->error = errno;
    return;
  }
  // The system-call layer, in auto and require mode alike; a failure refuses only under require.
  if (!st.syscall_filter) return;
  int filter = InstallSyscallFilter(st.filter);
  if (filter == 0) {
    outcome->filter_installed = true;
  } else if (st.mode == SandboxMode::kRequire) {
    outcome->failed_step = kFilter;
    outcome->error = filter;
  } else {
    outcome->filter_error = filter;
  }
}

bool DescribeSandboxOutcome(const PreparedSandbox& prepared, const SandboxApplyOutcome& outcome,
                            SandboxReport* report, std::string* err) {
  const PreparedSandbox::State& st = *prepared.state_;
  *report = SandboxReport();
  switch (outcome.failed_step) {
    case kApplied:
      break;
    case kNotPrepared:
      *err = "Failed to enter the sandbox: it was not prepared";
      return false;
    case kThreads:
      *err = "Failed to enter the sandbox: " + std::to_string(outcome.error) +
             " threads are running and Landlock confines only the calling one";
      return false;
    case kCapabilities:
      *err = std::string("Failed to drop capabilities: ") + std::strerror(outcome.error);
      return false;
    case kNoNewPrivs:
      *err = std::string("Failed to restrict privileges: ") + std::strerror(outcome.error);
      return false;
    case kRestrict:
      *err = std::string("Failed to enforce the ruleset: ") + std::strerror(outcome.error);
      return false;
    default:
      *err = FilterError(outcome.error);
      return false;
  }
  if (st.mode == SandboxMode::kOff) {
    report->rights = "sandbox off";
    return true;
  }
  *report = st.report;
  std::string filter_note = "off";
  if (st.syscall_filter && outcome.filter_installed) {
    filter_note = DescribeSyscallFilter(st.filter);
  } else if (st.syscall_filter) {
    filter_note = "unavailable";
    AddWarning(report, FilterError(outcome.filter_error));
  }
  std::string layers;
  if (st.drop_capabilities)
    layers += "; caps: " + CapabilityNames(st.keep & (geteuid() == 0 ? ~0ULL : 0ULL));
  layers += "; seccomp: " + filter_note;
  layers += "; namespaces: " + (st.mount_view ? DescribeMountView(st.view) : std::string("none"));
  report->mount_view = st.mount_view;
  report->capabilities = st.drop_capabilities ? st.keep : ~0ULL;
  if (!st.landlock) {
    report->rights = "landlock: none" + layers;
    return true;
  }
  const LandlockAccess& handled = st.ruleset.handled();
  report->enforced = true;
  report->rights = "landlock abi " + std::to_string(report->abi) + "; dir " + st.plan.dir + ": " +
                   FsAccessNames(DirAccessForPlan(st.plan) & handled.fs) + "; " +
                   std::to_string(st.rule_count - 1) + " rules for rsync's own files" +
                   (st.mount_view ? "; view /: read_dir" : "") +
                   "; handled fs: " + FsAccessNames(handled.fs) +
                   "; denied net: " + NetAccessNames(handled.net) +
                   "; scoped: " + ScopeNames(handled.scoped) + layers;
  return true;
}

bool ApplySandbox(PreparedSandbox& prepared, SandboxReport* report, std::string* err) {
  SandboxApplyOutcome outcome;
  ApplySandboxSyscalls(prepared, &outcome);
  // The ruleset has served (or never will): the restricted process need not keep it open.
  if (outcome.failed_step == kApplied) prepared.state_->ruleset.Close();
  return DescribeSandboxOutcome(prepared, outcome, report, err);
}

bool EnterSandbox(const SandboxPlan& plan, SandboxMode mode, SandboxReport* report,
                  std::string* err, LandlockAbiProbe probe) {
  *report = SandboxReport();
  // In place: the mount view needs a new process (its PID namespace takes effect for children).
  SandboxPlan in_place = plan;
  in_place.use_namespaces = false;
  PreparedSandbox prepared;
  return PrepareSandbox(in_place, mode, &prepared, err, probe) &&
         ApplySandbox(prepared, report, err);
}

}  // namespace rrsync
