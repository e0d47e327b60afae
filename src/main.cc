// rrsync: lets an ssh key run an rsync server confined to one directory, and nothing else.
//
// main gathers the inputs, asks Decide() what the client may do, then applies the effects in
// one fixed order: log, lock, pin, sandbox, exec.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit_log.h"
#include "command_line.h"
#include "config.h"
#include "decision.h"
#include "escape.h"
#include "filesystem.h"
#include "module_route.h"
#include "mount_view.h"
#include "option_policy.h"
#include "path_pinner.h"
#include "path_resolution.h"
#include "rsync_features.h"
#include "runner.h"
#include "sandbox.h"
#include "secluded_args.h"
#include "secluded_command.h"
#include "session_log.h"
#include "snapshot_names.h"
#include "snapshot_store.h"

namespace rrsync {
namespace {

enum ExitCode { kExitOk = 0, kExitRefused = 1 };

// How deep a snapshot's tree may be for rrsync to merge it (rsync's own paths stop at 4096 bytes).
constexpr int kMaxSnapshotDepth = 2048;

#ifndef RRSYNC_VERSION
#define RRSYNC_VERSION "0.0.0"
#endif

// The one way rrsync refuses: one line that names rrsync, whatever this file is called, so that
// `ssh host exit 2>&1 | grep -q rrsync` recognises it.
[[noreturn]] void Die(const std::string& message) {
  std::string line = "rrsync error: " + EscapeAndShorten(message) + "\n";
  ssize_t n = write(STDERR_FILENO, line.data(), line.size());
  (void)n;
  if (isatty(STDIN_FILENO)) {
    std::string usage = UsageText();
    n = write(STDERR_FILENO, usage.data(), usage.size());
  }
  std::exit(kExitRefused);
}

// The facts about the client that sshd hands over; nothing else from the environment.
SessionFacts GatherFacts() {
  SessionFacts facts;
  ParseSshConnection(getenv("SSH_CONNECTION"), &facts.client_address, &facts.client_port);
  facts.user = UserName(getuid());
  // ExposeAuthInfo: a file naming the key(s) the client authenticated with.
  facts.keys = KeyFingerprints(ReadUserAuthFile(getenv("SSH_USER_AUTH")));
  return facts;
}

// `rsync host:` under -modules: an empty directory holding one empty directory per module the
// key may use, served read-only in place of a module; removed when rsync is done.
class ModuleListing {
 public:
  bool Create(const Config& config, const std::vector<std::string>& modules, std::string* err) {
    char templ[] = "/tmp/rrsync-modules.XXXXXX";
    if (mkdtemp(templ) == nullptr) {
      *err = std::string("unable to list the modules: ") + strerror(errno);
      return false;
    }
    dir_ = templ;
    chmod(dir_.c_str(), 0755);
    for (const std::string& name : modules) {
      std::string path = dir_ + "/" + name;
      if (mkdir(path.c_str(), 0755) != 0) continue;
      names_.push_back(path);
      struct stat st;
      const ModuleConfig* module = config.FindModule(name);
      if (module != nullptr && stat(module->path.c_str(), &st) == 0) {
        struct timespec times[2] = {st.st_atim, st.st_mtim};
        utimensat(AT_FDCWD, path.c_str(), times, 0);
      }
    }
    return true;
  }
  void Remove() {
    for (const std::string& path : names_) rmdir(path.c_str());
    names_.clear();
    if (!dir_.empty()) rmdir(dir_.c_str());
    dir_.clear();
  }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::vector<std::string> names_;
};

// Whether the client's server options name `short_name` (in a cluster such as "-logDtprX") or
// `long_name`. A cluster ends at 'e', whose argument is the protocol's capability letters.
bool HasServerOption(const Request& request, char short_name, std::string_view long_name) {
  for (const ServerWord& word : request.words) {
    const std::string& text = word.text;
    if (text == ".") break;
    if (word.pin) continue;  // an option with a path (--log-file=...): options follow it
    if (text == long_name) return true;
    if (short_name == '\0' || text.size() < 2 || text[0] != '-' || text[1] == '-') continue;
    for (size_t i = 1; i < text.size() && text[i] != 'e'; ++i)
      if (text[i] == short_name) return true;
  }
  return false;
}

int Run(int argc, char** argv) {
  // The admin's own question, on rrsync's command line only (a key line never needs it): what a
  // client sends arrives in SSH_ORIGINAL_COMMAND and is never taken for it.
  if (argc == 2 && std::string_view(argv[1]) == "--version") {
    std::printf("rrsync %s\n", RRSYNC_VERSION);
    return kExitOk;
  }
  if (argc == 2 && std::string_view(argv[1]) == "--list-options") {
    std::fputs(LongOptionTable().c_str(), stdout);
    return kExitOk;
  }
  // Only these variables are read: anything else could come from the client (AcceptEnv).
  const char* command_env = getenv("SSH_ORIGINAL_COMMAND");
  const std::string host = ClientHost(getenv("SSH_CONNECTION"));
  std::optional<std::string> command;
  if (command_env != nullptr) command = command_env;
  // What the logs show: with -s, the command with the secluded words in it, once they are read.
  std::string logged_command = command.value_or("");

  Settings settings;
  std::string err;
  if (!ParseCommandLine(std::vector<std::string>(argv + 1, argv + argc), &settings, &err)) {
    // A broken authorized_keys line refuses every session: syslog, with the defaults, and the
    // default log file (if it exists) say so; a -log=FILE among broken flags is not trusted.
    AuditLog bad_flags{AuditLogOptions()};
    bad_flags.set_facts(GatherFacts());
    bad_flags.Refused(err, logged_command);
    SessionLog(Settings().log_path).Refused(host, err, logged_command);
    Die(err);
  }
  if (settings.help) {
    std::fputs(UsageText().c_str(), stdout);
    return kExitOk;
  }

  const bool configured = !settings.config_path.empty();
  Config config;
  std::vector<std::string> refuse_options;
  std::vector<std::string> allow_options;
  ModuleListing listing;
  bool list_modules = false;
  // Without -config, syslog only: the log file stays upstream's (SessionLog).
  AuditLogOptions audit_options;
  std::unique_ptr<AuditLog> audit;
  if (configured) {
    if (!LoadConfig(settings.config_path, &config, &err)) {
      AuditLog config_failure(audit_options);
      config_failure.set_facts(GatherFacts());
      config_failure.Refused(err, logged_command);
      Die(err);
    }
    audit_options.facility = config.syslog_facility;
    audit_options.syslog_socket = config.syslog_socket;
    // The default socket missing means no syslog daemon, which syslog(3) ignores as well.
    audit_options.report_syslog_failure = config.syslog_socket != "/dev/log";
    audit_options.file = settings.log_given ? settings.log_path : config.log_file;
    audit_options.format = config.log_format;
  }
  // Opened before the chdir: -log=FILE is relative to the login directory.
  audit = std::make_unique<AuditLog>(audit_options);
  audit->set_facts(GatherFacts());
  SessionLog log(configured ? std::string() : settings.log_path);
  auto refuse = [&](const std::string& reason) {
    listing.Remove();
    log.Refused(host, reason, logged_command);
    audit->Refused(reason, logged_command);
    Die(reason);
  };

  // With -s the client sends its options and paths on stdin: they are read before anything
  // looks at the command (the module is in the paths), and from here on the session is the plain
  // command they make, routed, checked and decided like any other. rsync runs without -s, so
  // it reads no arguments from stdin, only the protocol that follows them.
  const bool secluded = command && AsksForSecludedArgs(*command);
  if (secluded) {
    // The direction is on the visible command line: a key that may not go this way is refused
    // at once, as Decide would refuse it, instead of after waiting for the client's words.
    if (std::optional<std::string> refusal =
            DirectionRefusal(settings.access, command->starts_with("rsync --server --sender ")))
      refuse(*refusal);
    std::vector<std::string> secluded_words;
    std::string composed;
    if (!ReadSecludedArgs(STDIN_FILENO, SecludedArgsLimits(), &secluded_words, &err) ||
        !ComposeSecludedCommand(*command, secluded_words, &composed, &err))
      refuse(err);
    command = composed;
    logged_command = composed;
  }

  if (configured) {
    std::vector<std::string> served =
        settings.module.empty() ? settings.modules : std::vector<std::string>{settings.module};
    for (const std::string& name : served) {
      if (config.FindModule(name) == nullptr)
        refuse("module " + name + " is not defined in " + settings.config_path);
    }
    std::string module_name = served.front();
    if (settings.module.empty() && command) {
      Route route = RouteRequest(*command, settings.modules);
      switch (route.kind) {
        case Route::Kind::kRefuse:
          refuse(route.refusal);
          break;
        case Route::Kind::kModule:
          module_name = route.module;
          command = route.command;
          break;
        case Route::Kind::kListModules:
          list_modules = true;
          break;
        case Route::Kind::kPassThrough:
          // Not a routable rsync command: Decide refuses it (or answers "true" and the probe)
          // the same way whichever module is asked.
          break;
      }
    }
    const ModuleConfig& module = *config.FindModule(module_name);
    Settings base = settings;
    if (!SettingsForModule(base, config, module, &settings, &refuse_options, &allow_options, &err))
      refuse(err);
    if (list_modules) {
      // A key that may never read (-wo on its line) does not get the list either.
      if (std::optional<std::string> refusal = DirectionRefusal(base.access, /*sender=*/true))
        refuse(*refusal);
      // The top lists the modules and holds nothing else: read-only, whatever the module says,
      // and without the first module's option lists, which are about that module's files.
      settings.access = Access::kReadOnly;
      settings.no_delete = settings.no_lock = true;
      refuse_options.clear();
      if (!listing.Create(config, settings.modules, &err)) refuse(err);
      settings.dir = listing.dir();
    } else {
      audit->facts().module = module_name;
    }
    if (command) {
      // The -s that the composed command no longer holds: "refuse options = s" still refuses it.
      if (std::optional<std::string> refused =
              secluded ? RefusedOption("rsync --server -s .", refuse_options, allow_options)
                       : std::nullopt)
        refuse(*refused);
      if (std::optional<std::string> refused =
              RefusedOption(*command, refuse_options, allow_options))
        refuse(*refused);
    }
  }

  // DIR and the log file are relative to the login directory sshd starts us in.
  RealFilesystem fs;
  char cwd[4096];
  if (getcwd(cwd, sizeof(cwd)) == nullptr) Die("unable to read the login directory");
  DecisionInput input;
  input.settings = &settings;
  if (!ResolveRealPath(fs, cwd, settings.dir, &input.dir, &err) || !fs.IsDirectory(input.dir))
    refuse("Restricted directory does not exist!");
  if (chdir(input.dir.c_str()) != 0)
    refuse(std::string("unable to chdir to restricted dir: ") + strerror(errno));
  // Snapshots live in DIR beside each other; DIR "/" would make the system a snapshot.
  if (settings.snapshots && input.dir == "/")
    refuse("snapshot mode needs a restricted dir other than /");

  input.command = command;
  Decision decision = Decide(input, fs);
  // What rsync supports matters only for a session that runs it: refused commands, `true` and
  // the probe never read the binary. An older rsync changes only the options rrsync adds, so
  // deciding again with what it lacks is enough.
  // When rrsync cannot tell (a wrapper script, a binary it may not read), it fails closed: every
  // option is added, as for rsync 3.5.0 (an rsync that lacks one then refuses the session
  // itself), and the log says why.
  std::string features_unknown;
  if (decision.verdict == Verdict::kRunRsync) {
    RsyncFeatures actual;
    if (DetectRsyncFeatures(settings.rsync_path, &actual, &features_unknown) &&
        (actual.drop_devices != input.features.drop_devices ||
         actual.confine_root != input.features.confine_root)) {
      input.features = actual;
      decision = Decide(input, fs);
    }
  }
  switch (decision.verdict) {
    case Verdict::kConnectivityCheck:
      listing.Remove();
      return kExitOk;
    case Verdict::kProbe:
      // Tells rrsync-admin's probe that this login is held by rrsync, without naming DIR.
      std::printf("rrsync-probe ok version=%s mode=%s\n", RRSYNC_VERSION,
                  AccessName(settings.access));
      listing.Remove();
      return kExitOk;
    case Verdict::kRefuse:
      refuse(decision.refusal);
    case Verdict::kRunRsync:
      break;
  }
  // The order matters: the lock comes before pinning, because pinning may create --partial-dir
  // and --backup-dir, which two concurrent pushes must not race on. A snapshot pull writes
  // nothing and reads only complete snapshots: it takes no lock, so it runs during a push.
  const bool snapshot_push = settings.snapshots && !decision.request.sender;
  UniqueFd lock;
  if (!settings.no_lock && !(settings.snapshots && decision.request.sender)) {
    LockResult locked = LockDirectory(input.dir, &lock);
    if (locked == LockResult::kBusy)
      refuse("Another instance of rrsync is already accessing this directory.");
    // Without the lock two pushes could publish into each other's snapshot: fail closed.
    if (locked != LockResult::kLocked && snapshot_push)
      refuse("snapshot mode needs a lock on the restricted dir, and flock is not supported there");
  }

  // Snapshot mode, a push: under the lock, what a killed push left goes; the new snapshot is
  // written under DIR/.rrsync-incoming-<name> and decided again against what rsync will see
  // there, the basis (latest, in the overlay) or the incoming tree (the link-dest level).
  SnapshotLevel snapshot_level = SnapshotLevel::kOverlay;
  std::string snapshot_name;
  std::string snapshot_notes;
  IncomingSnapshot incoming;
  UniqueFd snapshot_dir;
  UniqueFd overlay;
  std::optional<std::string> latest;
  DecisionInput run_input = input;
  auto refuse_snapshot = [&](const std::string& reason) {
    if (!incoming.name.empty()) {
      std::string ignored;
      incoming = IncomingSnapshot{incoming.name, {}, {}, {}, {}};
      RemoveTreeAt(snapshot_dir.get(), incoming.name, &ignored);
    }
    refuse(reason);
  };
  if (snapshot_push) {
    snapshot_dir.Reset(open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!snapshot_dir.valid())
      refuse(std::string("unable to open the restricted dir: ") + strerror(errno));
    std::vector<std::string> removed;
    if (!RemoveIncomingLeftovers(snapshot_dir.get(), &removed, &err))
      refuse("snapshot mode: unable to remove what an earlier push left: " + err);
    for (const std::string& name : removed) snapshot_notes += " removed-leftover=" + name;
    if (!SealLeftoverSnapshots(snapshot_dir.get(), &removed, &err))
      refuse("snapshot mode: unable to seal what an earlier push left: " + err);
    for (const std::string& name : removed) snapshot_notes += " sealed-leftover=" + name;
    if (!ReadLatestSnapshot(snapshot_dir.get(), &latest, &err)) refuse(err);
    snapshot_name = ChooseSnapshotName(snapshot_dir.get(), std::time(nullptr));
    // The strongest level this session can have: btrfs-subvolume and overlay both need the
    // mount view (root, a kernel with the mount API, the sandbox on); btrfs-subvolume also DIR
    // on btrfs and latest a read-only subvolume (or no latest). -sandbox=require accepts no
    // level without the view.
    std::string no_view;
    if (settings.sandbox == SandboxMode::kOff) {
      no_view = "-sandbox=off";
    } else if (!MountViewSupported(&no_view)) {
      no_view = "no mount view: " + no_view;
    }
    std::string weaker_why;
    snapshot_level =
        ChooseSnapshotLevel(snapshot_dir.get(), latest, no_view.empty(), no_view, &weaker_why);
    if (snapshot_level == SnapshotLevel::kLinkDest && settings.sandbox == SandboxMode::kRequire)
      refuse("snapshot mode's overlay level is unavailable (" + weaker_why +
             ") and -sandbox=require is set");
    if (!CreateIncoming(snapshot_dir.get(), snapshot_name, latest, snapshot_level, &incoming, &err))
      refuse_snapshot("snapshot mode: " + err);
    // Where the overlay cannot be made (DIR on a filesystem overlayfs cannot use as its upper
    // layer), the push is refused rather than run at the weaker level behind the admin's back:
    // -sandbox=off asks for that level by name.
    if (snapshot_level == SnapshotLevel::kOverlay &&
        !MountSnapshotOverlay(incoming.lower.get(), incoming.tree.get(), incoming.work.get(),
                              &overlay, &err))
      refuse_snapshot("snapshot mode: " + err +
                      " (-sandbox=off would run the weaker link-dest level)");
    snapshot_notes = std::string(" snapshots=") + SnapshotLevelName(snapshot_level) +
                     " snapshot=" + snapshot_name +
                     (weaker_why.empty() ? "" : " snapshots-why=" + weaker_why) + snapshot_notes;
    switch (snapshot_level) {
      case SnapshotLevel::kOverlay:
        run_input.dir = input.dir + "/" + (latest ? *latest : incoming.name + "/empty");
        break;
      case SnapshotLevel::kBtrfs:
        // The tree already holds latest's files (copy-on-write): rsync works on it as on any
        // DIR, and the view binds it alone in DIR's place.
        run_input.dir = input.dir + "/" + incoming.name + "/tree";
        if (chdir(run_input.dir.c_str()) != 0)
          refuse_snapshot(std::string("unable to chdir to the new snapshot: ") + strerror(errno));
        break;
      case SnapshotLevel::kLinkDest:
        run_input.dir = input.dir + "/" + incoming.name + "/tree";
        if (latest) run_input.snapshot_link_dest = input.dir + "/" + *latest;
        run_input.confine_root = input.dir;
        if (chdir(run_input.dir.c_str()) != 0)
          refuse_snapshot(std::string("unable to chdir to the new snapshot: ") + strerror(errno));
        break;
    }
    decision = Decide(run_input, fs);
    if (decision.verdict != Verdict::kRunRsync) refuse_snapshot(decision.refusal);
  } else if (settings.snapshots) {
    snapshot_notes = " snapshots=pull";
  }
  const Request& request = decision.request;

  CoerceCLocale();
  SandboxPlan plan;
  // The overlay level: rsync's view has the overlay where the basis is, and only that; the
  // btrfs level: the new subvolume, and only that.
  plan.dir =
      snapshot_push && snapshot_level != SnapshotLevel::kLinkDest ? run_input.dir : input.dir;
  plan.dir_mount = overlay.get();
  plan.write = !request.sender;
  plan.devices = input.dir == "/";
  plan.rsync_path = settings.rsync_path;
  plan.wrapper_exec = settings.wrapper_exec;
  plan.wrapper_read = settings.wrapper_read;
  plan.wrapper_write = settings.wrapper_write;
  if (settings.snapshots) plan.key_dir = input.dir;
  plan.xattrs = HasServerOption(request, 'X', "--xattrs");
  plan.open_noatime = HasServerOption(request, '\0', "--open-noatime");
  if (request.sender && settings.access == Access::kReadWrite) {
    plan.remove_sent = HasServerOption(request, '\0', "--remove-source-files") ||
                       HasServerOption(request, '\0', "--remove-sent-files");
    // Only an existing log: a missing one is refused by the pinner, in upstream's words.
    struct stat log_st;
    for (const ServerWord& word : request.words)
      if (word.pin && word.pin->option == "--log-file" &&
          lstat(word.pin->real_path.c_str(), &log_st) == 0 && S_ISREG(log_st.st_mode))
        plan.log_file = word.pin->real_path;
  }
  // The sandbox's work (rsync's ELF headers, the ruleset, the system-call filter) is done
  // here, before any child exists, so that a child only makes the irrevocable calls.
  PreparedSandbox sandbox;
  std::string sandbox_err;
  if (!PrepareSandbox(plan, settings.sandbox, &sandbox, &sandbox_err)) refuse_snapshot(sandbox_err);

  // Pinning opens (and for --partial-dir and --backup-dir creates) what rsync is handed; with
  // a mount view it runs inside the view, so that no pin leads back to the host's tree.
  std::optional<PathPinner> pinner;
  auto pin = [&](PathPinner& with, std::vector<std::string>* argv, std::string* refusal) {
    *argv = {settings.rsync_path};
    return with.Pin(argv, refusal);
  };
  std::vector<std::string> rsync_argv;

  // Logs the session as it starts, with the sandbox actually in force.
  auto log_accepted = [&](const SandboxReport& report) {
    const std::string sandbox_state = report.enforced
                                          ? "landlock-abi" + std::to_string(report.abi)
                                          : std::string(report.mount_view ? "namespaces" : "off");
    std::string details;
    if (!report.rights.empty()) details += " rights=" + report.rights;
    if (!report.warning.empty()) details += " warning=" + report.warning;
    for (const std::string& option : request.omitted)
      details += " omitted=" + option + "(rsync lacks it)";
    for (const std::string& warning : config.warnings) details += " config-warning=" + warning;
    // What the admin let a wrapper reach outside DIR: in force only with the sandbox.
    for (const std::string& path : settings.wrapper_read) details += " wrapper-read=" + path;
    for (const std::string& path : settings.wrapper_write) details += " wrapper-write=" + path;
    details += snapshot_notes;
    if (!features_unknown.empty())
      details += " options=as-for-rsync-3.5.0(" + features_unknown + ")";
    log.Accepted(host, rsync_argv, "sandbox=" + sandbox_state + details);
    audit->Accepted(AccessName(settings.access), sandbox_state,
                    details.empty() ? details : details.substr(1), rsync_argv);
  };
  audit->ConnectSyslog();
  SandboxReport report;
  auto started = std::chrono::steady_clock::now();
  std::string spawn_err;
  pid_t pid = -1;
  if (sandbox.uses_mount_view()) {
    // rsync is the first process of new namespaces: this process waits for it, holding the
    // lock if there is one, and logs how it ended.
    UniqueFd dir_fd(open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir_fd.valid())
      refuse_snapshot(std::string("unable to open the restricted dir: ") + strerror(errno));
    // The child shares this process's memory until it execs: its pinner gives up its
    // descriptors (they are the child's, for rsync; this process must never close those numbers).
    auto pin_in_view = [&](std::vector<std::string>* argv, std::vector<int>* inherited,
                           std::string* refusal) {
      PathPinner in_view(run_input.dir, request, ProcSelfFdWorks());
      if (!pin(in_view, argv, refusal)) return false;
      *inherited = in_view.ReleaseFds();
      return true;
    };
    pid = StartRsyncInView(settings.rsync_path, dir_fd.get(), sandbox, pin_in_view, &report,
                           &rsync_argv, &spawn_err);
    if (pid < 0) refuse_snapshot(spawn_err);
  } else {
    std::vector<int> inherited;
    std::string refusal;
    if (!pin(pinner.emplace(run_input.dir, request, ProcSelfFdWorks()), &rsync_argv, &refusal))
      refuse_snapshot(refusal);
    inherited = pinner->InheritedFds();
    // rsync runs as a child, confined there, and this process waits for it outside rsync's
    // sandbox: it keeps the lock if there is one, removes the listing's directory, and logs how
    // every session ended (exit status and duration), pulls included.
    pid = SpawnRsync(settings.rsync_path, rsync_argv, inherited, sandbox, &report, &spawn_err);
    if (pid < 0) refuse_snapshot(spawn_err);
  }
  log_accepted(report);
  ForwardTerminationSignals(pid);
  // Snapshot mode: rsync and every process of its PID namespace have exited, so nothing writes
  // the incoming tree any more. Only a clean exit makes a snapshot; anything else leaves latest
  // as it was and removes the incoming tree (a killed rrsync leaves it to the next push).
  AuditLog::SnapshotOutcome snapshot_outcome;
  snapshot_outcome.level = SnapshotLevelName(snapshot_level);
  auto finish_snapshot = [&](int rsync_status) {
    // The overlay's last reference here: its layers are plain directories from now on.
    overlay.Reset();
    std::string failure;
    const char* stage = "publish failed";
    if (rsync_status != 0) {
      failure = "rsync exited with status " + std::to_string(rsync_status);
      stage = "rsync failed";
    } else if (snapshot_level == SnapshotLevel::kOverlay &&
               !MergeOverlayLayers(incoming, kMaxSnapshotDepth, &failure)) {
      stage = "merge failed";
    } else if (snapshot_level == SnapshotLevel::kBtrfs && !CheckBtrfsSnapshot(incoming, &failure)) {
      stage = "seal failed";
    } else if (!PublishSnapshot(snapshot_dir.get(), &incoming, snapshot_name, snapshot_level,
                                &failure)) {
      // failure says why
    } else {
      log.Snapshot(host,
                   "made " + snapshot_name + " snapshots=" + SnapshotLevelName(snapshot_level));
      snapshot_outcome.made = snapshot_name;
      return 0;
    }
    snapshot_outcome.why = std::string(stage) + ": " + failure;
    std::string ignored;
    incoming = IncomingSnapshot{incoming.name, {}, {}, {}, {}};
    RemoveTreeAt(snapshot_dir.get(), incoming.name, &ignored);
    log.Snapshot(host, "not made (" + failure + "); latest unchanged");
    if (rsync_status != 0) return rsync_status;
    std::string line = "rrsync error: " + EscapeAndShorten("snapshot not made: " + failure) + "\n";
    ssize_t n = write(STDERR_FILENO, line.data(), line.size());
    (void)n;
    return static_cast<int>(kExitRefused);
  };
  int status = WaitForChild(pid);
  if (snapshot_push) status = finish_snapshot(status);
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  log.Finished(host, status, took.count());
  audit->Finished(status, took.count(), snapshot_push ? &snapshot_outcome : nullptr);
  listing.Remove();
  return status;
}

}  // namespace
}  // namespace rrsync

int main(int argc, char** argv) { return rrsync::Run(argc, argv); }
