// Test launcher: confines itself with EnterSandbox the way rrsync does, then execs a program.
//
//   sandbox_exec --dir=DIR [--mode=auto|require|off] [--write|--read] [--devices] [--abi=N]
//                [--rsync=PATH] [--uid=N --gid=N] [--xattrs] [--no-syscall-filter]
//                [--no-namespaces] [--no-caps] [--print-rules] [--report] [--rsh] -- ARGS...
//
// --rsh makes it usable as rsync's -e program: rsync runs it as `PROG [-l USER] HOST rsync
// --server ...`; the host (and -l USER) are dropped and "rsync" becomes --rsync's PATH. Without
// --write/--read the direction follows the arguments (--sender: a pull). --abi plays an older
// kernel. --uid/--gid drop to that user first. --no-* turn one layer off. Like rrsync it chdirs
// into DIR and closes every descriptor above 2 before the exec; as root, like rrsync, it starts
// the program in the mount view as a child and waits for it. Exit status 125 when the sandbox
// refuses.
//
//   sandbox_exec --sshd-rrsync=RRSYNC [--rrsync-arg=ARG]... HOST COMMAND...
//
// plays sshd with a forced command instead, as rsync's -e program: joins COMMAND with spaces
// into SSH_ORIGINAL_COMMAND (as ssh does) and execs RRSYNC with the ARGs; rrsync then confines
// itself.
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "landlock_ruleset.h"
#include "runner.h"
#include "sandbox.h"
#include "unique_fd.h"

