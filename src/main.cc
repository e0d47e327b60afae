// rrsync: lets an ssh key run an rsync server confined to one directory, and nothing else.
//
// main gathers the inputs, asks Decide() what the client may do, then applies the effects in
// one fixed order: log, lock, pin, sandbox, exec.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "command_line.h"
#include "decision.h"
#include "escape.h"
#include "filesystem.h"
#include "path_pinner.h"
#include "path_resolution.h"
#include "rsync_features.h"
#include "runner.h"
#include "sandbox.h"
#include "session_log.h"

namespace rrsync {
namespace {

enum ExitCode { kExitOk = 0, kExitRefused = 1 };

#ifndef RRSYNC_VERSION
#define RRSYNC_VERSION "0.0.0"
#endif

// The one way rrsync refuses: one line that names rrsync, whatever this file is called, so that
// `ssh host exit 2>&1 | grep -q rrsync` recognises it.
[[noreturn]] void Die(const std::string& message) {
  std::string line = "rrsync error: " + EscapeUntrusted(message) + "\n";
  ssize_t n = write(STDERR_FILENO, line.data(), line.size());
  (void)n;
  if (isatty(STDIN_FILENO)) {
    std::string usage = UsageText();
    n = write(STDERR_FILENO, usage.data(), usage.size());
  }
  std::exit(kExitRefused);
}

int Run(int argc, char** argv) {
  Settings settings;
  std::string err;
  if (!ParseCommandLine(std::vector<std::string>(argv + 1, argv + argc), &settings, &err)) Die(err);
  if (settings.help) {
    std::fputs(UsageText().c_str(), stdout);
    return kExitOk;
  }

  // Only these variables are read: anything else could come from the client (AcceptEnv).
  const char* command_env = getenv("SSH_ORIGINAL_COMMAND");
  const std::string host = ClientHost(getenv("SSH_CONNECTION"));
  std::optional<std::string> command;
  if (command_env != nullptr) command = command_env;

  // DIR and the log file are relative to the login directory sshd starts us in.
  RealFilesystem fs;
  char cwd[4096];
  if (getcwd(cwd, sizeof(cwd)) == nullptr) Die("unable to read the login directory");
  DecisionInput input;
  input.settings = &settings;
  if (!ResolveRealPath(fs, cwd, settings.dir, &input.dir, &err) || !fs.IsDirectory(input.dir))
    Die("Restricted directory does not exist!");
  SessionLog log(settings.log_path);
  auto refuse = [&](const std::string& reason) {
    log.Refused(host, reason, command.value_or(""));
    Die(reason);
  };
  if (chdir(input.dir.c_str()) != 0)
    refuse(std::string("unable to chdir to restricted dir: ") + strerror(errno));

  std::string features_err;
  bool features_known = DetectRsyncFeatures(settings.rsync_path, &input.features, &features_err);
  input.command = command;
  Decision decision = Decide(input, fs);
  switch (decision.verdict) {
    case Verdict::kConnectivityCheck:
      return kExitOk;
    case Verdict::kProbe:
      // Tells rrsync-admin's probe that this login is held by rrsync, without naming DIR.
      std::printf("rrsync-probe ok version=%s mode=%s\n", RRSYNC_VERSION,
                  AccessName(settings.access));
      return kExitOk;
    case Verdict::kRefuse:
      refuse(decision.refusal);
    case Verdict::kRunRsync:
      break;
  }
  if (!features_known) refuse(features_err);
  const Request& request = decision.request;

  // The order matters: the lock comes before pinning, because pinning may create --partial-dir
  // and --backup-dir, which two concurrent pushes must not race on.
  UniqueFd lock;
  if (!settings.no_lock && LockDirectory(input.dir, &lock) == LockResult::kBusy)
    refuse("Another instance of rrsync is already accessing this directory.");

  PathPinner pinner(input.dir, request, ProcSelfFdWorks());
  std::vector<std::string> rsync_argv{settings.rsync_path};
  std::string refusal;
  if (!pinner.Pin(&rsync_argv, &refusal)) refuse(refusal);

  SandboxPlan plan;
  plan.dir = input.dir;
  plan.write = !request.sender;
  plan.devices = input.dir == "/";
  plan.rsync_path = settings.rsync_path;

  // Runs in the process that becomes rsync: confine, log, exec.
  auto start_rsync = [&]() {
    SandboxReport report;
    std::string sandbox_err;
    if (!EnterSandbox(plan, settings.sandbox, &report, &sandbox_err)) refuse(sandbox_err);
    std::string notes = "sandbox=" + (report.enforced ? "landlock-abi" + std::to_string(report.abi)
                                                      : std::string("off"));
    if (!report.rights.empty()) notes += " rights=" + report.rights;
    if (!report.warning.empty()) notes += " warning=" + report.warning;
    for (const std::string& option : request.omitted)
      notes += " omitted=" + option + "(rsync lacks it)";
    log.Accepted(host, rsync_argv, notes);
    std::string exec_err;
    ExecRsync(settings.rsync_path, rsync_argv, pinner.InheritedFds(), &exec_err);
    Die(exec_err);
  };
  // Nothing to hold: become rsync. Holding the lock: rsync runs as a child and we wait.
  if (!lock.valid()) start_rsync();
  return RunInChildAndWait(start_rsync);
}

}  // namespace
}  // namespace rrsync

int main(int argc, char** argv) { return rrsync::Run(argc, argv); }