namespace {

int fake_abi = -1;
int FakeAbi() { return fake_abi; }

bool StartsWith(const std::string& s, const char* prefix) {
  return s.compare(0, strlen(prefix), prefix) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  rrsync::SandboxPlan plan;
  plan.rsync_path = "/usr/bin/rsync";
  rrsync::SandboxMode mode = rrsync::SandboxMode::kAuto;
  int direction = -1;  // -1: from the arguments
  bool rsh = false, print_rules = false, report_rights = false;
  std::string sshd_rrsync;
  std::vector<std::string> rrsync_args;
  long uid = -1, gid = -1;
  int i = 1;
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    } else if (StartsWith(arg, "--dir=")) {
      plan.dir = arg.substr(6);
    } else if (StartsWith(arg, "--mode=")) {
      if (!rrsync::ParseSandboxMode(arg.substr(7), &mode)) {
        std::fprintf(stderr, "sandbox_exec: bad mode %s\n", arg.c_str());
        return 2;
      }
    } else if (arg == "--write") {
      direction = 1;
    } else if (arg == "--read") {
      direction = 0;
    } else if (arg == "--devices") {
      plan.devices = true;
    } else if (StartsWith(arg, "--abi=")) {
      fake_abi = std::atoi(arg.c_str() + 6);
    } else if (StartsWith(arg, "--rsync=")) {
      plan.rsync_path = arg.substr(8);
    } else if (StartsWith(arg, "--uid=")) {
      uid = std::atol(arg.c_str() + 6);
    } else if (StartsWith(arg, "--gid=")) {
      gid = std::atol(arg.c_str() + 6);
    } else if (arg == "--no-socket-filter" || arg == "--no-syscall-filter") {
      plan.syscall_filter = false;
    } else if (arg == "--no-namespaces") {
      plan.use_namespaces = false;
    } else if (arg == "--no-caps") {
      plan.drop_capabilities = false;
    } else if (arg == "--xattrs") {
      plan.xattrs = true;
    } else if (StartsWith(arg, "--sshd-rrsync=")) {
      sshd_rrsync = arg.substr(14);
    } else if (StartsWith(arg, "--rrsync-arg=")) {
      rrsync_args.push_back(arg.substr(13));
    } else if (arg == "--rsh") {
      rsh = true;
    } else if (arg == "--print-rules") {
      print_rules = true;
    } else if (arg == "--report") {
      report_rights = true;
    } else {
      break;
    }
  }
  std::vector<std::string> args(argv + i, argv + argc);
  if (!sshd_rrsync.empty()) {
    if (args.size() >= 2 && args[0] == "-l") args.erase(args.begin(), args.begin() + 2);
    if (!args.empty()) args.erase(args.begin());  // the host
    std::string command;
    for (const std::string& a : args) command += (command.empty() ? "" : " ") + a;
    std::string env_command = "SSH_ORIGINAL_COMMAND=" + command;
    std::string env_connection = "SSH_CONNECTION=127.0.0.1 50000 127.0.0.1 22";
    char* envp[] = {env_command.data(), env_connection.data(), nullptr};
    std::vector<char*> rrsync_argv = {sshd_rrsync.data()};
    for (std::string& a : rrsync_args) rrsync_argv.push_back(a.data());
    rrsync_argv.push_back(nullptr);
    execve(sshd_rrsync.c_str(), rrsync_argv.data(), envp);
    std::fprintf(stderr, "sandbox_exec: Failed to execute \"%s\": %s\n", sshd_rrsync.c_str(),
                 std::strerror(errno));
    return 126;
  }
  if (rsh) {
    if (args.size() >= 2 && args[0] == "-l") args.erase(args.begin(), args.begin() + 2);
    if (!args.empty()) args.erase(args.begin());  // the host
    if (!args.empty()) args[0] = plan.rsync_path;
  } else if (!args.empty()) {
    plan.rsync_path = args[0];  // whatever runs is what the sandbox lets execute
  }
  if (direction < 0) {
    direction = 1;
    for (const std::string& a : args)
      if (a == "--sender") direction = 0;
  }
  plan.write = direction == 1;

  if (print_rules) {
    std::vector<rrsync::SandboxRule> rules;
    std::string err;
    if (!rrsync::PlanSandboxRules(plan, &rules, &err)) {
      std::fprintf(stderr, "sandbox_exec: %s\n", err.c_str());
      return 125;
    }
    for (const rrsync::SandboxRule& rule : rules)
      std::printf("%s\t%s\t%s\n", rule.path.c_str(), rrsync::FsAccessNames(rule.access).c_str(),
                  rule.reason.c_str());
    return 0;
  }
  if (args.empty()) {
    std::fprintf(stderr, "sandbox_exec: nothing to run\n");
    return 2;
  }
  if (gid >= 0 && (setgroups(0, nullptr) != 0 || setgid(static_cast<gid_t>(gid)) != 0)) {
    std::perror("sandbox_exec: setgid");
    return 125;
  }
  if (uid >= 0 && setuid(static_cast<uid_t>(uid)) != 0) {
    std::perror("sandbox_exec: setuid");
    return 125;
  }
  if (chdir(plan.dir.c_str()) != 0) {
    std::perror("sandbox_exec: chdir");
    return 125;
  }
  rrsync::SandboxReport report;
  std::string err;
  rrsync::PreparedSandbox prepared;
  if (!rrsync::PrepareSandbox(plan, mode, &prepared, &err,
                              fake_abi >= 0 ? FakeAbi : rrsync::ProbeLandlockAbi)) {
    std::fprintf(stderr, "sandbox_exec: %s\n", err.c_str());
    return 125;
  }
  if (prepared.uses_mount_view()) {
    // As rrsync does for root: the program runs as the first process of new namespaces, in the
    // mount view, and this process waits for it.
    rrsync::UniqueFd dir_fd(open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
    std::vector<std::string> ran;
    pid_t pid = rrsync::StartRsyncInView(
        args[0], dir_fd.get(), prepared,
        [&](std::vector<std::string>* argv, std::vector<int>* inherited, std::string*) {
          *argv = args;
          inherited->clear();
          return true;
        },
        &report, &ran, &err);
    if (pid < 0) {
      std::fprintf(stderr, "sandbox_exec: %s\n", err.c_str());
      return 125;
    }
    if (!report.warning.empty())
      std::fprintf(stderr, "sandbox_exec: warning: %s\n", report.warning.c_str());
    if (report_rights) std::fprintf(stderr, "sandbox_exec: %s\n", report.rights.c_str());
    rrsync::ForwardTerminationSignals(pid);
    return rrsync::WaitForChild(pid);
  }
  if (!rrsync::ApplySandbox(prepared, &report, &err)) {
    std::fprintf(stderr, "sandbox_exec: %s\n", err.c_str());
    return 125;
  }
  if (!report.warning.empty())
    std::fprintf(stderr, "sandbox_exec: warning: %s\n", report.warning.c_str());
  if (report_rights) std::fprintf(stderr, "sandbox_exec: %s\n", report.rights.c_str());
  // Descriptors opened before the restriction keep their access: none may reach the program.
  syscall(SYS_close_range, 3U, ~0U, 0U);
  std::vector<char*> exec_argv;
  for (std::string& a : args) exec_argv.push_back(a.data());
  exec_argv.push_back(nullptr);
  execv(exec_argv[0], exec_argv.data());
  std::fprintf(stderr, "sandbox_exec: Failed to execute \"%s\": %s\n", exec_argv[0],
               std::strerror(errno));
  return 126;
}
