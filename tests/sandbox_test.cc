// The Landlock sandbox: the rules it plans, the hostile stand-in confined in every direction and
// as root and an unprivileged user, real rsync confined (pull and push with the options that
// need each right), a symlink-swap race, the ABI fallbacks and the modes.
#include "sandbox.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "landlock_ruleset.h"
#include "process_account.h"
#include "sandbox_test_support.h"
#include "syscall_filter.h"

namespace rrsync {
namespace {

namespace fs = std::filesystem;
using namespace landlock;

const char kRsync[] = "/usr/bin/rsync";
// The prefix of the test user name (one account per test process).
const char kTestUser[] = "rrsync-sandbox-test";

bool KernelHasLandlock() { return QueryLandlockAbi(nullptr) > 0; }

#define SKIP_WITHOUT_LANDLOCK()                                              \
  do {                                                                       \
    if (!KernelHasLandlock()) GTEST_SKIP() << "this kernel has no Landlock"; \
  } while (0)

// The hostile stand-in's expectations are those of the full ruleset (scopes came with ABI 6).
#define SKIP_WITHOUT_FULL_LANDLOCK()                                                     \
  do {                                                                                   \
    if (QueryLandlockAbi(nullptr) < 6)                                                   \
      GTEST_SKIP() << "this kernel's Landlock ABI is below 6: no full ruleset to check"; \
  } while (0)

// Real rsync must work whatever the kernel enforces; insist on all of it where it exists.
std::string ModeForThisKernel() { return QueryLandlockAbi(nullptr) >= 6 ? "require" : "auto"; }

// ---------------------------------------------------------------------------------------------
// Helpers (the shared ones are in sandbox_test_support.h).

using sandbox_test::ChownTree;
using sandbox_test::Hex;
using sandbox_test::HostileFixture;
using sandbox_test::kAlwaysAllowed;
using sandbox_test::kEscapes;
using sandbox_test::kPushOnly;
using sandbox_test::ParseHostile;
using sandbox_test::ReadFile;
using sandbox_test::RunOptions;
using sandbox_test::RunProgram;
using sandbox_test::RunResult;
using sandbox_test::Snapshot;
using sandbox_test::TempDir;
using sandbox_test::WriteFile;

// The unprivileged user the tests drop to: this process's own (kTestUser-PID, see
// tests/accounts/process_account.h), created on first use and deleted at exit, so parallel test
// processes never share or delete each other's.
std::optional<passwd> TestUser() {
  std::string err;
  if (!test_accounts::EnsureProcessAccount(
          kTestUser, {"--system", "--no-create-home", "--shell", "/usr/sbin/nologin"},
          /*remove_home=*/false, &err)) {
    return std::nullopt;
  }
  if (passwd* pw = getpwnam(test_accounts::ProcessAccountName(kTestUser).c_str())) return *pw;
  return std::nullopt;
}

// The hostile stand-in expects to read /etc/passwd and /etc/group, which the sandbox grants by
// inode: no test process may rewrite them (useradd, userdel) while one of these tests runs.
class StableAccounts : public ::testing::Environment {
 public:
  void SetUp() override { test_accounts::HoldAccountsStable(); }
};
::testing::Environment* const kStableAccounts =
    ::testing::AddGlobalTestEnvironment(new StableAccounts);

// ---------------------------------------------------------------------------------------------
// The rules themselves.

TEST(ParseSandboxMode, AcceptsTheThreeModes) {
  SandboxMode mode = SandboxMode::kOff;
  EXPECT_TRUE(ParseSandboxMode("auto", &mode));
  EXPECT_EQ(mode, SandboxMode::kAuto);
  EXPECT_TRUE(ParseSandboxMode("require", &mode));
  EXPECT_EQ(mode, SandboxMode::kRequire);
  EXPECT_TRUE(ParseSandboxMode("off", &mode));
  EXPECT_EQ(mode, SandboxMode::kOff);
}

TEST(ParseSandboxMode, RejectsEverythingElse) {
  SandboxMode mode = SandboxMode::kRequire;
  for (const char* text : {"", "Auto", "on", "require ", "0", "false"})
    EXPECT_FALSE(ParseSandboxMode(text, &mode)) << text;
  EXPECT_EQ(mode, SandboxMode::kRequire);
}

TEST(LandlockAccess, EachAbiAddsWhatTheKernelDocumentationSays) {
  EXPECT_EQ(LandlockAccessForAbi(0), LandlockAccess());
  LandlockAccess v1 = LandlockAccessForAbi(1);
  EXPECT_EQ(v1.fs, (1ULL << 13) - 1);
  EXPECT_EQ(v1.net, 0u);
  EXPECT_EQ(LandlockAccessForAbi(2).fs, v1.fs | kFsRefer);
  EXPECT_EQ(LandlockAccessForAbi(3).fs, v1.fs | kFsRefer | kFsTruncate);
  EXPECT_EQ(LandlockAccessForAbi(3).net, 0u);
  EXPECT_EQ(LandlockAccessForAbi(4).net, kNetBindTcp | kNetConnectTcp);
  EXPECT_EQ(LandlockAccessForAbi(4).fs & kFsIoctlDev, 0u);
  EXPECT_EQ(LandlockAccessForAbi(5).fs & kFsIoctlDev, kFsIoctlDev);
  EXPECT_EQ(LandlockAccessForAbi(5).scoped, 0u);
  EXPECT_EQ(LandlockAccessForAbi(6).scoped, kScopeAbstractUnixSocket | kScopeSignal);
  EXPECT_EQ(LandlockAccessForAbi(6).restrict_flags, 0u);
  EXPECT_NE(LandlockAccessForAbi(7).restrict_flags, 0u);
  // A kernel newer than this code gets what this code knows, never bits it cannot name.
  EXPECT_EQ(LandlockAccessForAbi(42), LandlockAccessForAbi(7));
}

TEST(LandlockAccess, NamesTheBits) {
  EXPECT_EQ(FsAccessNames(kFsReadFile | kFsReadDir), "read_file,read_dir");
  EXPECT_EQ(FsAccessNames(0), "none");
  EXPECT_EQ(NetAccessNames(kNetBindTcp | kNetConnectTcp), "bind_tcp,connect_tcp");
  EXPECT_EQ(ScopeNames(kScopeSignal), "signal");
}

TEST(DirAccess, PullOnlyReads) {
  SandboxPlan plan{"/srv", false, false, kRsync};
  EXPECT_EQ(DirAccessForPlan(plan), kFsReadFile | kFsReadDir);
}

TEST(DirAccess, PullThatRemovesWhatItSentMayRemoveFilesOnly) {
  SandboxPlan plan{"/srv", false, false, kRsync};
  plan.remove_sent = true;
  EXPECT_EQ(FsAccessNames(DirAccessForPlan(plan)), "read_file,read_dir,remove_file");
}

TEST(DirAccess, PushGetsWhatRsyncNeedsButNoDevices) {
  SandboxPlan plan{"/srv", true, false, kRsync};
  EXPECT_EQ(FsAccessNames(DirAccessForPlan(plan)),
            "write_file,read_file,read_dir,remove_dir,remove_file,make_dir,make_reg,make_sock,"
            "make_fifo,make_sym,refer,truncate");
  EXPECT_EQ(DirAccessForPlan(plan) & kFsExecute, 0u);
  plan.devices = true;
  EXPECT_EQ(DirAccessForPlan(plan) & (kFsMakeChar | kFsMakeBlock), kFsMakeChar | kFsMakeBlock);
}

TEST(PlanSandboxRules, RefusesRelativePaths) {
  std::vector<SandboxRule> rules;
  std::string err;
  EXPECT_FALSE(PlanSandboxRules({"srv", false, false, kRsync}, &rules, &err));
  EXPECT_EQ(err, "Failed to plan the sandbox: the restricted directory \"srv\" is not absolute");
  EXPECT_FALSE(PlanSandboxRules({"/srv", false, false, "rsync"}, &rules, &err));
  EXPECT_EQ(err, "Failed to plan the sandbox: the rsync path \"rsync\" is not absolute");
}

TEST(PlanSandboxRules, RefusesARsyncThatIsNeitherElfNorAScript) {
  TempDir tmp;
  WriteFile(tmp / "rsync", "exec rsync\n");
  std::vector<SandboxRule> rules;
  std::string err;
  EXPECT_FALSE(PlanSandboxRules({tmp.path(), false, false, tmp / "rsync"}, &rules, &err));
  EXPECT_EQ(err, "Failed to read the ELF headers of \"" + (tmp / "rsync") +
                     "\": not an ELF file (the rsync to run must be an ELF binary or a #! script)");
}

// A wrapper: the script, its interpreter (an ELF binary, with its loader and libraries), what it
// declares it runs and /usr/bin/rsync may be executed; nothing else.
TEST(PlanSandboxRules, AWrapperScriptGetsItsInterpreterAndWhatItRuns) {
  TempDir tmp;
  WriteFile(tmp / "rsync", "#! /bin/sh -e\nexec nice -n 19 /usr/bin/rsync \"$@\"\n");
  SandboxPlan plan{"/srv/backup", false, false, tmp / "rsync"};
  plan.wrapper_exec = {"/usr/bin/nice"};
  std::vector<SandboxRule> rules;
  std::string err;
  ASSERT_TRUE(PlanSandboxRules(plan, &rules, &err)) << err;
  std::set<std::string> executable;
  for (const SandboxRule& rule : rules)
    if (rule.access & kFsExecute) executable.insert(fs::canonical(rule.path).string());
  RunResult readelf = RunProgram({"/usr/bin/readelf", "-l", kRsync});
  size_t at = readelf.out.find("[Requesting program interpreter: ");
  ASSERT_NE(at, std::string::npos);
  std::string interp = readelf.out.substr(at + 33, readelf.out.find(']', at) - at - 33);
  EXPECT_EQ(executable,
            (std::set<std::string>{
                fs::canonical(tmp / "rsync").string(), fs::canonical("/bin/sh").string(),
                fs::canonical("/usr/bin/nice").string(), fs::canonical(kRsync).string(),
                fs::canonical(interp).string()}));
}

// A wrapper's grants are Landlock rules of their own: reading, or reading and writing files and
// directories (no links, devices or cross-directory renames).
TEST(PlanSandboxRules, AWrappersGrantsAreRulesOfTheirOwn) {
  TempDir tmp;
  fs::create_directories(tmp / "ro");
  fs::create_directories(tmp / "rw");
  SandboxPlan plan{"/srv/backup", false, false, kRsync};
  plan.wrapper_read = {tmp / "ro"};
  plan.wrapper_write = {tmp / "rw"};
  std::vector<SandboxRule> rules;
  std::string err;
  ASSERT_TRUE(PlanSandboxRules(plan, &rules, &err)) << err;
  std::map<std::string, uint64_t> access;
  for (const SandboxRule& rule : rules) access[rule.path] |= rule.access;
  EXPECT_EQ(access[tmp / "ro"], kFsReadFile | kFsReadDir);
  EXPECT_EQ(access[tmp / "rw"], kFsReadFile | kFsReadDir | kFsWriteFile | kFsTruncate |
                                    kFsMakeReg | kFsMakeDir | kFsRemoveFile | kFsRemoveDir);
}

// Where a grant may lie relative to DIR, for each direction and with or without the view.
TEST(CheckWrapperGrants, RefusesWhatWouldWidenDir) {
  TempDir tmp;
  const std::string top = fs::canonical(tmp.path()).string();
  fs::create_directories(top + "/dir/sub");
  fs::create_directories(top + "/logs");
  struct Case {
    std::vector<std::string> read, write;
    bool push, view, snapshots;
    std::string err;  // empty: accepted
  };
  const std::string dir = top + "/dir";
  auto fail = [](const std::string& path, const char* flag, const std::string& why) {
    return "Failed to grant the wrapper \"" + path + "\" (" + flag + "): " + why;
  };
  const Case cases[] = {
      {{top + "/logs"}, {top + "/logs"}, false, false, false, ""},
      {{}, {dir}, true, true, false,
       fail(dir, "-wrapper-write", "it is DIR or lies inside it, where the key's rights alone "
                                   "decide")},
      {{dir + "/sub"}, {}, false, true, false,
       fail(dir + "/sub", "-wrapper-read", "it is DIR or lies inside it, where the key's rights "
                                           "alone decide")},
      {{top}, {}, false, false, false, ""},  // reading DIR is what every transfer does
      {{}, {top}, false, true, false, ""},   // the view keeps a pull's DIR read-only
      {{}, {top}, true, true, false, ""},
      {{}, {top}, true, false, false,
       fail(top, "-wrapper-write", "it holds DIR, and without the mount view (root only) rsync "
                                   "could replace DIR's name for later sessions")},
      {{top}, {}, true, true, true,
       fail(top, "-wrapper-read", "it holds DIR, which holds the earlier snapshots")},
  };
  for (const Case& c : cases) {
    SandboxPlan plan{dir, c.push, false, kRsync};
    plan.wrapper_read = c.read;
    plan.wrapper_write = c.write;
    if (c.snapshots) plan.key_dir = dir;
    std::string err;
    EXPECT_EQ(CheckWrapperGrants(plan, c.view, &err), c.err.empty()) << err;
    EXPECT_EQ(err, c.err);
  }
}

TEST(PlanSandboxRules, RefusesAScriptWhoseInterpreterIsRelativeOrTooDeep) {
  TempDir tmp;
  WriteFile(tmp / "rsync", "#!sh\n");
  std::vector<SandboxRule> rules;
  std::string err;
  EXPECT_FALSE(PlanSandboxRules({tmp.path(), false, false, tmp / "rsync"}, &rules, &err));
  EXPECT_EQ(err, "Failed to use the #! script \"" + (tmp / "rsync") +
                     "\": its interpreter \"sh\" is not an absolute path");
  // Five scripts, each the interpreter of the one before: the kernel stops at four.
  for (int i = 0; i < 5; ++i)
    WriteFile(tmp / ("s" + std::to_string(i)), "#!" + (tmp / ("s" + std::to_string(i + 1))) + "\n");
  WriteFile(tmp / "s5", "#!/bin/sh\n");
  EXPECT_FALSE(PlanSandboxRules({tmp.path(), false, false, tmp / "s0"}, &rules, &err));
  EXPECT_EQ(
      err, "Failed to use the #! script \"" + (tmp / "s4") + "\": too many levels of interpreters");
}

// What the rules grant outside DIR: execute only rsync and its loader, read only system files.
TEST(PlanSandboxRules, GrantsOnlyRsyncAndItsSystemFiles) {
  std::vector<SandboxRule> rules;
  std::string err;
  ASSERT_TRUE(PlanSandboxRules({"/srv/backup", false, false, kRsync}, &rules, &err)) << err;
  ASSERT_GE(rules.size(), 4u);
  EXPECT_EQ(rules[0].path, "/srv/backup");
  EXPECT_EQ(rules[0].access, kFsReadFile | kFsReadDir);
  std::set<std::string> executable;
  for (const SandboxRule& rule : rules) {
    if (rule.access & kFsExecute) executable.insert(fs::canonical(rule.path).string());
    if (&rule == &rules[0]) continue;
    // Nothing but reading (and executing rsync and its loader) outside DIR.
    EXPECT_EQ(rule.access & ~(kFsReadFile | kFsExecute), 0u) << rule.path;
    EXPECT_FALSE(rule.reason.empty()) << rule.path;
    // No rule may cover secrets, homes or scratch space.
    for (const char* forbidden : {"/etc/shadow", "/root/x", "/home/x", "/tmp/x", "/var/tmp/x",
                                  "/etc/ssh/ssh_host_ed25519_key", "/proc/1/environ"}) {
      std::string p = fs::path(rule.path).lexically_normal().string();
      std::string f = forbidden;
      EXPECT_FALSE(f == p || f.starts_with(p == "/" ? p : p + "/"))
          << rule.path << " covers " << forbidden;
    }
  }
  // The loader really is rsync's PT_INTERP: readelf agrees.
  RunResult readelf = RunProgram({"/usr/bin/readelf", "-l", kRsync});
  size_t at = readelf.out.find("[Requesting program interpreter: ");
  ASSERT_NE(at, std::string::npos);
  std::string interp = readelf.out.substr(at + 33, readelf.out.find(']', at) - at - 33);
  EXPECT_EQ(executable, (std::set<std::string>{fs::canonical(kRsync).string(),
                                               fs::canonical(interp).string()}));
}

// Every library the loader maps for rsync lies beneath a rule: ldd (which runs the loader in
// trace mode) must agree with what the ELF walk found.
TEST(PlanSandboxRules, CoversEveryLibraryLddReports) {
  std::vector<SandboxRule> rules;
  std::string err;
  ASSERT_TRUE(PlanSandboxRules({"/srv", false, false, kRsync}, &rules, &err)) << err;
  RunResult ldd = RunProgram({"/usr/bin/ldd", kRsync});
  ASSERT_EQ(ldd.status, 0) << ldd.err;
  std::istringstream lines(ldd.out);
  std::string line;
  int checked = 0;
  while (std::getline(lines, line)) {
    size_t arrow = line.find("=> /");
    if (arrow == std::string::npos) continue;
    std::string lib = line.substr(arrow + 3, line.find(" (", arrow) - arrow - 3);
    std::string real = fs::canonical(lib).string();
    bool covered = false;
    for (const SandboxRule& rule : rules)
      if ((rule.access & kFsReadFile) && rule.path != "/srv" &&
          (real == rule.path || real.starts_with(rule.path + "/")))
        covered = true;
    EXPECT_TRUE(covered) << real;
    ++checked;
  }
  EXPECT_GE(checked, 3);
}

// ---------------------------------------------------------------------------------------------
// EnterSandbox in a forked child: the modes, the ABI fallbacks, the exact messages.

struct ChildOutcome {
  bool ok = false;
  std::string err;
  std::string warning;
  bool enforced = false;
  int abi = -1;
  bool no_new_privs = false;
  std::string rights;
};

// Runs EnterSandbox in a forked (single-threaded) child and brings its outcome back.
ChildOutcome EnterInChild(const SandboxPlan& plan, SandboxMode mode, LandlockAbiProbe probe) {
  int fds[2];
  EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
  pid_t pid = fork();
  if (pid == 0) {
    SandboxReport report;
    std::string err;
    bool ok = EnterSandbox(plan, mode, &report, &err, probe);
    std::string msg = std::string(ok ? "1" : "0") + (report.enforced ? "1" : "0") +
                      (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? "1" : "0") +
                      std::to_string(report.abi) + "\n" + err + "\n" + report.warning + "\n" +
                      report.rights + "\n";
    (void)!write(fds[1], msg.data(), msg.size());
    _exit(0);
  }
  close(fds[1]);
  std::string msg;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) > 0) msg.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  waitpid(pid, nullptr, 0);
  ChildOutcome outcome;
  std::istringstream in(msg);
  std::string head;
  std::getline(in, head);
  if (head.size() < 4) return outcome;
  outcome.ok = head[0] == '1';
  outcome.enforced = head[1] == '1';
  outcome.no_new_privs = head[2] == '1';
  outcome.abi = std::atoi(head.c_str() + 3);
  std::getline(in, outcome.err);
  std::getline(in, outcome.warning);
  std::getline(in, outcome.rights);
  return outcome;
}

int NoLandlock() { return 0; }
int Abi1() { return 1; }
int Abi3() { return 3; }
int Abi5() { return 5; }

SandboxPlan PlanFor(const std::string& dir, bool write) {
  return SandboxPlan{dir, write, false, kRsync};
}

TEST(EnterSandbox, RequireRefusesWithoutLandlock) {
  TempDir dir;
  ChildOutcome o = EnterInChild(PlanFor(dir.path(), false), SandboxMode::kRequire, NoLandlock);
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.err, "Landlock is not available on this kernel and -sandbox=require is set");
}

TEST(EnterSandbox, AutoRunsUnconfinedWithAWarningWithoutLandlock) {
  TempDir dir;
  ChildOutcome o = EnterInChild(PlanFor(dir.path(), true), SandboxMode::kAuto, NoLandlock);
  EXPECT_TRUE(o.ok) << o.err;
  EXPECT_FALSE(o.enforced);
  EXPECT_TRUE(o.no_new_privs);
  EXPECT_EQ(o.warning, "Landlock is not available on this kernel: rsync runs unconfined");
}

TEST(EnterSandbox, OffConfinesNothingButSetsNoNewPrivs) {
  TempDir dir;
  ChildOutcome o = EnterInChild(PlanFor(dir.path(), true), SandboxMode::kOff, ProbeLandlockAbi);
  EXPECT_TRUE(o.ok) << o.err;
  EXPECT_FALSE(o.enforced);
  EXPECT_TRUE(o.no_new_privs);
  EXPECT_EQ(o.warning, "");
}

TEST(EnterSandbox, PushOnAbi1IsRefusedEvenInAuto) {
  SKIP_WITHOUT_LANDLOCK();
  TempDir dir;
  for (SandboxMode mode : {SandboxMode::kAuto, SandboxMode::kRequire}) {
    ChildOutcome o = EnterInChild(PlanFor(dir.path(), true), mode, Abi1);
    EXPECT_FALSE(o.ok);
    EXPECT_EQ(o.err,
              "Landlock ABI 1 cannot allow the cross-directory renames a push needs (REFER); "
              "refusing the push");
  }
}

TEST(EnterSandbox, PullOnAbi1IsEnforcedWithAWarningInAuto) {
  SKIP_WITHOUT_LANDLOCK();
  TempDir dir;
  ChildOutcome o = EnterInChild(PlanFor(dir.path(), false), SandboxMode::kAuto, Abi1);
  EXPECT_TRUE(o.ok) << o.err;
  EXPECT_TRUE(o.enforced);
  EXPECT_EQ(o.abi, 1);
  EXPECT_EQ(o.warning,
            "Landlock ABI 1 lacks fs refer,truncate,ioctl_dev; net bind_tcp,connect_tcp; scopes "
            "abstract_unix_socket,signal: those stay unrestricted");
}

TEST(EnterSandbox, RequireRefusesAKernelThatCannotEnforceEverything) {
  SKIP_WITHOUT_LANDLOCK();
  TempDir dir;
  ChildOutcome o = EnterInChild(PlanFor(dir.path(), true), SandboxMode::kRequire, Abi3);
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.err,
            "Landlock ABI 3 cannot enforce the full ruleset (lacks fs ioctl_dev; net "
            "bind_tcp,connect_tcp; scopes abstract_unix_socket,signal) and -sandbox=require is "
            "set");
  o = EnterInChild(PlanFor(dir.path(), true), SandboxMode::kRequire, Abi5);
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.err,
            "Landlock ABI 5 cannot enforce the full ruleset (lacks scopes "
            "abstract_unix_socket,signal) and -sandbox=require is set");
}

TEST(EnterSandbox, RequireEnforcesOnThisKernel) {
  SKIP_WITHOUT_LANDLOCK();
  if (QueryLandlockAbi(nullptr) < 6) GTEST_SKIP() << "this kernel's Landlock ABI is below 6";
  TempDir dir;
  ChildOutcome o = EnterInChild(PlanFor(dir.path(), true), SandboxMode::kRequire, ProbeLandlockAbi);
  EXPECT_TRUE(o.ok) << o.err;
  EXPECT_TRUE(o.enforced);
  EXPECT_TRUE(o.no_new_privs);
  EXPECT_EQ(o.warning, "");
  // What is logged with the session: the rights actually in force.
  EXPECT_TRUE(o.rights.starts_with("landlock abi " + std::to_string(QueryLandlockAbi(nullptr)) +
                                   "; dir " + dir.path() +
                                   ": write_file,read_file,read_dir,remove_dir,remove_file,"
                                   "make_dir,make_reg,make_sock,make_fifo,make_sym,refer,"
                                   "truncate; "))
      << o.rights;
  EXPECT_TRUE(o.rights.ends_with(
      "; denied net: bind_tcp,connect_tcp; scoped: "
      "abstract_unix_socket,signal; caps: " +
      std::string(geteuid() == 0 ? "chown,dac_override,dac_read_search,fowner,fsetid" : "none") +
      "; seccomp: deny-list of " + std::to_string(BuildSyscallFilter().denied_calls) +
      " calls, 13 checked on their arguments, 8 ioctls and btrfs's; namespaces: none"))
      << o.rights;
}

// rrsync prepares before it forks and applies in the child: the child is confined, the parent
// that prepared is not, and a prepared sandbox that is never applied restricts nothing.
TEST(PrepareSandbox, OnlyTheProcessThatAppliesIsConfined) {
  SKIP_WITHOUT_LANDLOCK();
  TempDir dir;
  TempDir outside;
  WriteFile(outside / "secret", "s");
  PreparedSandbox prepared;
  std::string err;
  ASSERT_TRUE(PrepareSandbox(PlanFor(dir.path(), false), SandboxMode::kRequire, &prepared, &err))
      << err;
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  pid_t pid = fork();
  if (pid == 0) {
    SandboxReport report;
    std::string child_err;
    bool ok = ApplySandbox(prepared, &report, &child_err);
    int inside = open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int denied = open((outside / "secret").c_str(), O_RDONLY | O_CLOEXEC);
    std::string msg = std::string(ok && report.enforced ? "applied" : "failed: " + child_err) +
                      (inside >= 0 ? " inside-ok" : " inside-denied") +
                      (denied < 0 && errno == EACCES ? " outside-denied" : " outside-ok");
    (void)!write(fds[1], msg.data(), msg.size());
    _exit(0);
  }
  close(fds[1]);
  std::string msg;
  char buf[256];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) > 0) msg.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  waitpid(pid, nullptr, 0);
  EXPECT_EQ(msg, "applied inside-ok outside-denied");
  // This process prepared the same sandbox and still reads outside DIR.
  int fd = open((outside / "secret").c_str(), O_RDONLY | O_CLOEXEC);
  EXPECT_GE(fd, 0) << strerror(errno);
  if (fd >= 0) close(fd);
  EXPECT_EQ(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 0);
}

TEST(EnterSandbox, RefusesWhenAnotherThreadRuns) {
  TempDir dir;
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  pid_t pid = fork();
  if (pid == 0) {
    std::atomic<bool> stop{false};
    std::thread spinner([&] {
      while (!stop) usleep(1000);
    });
    SandboxReport report;
    std::string err;
    bool ok = EnterSandbox(PlanFor(dir.path(), false), SandboxMode::kAuto, &report, &err);
    stop = true;
    spinner.join();
    std::string msg = (ok ? "ok" : err);
    (void)!write(fds[1], msg.data(), msg.size());
    _exit(0);
  }
  close(fds[1]);
  char buf[512] = {};
  (void)!read(fds[0], buf, sizeof(buf) - 1);
  close(fds[0]);
  waitpid(pid, nullptr, 0);
  EXPECT_STREQ(buf,
               "Failed to enter the sandbox: 2 threads are running and Landlock confines only "
               "the calling one");
}

// ---------------------------------------------------------------------------------------------
// The hostile stand-in.

// `expect_pins`: rrsync hands rsync /proc/self/fd/N spellings of the paths it pinned; each must
// still open inside the sandbox.
void ExpectConfined(const RunResult& run, bool write, bool expect_pins = false) {
  ASSERT_EQ(run.status, 0) << run.out << run.err;
  std::map<std::string, std::string> expected;
  for (const std::string& name : kAlwaysAllowed) expected[name] = "ALLOWED";
  for (const std::string& name : kPushOnly) expected[name] = write ? "ALLOWED" : "DENIED";
  for (const std::string& name : kEscapes) expected[name] = "DENIED";
  std::vector<std::string> pins;
  EXPECT_EQ(ParseHostile(run.out, &pins), expected) << run.out << run.err;
  for (const std::string& pin : pins) EXPECT_TRUE(pin.ends_with(" ALLOWED")) << pin;
  if (expect_pins) {
    EXPECT_FALSE(pins.empty()) << run.out;
  }
}

struct HostileCase {
  bool write;
  bool as_user;
};

void PrintTo(const HostileCase& c, std::ostream* os) {
  *os << (c.write ? "push" : "pull") << (c.as_user ? " as user" : " as root");
}

std::string CaseName(const testing::TestParamInfo<HostileCase>& info) {
  return std::string(info.param.write ? "Push" : "Pull") +
         (info.param.as_user ? "AsUser" : "AsRoot");
}

class HostileThroughLauncher : public testing::TestWithParam<HostileCase> {};

TEST_P(HostileThroughLauncher, EveryEscapeDeniedEveryLegitimateActionWorks) {
  SKIP_WITHOUT_FULL_LANDLOCK();
  std::optional<passwd> user;
  RunOptions options;
  if (GetParam().as_user) {
    user = TestUser();
    if (!user) GTEST_SKIP() << "could not create the user " << kTestUser;
    options.uid = user->pw_uid;
    options.gid = user->pw_gid;
  }
  HostileFixture fixture(user);
  RunResult run = RunProgram({SANDBOX_EXEC, "--dir=" + fixture.dir(),
                              GetParam().write ? "--write" : "--read", "--", HOSTILE_RSYNC},
                             options);
  ExpectConfined(run, GetParam().write);
  fixture.ExpectOutsideUntouched();
}

INSTANTIATE_TEST_SUITE_P(Sandbox, HostileThroughLauncher,
                         testing::Values(HostileCase{false, false}, HostileCase{true, false},
                                         HostileCase{false, true}, HostileCase{true, true}),
                         CaseName);

// The control: unconfined, the same attempts succeed, so the denials above are Landlock's and
// not the test setup's (as the unprivileged user too: the outside tree is that user's).
TEST(HostileThroughLauncher, SandboxOffRunsUnconfined) {
  for (bool as_user : {false, true}) {
    std::optional<passwd> user;
    RunOptions options;
    if (as_user) {
      user = TestUser();
      if (!user) GTEST_SKIP() << "could not create the user " << kTestUser;
      options.uid = user->pw_uid;
      options.gid = user->pw_gid;
    }
    HostileFixture fixture(user);
    RunResult run = RunProgram(
        {SANDBOX_EXEC, "--dir=" + fixture.dir(), "--mode=off", "--write", "--", HOSTILE_RSYNC},
        options);
    ASSERT_EQ(run.status, 0) << run.err;
    std::map<std::string, std::string> results = ParseHostile(run.out);
    for (const char* name :
         {"read-outside-abs", "read-outside-symlink", "list-outside", "read-proc-fd",
          "write-outside", "create-outside", "link-from-outside", "unlink-outside",
          "mkfifo-outside", "tcp-connect", "tcp-bind", "udp-send", "abstract-unix-connect",
          "unix-connect-outside", "exec-sh"})
      EXPECT_EQ(results[name], "ALLOWED") << name << (as_user ? " as user" : " as root");
    if (!as_user) {
      EXPECT_EQ(results["read-shadow"], "ALLOWED");
      EXPECT_EQ(results["signal-parent"], "ALLOWED");
    }
  }
}

// An older kernel, played for real by cutting the rights to its ABI: what it cannot handle
// stays open and the warning says so; files stay confined.
TEST(HostileThroughLauncher, Abi3LeavesTcpOpenButFilesConfined) {
  SKIP_WITHOUT_LANDLOCK();
  HostileFixture fixture(std::nullopt);
  RunResult run = RunProgram({SANDBOX_EXEC, "--dir=" + fixture.dir(), "--abi=3",
                              "--no-socket-filter", "--write", "--", HOSTILE_RSYNC});
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_NE(run.err.find("sandbox_exec: warning: Landlock ABI 3 lacks fs ioctl_dev; net "
                         "bind_tcp,connect_tcp; scopes abstract_unix_socket,signal: those stay "
                         "unrestricted"),
            std::string::npos)
      << run.err;
  std::map<std::string, std::string> results = ParseHostile(run.out);
  EXPECT_EQ(results["tcp-connect"], "ALLOWED");
  EXPECT_EQ(results["abstract-unix-connect"], "ALLOWED");
  EXPECT_EQ(results["read-outside-abs"], "DENIED");
  EXPECT_EQ(results["rename-inside"], "ALLOWED");
  EXPECT_EQ(results["truncate-inside"], "ALLOWED");
  fixture.ExpectOutsideUntouched();
}

// Landlock on its own (the socket filter off): TCP and abstract sockets are its to deny.
TEST(HostileThroughLauncher, LandlockAloneDeniesTcpAndAbstractSockets) {
  SKIP_WITHOUT_LANDLOCK();
  if (QueryLandlockAbi(nullptr) < 6) GTEST_SKIP() << "this kernel's Landlock ABI is below 6";
  HostileFixture fixture(std::nullopt);
  RunResult run = RunProgram({SANDBOX_EXEC, "--dir=" + fixture.dir(), "--no-socket-filter",
                              "--read", "--", HOSTILE_RSYNC});
  ASSERT_EQ(run.status, 0) << run.err;
  std::map<std::string, std::string> results = ParseHostile(run.out);
  EXPECT_EQ(results["tcp-connect"], "DENIED");
  EXPECT_EQ(results["tcp-bind"], "DENIED");
  EXPECT_EQ(results["abstract-unix-connect"], "DENIED");
  EXPECT_EQ(results["read-outside-abs"], "DENIED");
}

// Without Landlock and without the mount view (a non-root account's case), auto mode still puts
// the system-call filter in place.
TEST(HostileThroughLauncher, AutoWithoutLandlockStillDeniesSockets) {
  HostileFixture fixture(std::nullopt);
  RunResult run = RunProgram({SANDBOX_EXEC, "--dir=" + fixture.dir(), "--abi=0", "--no-namespaces",
                              "--read", "--", HOSTILE_RSYNC});
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.err,
            "sandbox_exec: warning: Landlock is not available on this kernel: rsync runs "
            "unconfined\n");
  std::map<std::string, std::string> results = ParseHostile(run.out);
  EXPECT_EQ(results["read-outside-abs"], "ALLOWED");
  for (const char* name :
       {"tcp-connect", "tcp-bind", "udp-send", "abstract-unix-connect", "unix-connect-outside"})
    EXPECT_EQ(results[name], "DENIED") << name;
}

TEST(HostileThroughLauncher, RequireRefusesWithoutLandlockOrTheMountView) {
  HostileFixture fixture(std::nullopt);
  RunResult run = RunProgram({SANDBOX_EXEC, "--dir=" + fixture.dir(), "--abi=0", "--no-namespaces",
                              "--mode=require", "--read", "--", HOSTILE_RSYNC});
  EXPECT_EQ(run.status, 125);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err,
            "sandbox_exec: Landlock is not available on this kernel and -sandbox=require is "
            "set\n");
}

// As root on a kernel without Landlock (played), the mount view, the capabilities and the
// system-call filter hold the line on their own, so require accepts: every escape is denied
// (/tmp lists only the view's own directory on the way to DIR: list-tmp finds no other name).
TEST(HostileThroughLauncher, AsRootWithoutLandlockTheMountViewHoldsTheLine) {
  if (geteuid() != 0) GTEST_SKIP() << "the mount view is for root";
  HostileFixture fixture(std::nullopt);
  for (const char* direction : {"--read", "--write"}) {
    RunResult run = RunProgram({SANDBOX_EXEC, "--dir=" + fixture.dir(), "--abi=0", "--mode=require",
                                direction, "--", HOSTILE_RSYNC});
    ASSERT_EQ(run.status, 0) << run.err;
    EXPECT_EQ(run.err,
              "sandbox_exec: warning: Landlock is not available on this kernel: the mount view, "
              "the capabilities and the system-call policy confine rsync\n");
    std::map<std::string, std::string> results = ParseHostile(run.out);
    for (const std::string& name : kEscapes)
      EXPECT_EQ(results[name], "DENIED") << name << " " << direction;
    const bool write = std::string(direction) == "--write";
    for (const std::string& name : kPushOnly)
      EXPECT_EQ(results[name], write ? "ALLOWED" : "DENIED") << name << " " << direction;
    fixture.ExpectOutsideUntouched();
  }
}

// Through the real rrsync: sshd's SSH_ORIGINAL_COMMAND, -rsync=<hostile stand-in>.
#ifdef RRSYNC_BINARY
bool RrsyncHasSandboxFlags() { return sandbox_test::RrsyncHasSandboxFlags(RRSYNC_BINARY); }

struct RrsyncCase {
  const char* flag;  // -ro, -wo or "" (read-write)
  bool push;
  bool as_user;
};

void PrintTo(const RrsyncCase& c, std::ostream* os) {
  *os << (*c.flag ? c.flag : "read-write") << (c.push ? " push" : " pull")
      << (c.as_user ? " as user" : " as root");
}

class HostileThroughRrsync : public testing::TestWithParam<RrsyncCase> {};

RunResult RunRrsync(const std::vector<std::string>& flags, const std::string& dir, bool push,
                    const RunOptions& base = {}) {
  return sandbox_test::RunRrsync(RRSYNC_BINARY, flags, dir, push, base);
}

TEST_P(HostileThroughRrsync, EveryEscapeDeniedEveryLegitimateActionWorks) {
  SKIP_WITHOUT_FULL_LANDLOCK();
  if (!RrsyncHasSandboxFlags()) GTEST_SKIP() << "rrsync lacks -rsync= and -sandbox=";
  const RrsyncCase& c = GetParam();
  std::optional<passwd> user;
  RunOptions options;
  if (c.as_user) {
    user = TestUser();
    if (!user) GTEST_SKIP() << "could not create the user " << kTestUser;
    options.uid = user->pw_uid;
    options.gid = user->pw_gid;
  }
  HostileFixture fixture(user);
  std::vector<std::string> flags = {std::string("-rsync=") + HOSTILE_RSYNC, "-sandbox=require"};
  if (*c.flag) flags.push_back(c.flag);
  RunResult run = RunRrsync(flags, fixture.dir(), c.push, options);
  ExpectConfined(run, c.push, /*expect_pins=*/true);
  fixture.ExpectOutsideUntouched();
}

std::string RrsyncCaseName(const testing::TestParamInfo<RrsyncCase>& info) {
  std::string flag = *info.param.flag ? std::string(info.param.flag + 1) : "rw";
  for (char& ch : flag) ch = static_cast<char>(toupper(ch));
  return flag + (info.param.push ? "Push" : "Pull") + (info.param.as_user ? "AsUser" : "AsRoot");
}

INSTANTIATE_TEST_SUITE_P(Sandbox, HostileThroughRrsync,
                         testing::Values(RrsyncCase{"-ro", false, false},
                                         RrsyncCase{"-wo", true, false},
                                         RrsyncCase{"", false, false}, RrsyncCase{"", true, false},
                                         RrsyncCase{"-ro", false, true},
                                         RrsyncCase{"-wo", true, true}, RrsyncCase{"", false, true},
                                         RrsyncCase{"", true, true}),
                         RrsyncCaseName);

TEST(HostileThroughRrsync, SandboxOffRunsUnconfined) {
  if (!RrsyncHasSandboxFlags()) GTEST_SKIP() << "rrsync lacks -rsync= and -sandbox=";
  HostileFixture fixture(std::nullopt);
  RunResult run = RunRrsync({std::string("-rsync=") + HOSTILE_RSYNC, "-sandbox=off", "-ro"},
                            fixture.dir(), false);
  ASSERT_EQ(run.status, 0) << run.err;
  std::map<std::string, std::string> results = ParseHostile(run.out);
  EXPECT_EQ(results["read-outside-abs"], "ALLOWED");
  EXPECT_EQ(results["write-outside"], "ALLOWED");
  EXPECT_EQ(results["tcp-connect"], "ALLOWED");
  EXPECT_EQ(results["exec-sh"], "ALLOWED");
}
#endif  // RRSYNC_BINARY

// ---------------------------------------------------------------------------------------------
// Real rsync confined, with the real rsync client at the other end (-e runs the launcher).

class RealRsync : public testing::Test {
 protected:
  void SetUp() override {
    // A push needs REFER (ABI 2); below that it is refused by design.
    if (QueryLandlockAbi(nullptr) < 2) GTEST_SKIP() << "this kernel's Landlock lacks REFER";
    src_ = tmp_ / "src";
    dst_ = tmp_ / "dst";
    fs::create_directories(src_);
    fs::create_directories(dst_);
  }

  // rsync -e "<launcher> --dir=DIR --rsh [extra]": the server end runs confined to DIR.
  std::string Rsh(const std::string& dir, const std::string& extra = "") const {
    return std::string(SANDBOX_EXEC) + " --dir=" + dir + " --mode=" + ModeForThisKernel() +
           " --rsh" + (extra.empty() ? "" : " " + extra);
  }

  RunResult Push(const std::vector<std::string>& options, const std::string& dir,
                 const std::string& target, const RunOptions& run_options = {}) {
    std::vector<std::string> argv = {kRsync, "-e", Rsh(dir)};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.push_back(src_ + "/");
    argv.push_back("x:" + target);
    return RunProgram(argv, run_options);
  }

  RunResult Pull(const std::vector<std::string>& options, const std::string& dir,
                 const std::string& source, const std::string& local) {
    std::vector<std::string> argv = {kRsync, "-e", Rsh(dir)};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.push_back("x:" + source);
    argv.push_back(local);
    return RunProgram(argv);
  }

  // A tree with everything -aHAXS carries.
  void MakeRichTree(const std::string& root) {
    fs::create_directories(root + "/d/e");
    WriteFile(root + "/a.txt", "alpha\n");
    WriteFile(root + "/d/e/deep.txt", "deep\n");
    link((root + "/a.txt").c_str(), (root + "/d/hard.txt").c_str());
    symlink("a.txt", (root + "/sym").c_str());
    symlink("/etc/passwd", (root + "/abs-sym").c_str());
    int fd = open((root + "/sparse").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    pwrite(fd, "end", 3, 8 << 20);
    close(fd);
    mkfifo((root + "/fifo").c_str(), 0640);
    // A unix socket file: -a includes --specials, and rsync makes it with mknodat (MAKE_SOCK).
    int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    strncpy(addr.sun_path, (root + "/sock").c_str(), sizeof(addr.sun_path) - 1);
    ASSERT_EQ(bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    close(sock);
    ASSERT_EQ(RunProgram({"/usr/bin/setfacl", "-m", "u:nobody:r", root + "/a.txt"}).status, 0);
    ASSERT_EQ(RunProgram({"/usr/bin/setfacl", "-m", "d:u:nobody:rx", root + "/d"}).status, 0);
    ASSERT_EQ(
        RunProgram({"/usr/bin/setfattr", "-n", "user.color", "-v", "blue", root + "/a.txt"}).status,
        0);
    chown((root + "/d/e/deep.txt").c_str(), 65534, 65534);
    chmod((root + "/d/e").c_str(), 0750);
  }

  static bool IsSparse(const std::string& path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 && st.st_blocks * 512 < st.st_size / 2;
  }

  TempDir tmp_;
  std::string src_, dst_;
};

TEST_F(RealRsync, PushAHAXSKeepsEverything) {
  MakeRichTree(src_);
  RunResult run = Push({"-aHAXS"}, dst_, dst_ + "/");
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(Snapshot(dst_), Snapshot(src_));
  EXPECT_TRUE(IsSparse(dst_ + "/sparse"));
  EXPECT_NE(Snapshot(dst_)["a.txt"].find("system.posix_acl_access="), std::string::npos)
      << Snapshot(dst_)["a.txt"];
  EXPECT_NE(Snapshot(dst_)["a.txt"].find("user.color=" + Hex("blue")), std::string::npos);
}

TEST_F(RealRsync, PullAHAXSKeepsEverything) {
  MakeRichTree(dst_);  // the server's DIR is dst_, the client receives into src_
  RunResult run = Pull({"-aHAXS"}, dst_, dst_ + "/", src_ + "/");
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(Snapshot(src_), Snapshot(dst_));
  EXPECT_TRUE(IsSparse(src_ + "/sparse"));
}

TEST_F(RealRsync, PullOfSymlinkToOutsideCopiesTheLinkAndCopyLinksFails) {
  TempDir outside;
  WriteFile(outside / "secret", "SECRET\n");
  fs::create_directories(dst_ + "/tree");
  WriteFile(dst_ + "/tree/ok", "ok\n");
  symlink(outside.path().c_str(), (dst_ + "/tree/out").c_str());
  RunResult run = Pull({"-a"}, dst_, dst_ + "/tree/", src_ + "/");
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(fs::read_symlink(src_ + "/out").string(), outside.path());
  fs::remove_all(src_);
  fs::create_directories(src_);
  run = Pull({"-aL"}, dst_, dst_ + "/tree/", src_ + "/");
  EXPECT_EQ(run.status, 23) << run.err;
  // As root the mount view has no name for the target; otherwise Landlock refuses to open it.
  EXPECT_NE(run.err.find(geteuid() == 0 ? "symlink has no referent" : "Permission denied"),
            std::string::npos)
      << run.err;
  EXPECT_EQ(ReadFile(src_ + "/ok"), "ok\n");
  EXPECT_FALSE(fs::exists(src_ + "/out/secret"));
}

TEST_F(RealRsync, PushDeleteRemovesExtraFilesAndDirectories) {
  WriteFile(src_ + "/keep", "keep\n");
  fs::create_directories(dst_ + "/gone-dir/sub");
  WriteFile(dst_ + "/gone-dir/sub/f", "x");
  WriteFile(dst_ + "/gone-file", "x");
  RunResult run = Push({"-a", "--delete"}, dst_, dst_ + "/");
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(Snapshot(dst_), Snapshot(src_));
}

TEST_F(RealRsync, PushLinkDestHardLinksUnchangedFiles) {
  WriteFile(src_ + "/same", "same\n");
  WriteFile(src_ + "/changed", "new\n");
  RunResult run = Push({"-a"}, dst_, dst_ + "/snap1/");
  ASSERT_EQ(run.status, 0) << run.err;
  WriteFile(src_ + "/changed", "newer content\n");
  run = Push({"-a", "--link-dest=../snap1"}, dst_, dst_ + "/snap2/");
  ASSERT_EQ(run.status, 0) << run.err;
  struct stat a, b;
  ASSERT_EQ(stat((dst_ + "/snap1/same").c_str(), &a), 0);
  ASSERT_EQ(stat((dst_ + "/snap2/same").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(ReadFile(dst_ + "/snap2/changed"), "newer content\n");
  EXPECT_EQ(ReadFile(dst_ + "/snap1/changed"), "new\n");
}

TEST_F(RealRsync, PushPartialDirResumesAndCleansUp) {
  std::string big(256 * 1024, 'x');
  for (size_t i = 0; i < big.size(); i += 97) big[i] = static_cast<char>('a' + i % 26);
  WriteFile(src_ + "/big", big);
  fs::create_directories(dst_ + "/.rsync-partial");
  WriteFile(dst_ + "/.rsync-partial/big", big.substr(0, big.size() / 2));
  RunResult run = Push({"-a", "--partial-dir=.rsync-partial"}, dst_, dst_ + "/");
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(ReadFile(dst_ + "/big"), big);
  // REMOVE_DIR: without it the emptied partial dir stays and rsync still exits 0.
  EXPECT_FALSE(fs::exists(dst_ + "/.rsync-partial"));
}

TEST_F(RealRsync, PushBackupDirKeepsTheOldVersion) {
  WriteFile(dst_ + "/f", "old\n");
  WriteFile(src_ + "/f", "new content\n");
  RunResult run = Push({"-a", "-b", "--backup-dir=" + dst_ + "/bak"}, dst_, dst_ + "/");
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(ReadFile(dst_ + "/f"), "new content\n");
  EXPECT_EQ(ReadFile(dst_ + "/bak/f"), "old\n");
}

TEST_F(RealRsync, PushTempDirRenamesAcrossDirectories) {
  fs::create_directories(dst_ + "/tmp");
  fs::create_directories(src_ + "/sub");
  WriteFile(src_ + "/f", "f\n");
  WriteFile(src_ + "/sub/g", "g\n");
  RunResult run = Push({"-a", "--temp-dir=" + dst_ + "/tmp", "--exclude=/tmp"}, dst_, dst_ + "/");
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(ReadFile(dst_ + "/f"), "f\n");
  EXPECT_EQ(ReadFile(dst_ + "/sub/g"), "g\n");
  EXPECT_TRUE(fs::is_empty(dst_ + "/tmp"));
}

TEST_F(RealRsync, PushInplaceRewritesAndTruncatesTheSameInode) {
  WriteFile(dst_ + "/f", std::string(10000, 'o'));
  WriteFile(src_ + "/f", "short now\n");
  struct stat before, after;
  ASSERT_EQ(stat((dst_ + "/f").c_str(), &before), 0);
  RunResult run = Push({"-a", "--inplace", "--no-whole-file"}, dst_, dst_ + "/");
  ASSERT_EQ(run.status, 0) << run.err;
  ASSERT_EQ(stat((dst_ + "/f").c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);
  EXPECT_EQ(ReadFile(dst_ + "/f"), "short now\n");
}

TEST_F(RealRsync, PushAppendAddsTheTail) {
  WriteFile(dst_ + "/log", "line 1\n");
  WriteFile(src_ + "/log", "line 1\nline 2\n");
  RunResult run = Push({"-r", "--append"}, dst_, dst_ + "/");
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(ReadFile(dst_ + "/log"), "line 1\nline 2\n");
}

TEST_F(RealRsync, PushAsUnprivilegedUser) {
  std::optional<passwd> user = TestUser();
  if (!user) GTEST_SKIP() << "could not create the user " << kTestUser;
  WriteFile(src_ + "/f", "f\n");
  fs::create_directories(src_ + "/d");
  symlink("f", (src_ + "/l").c_str());
  ChownTree(tmp_.path(), user->pw_uid, user->pw_gid);
  RunOptions as_user;
  as_user.uid = user->pw_uid;
  as_user.gid = user->pw_gid;
  RunResult run = Push({"-a", "--delete"}, dst_, dst_ + "/", as_user);
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(Snapshot(dst_), Snapshot(src_));
}

TEST_F(RealRsync, PushOutsideDirIsDenied) {
  TempDir outside;
  WriteFile(src_ + "/f", "f\n");
  RunResult run = Push({"-a"}, dst_, outside.path() + "/");
  EXPECT_NE(run.status, 0);
  EXPECT_FALSE(fs::exists(outside / "f"));
}

// ---------------------------------------------------------------------------------------------
// The race: a directory inside DIR swapped for a symlink to outside, while pulls run.

TEST(SymlinkSwapRace, NothingFromOutsideEverArrives) {
  SKIP_WITHOUT_LANDLOCK();
  TempDir tmp;
  std::string dir = tmp / "dir";
  std::string outside = tmp / "outside";
  fs::create_directories(dir + "/data");
  fs::create_directories(outside);
  for (int i = 0; i < 20; ++i) WriteFile(dir + "/data/inside-" + std::to_string(i), "inside\n");
  for (int i = 0; i < 20; ++i) WriteFile(outside + "/OUTSIDE-" + std::to_string(i), "SECRET\n");

  std::atomic<bool> stop{false};
  std::atomic<int> swaps{0};
  std::thread swapper([&] {
    const std::string data = dir + "/data", real = dir + "/data.real";
    while (!stop) {
      rename(data.c_str(), real.c_str());
      symlink(outside.c_str(), data.c_str());
      usleep(200);
      unlink(data.c_str());
      rename(real.c_str(), data.c_str());
      usleep(200);
      ++swaps;
    }
  });
  int pulls = 0, with_inside = 0;
  bool leaked = false;
  std::string leak;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(6);
  for (int round = 0; std::chrono::steady_clock::now() < deadline && !leaked; ++round) {
    std::string local = tmp / ("got-" + std::to_string(round));
    fs::create_directories(local);
    // The trailing slash makes rsync follow data whatever it is at that instant; -L follows
    // every symlink it meets.
    for (const std::vector<std::string>& spec :
         {std::vector<std::string>{"-a", "x:" + dir + "/data/", local + "/a/"},
          std::vector<std::string>{"-aL", "x:" + dir + "/", local + "/b/"}}) {
      std::vector<std::string> argv = {kRsync, "-e",
                                       std::string(SANDBOX_EXEC) + " --dir=" + dir +
                                           " --mode=" + ModeForThisKernel() + " --rsh"};
      argv.insert(argv.end(), spec.begin(), spec.end());
      RunProgram(argv);
      ++pulls;
    }
    for (const auto& entry : fs::recursive_directory_iterator(local)) {
      std::string name = entry.path().filename().string();
      if (name.starts_with("inside-")) ++with_inside;
      if (name.starts_with("OUTSIDE-") ||
          (entry.is_regular_file() && ReadFile(entry.path()).find("SECRET") != std::string::npos)) {
        leaked = true;
        leak = entry.path().string();
      }
    }
    fs::remove_all(local);
  }
  stop = true;
  swapper.join();
  EXPECT_FALSE(leaked) << leak;
  EXPECT_GE(pulls, 10);
  EXPECT_GT(swaps.load(), 10);
  EXPECT_GT(with_inside, 0) << "no pull ever got the inside files: the test proves nothing";
}

// ---------------------------------------------------------------------------------------------
// Cost: pull of 20,000 small files, sandbox on vs off, alternating, on tmpfs when there is one
// (the disk is not what is measured). Run on demand:
//   rrsync_sandbox_tests --gtest_also_run_disabled_tests --gtest_filter='*Performance*'
// RRSYNC_PERF_RUNS (default 9) sets the runs per side.

TEST(DISABLED_Performance, Pull20000SmallFilesOnVsOff) {
  SKIP_WITHOUT_LANDLOCK();
  std::string base = fs::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
  char tmpl[64];
  snprintf(tmpl, sizeof(tmpl), "%s/rrsync-perf.XXXXXX", base.c_str());
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string root = tmpl;
  std::string dir = root + "/dir";
  for (int d = 0; d < 100; ++d) {
    std::string sub = dir + "/d" + std::to_string(d);
    fs::create_directories(sub);
    for (int f = 0; f < 200; ++f) WriteFile(sub + "/f" + std::to_string(f), "0123456789\n");
  }
  const char* runs_env = getenv("RRSYNC_PERF_RUNS");
  const int runs = runs_env ? std::max(1, atoi(runs_env)) : 9;
  // The -e programs, in the order they alternate: the launcher (EnterSandbox, then rsync), and
  // when it is built, the real rrsync behind a stand-in sshd.
  struct Variant {
    std::string name, rsh;
    std::vector<double> wall, cpu;
  };
  std::vector<Variant> variants;
  for (const char* mode : {"require", "off"})
    variants.push_back({std::string("launcher --mode=") + mode + (mode[0] == 'o' ? "    " : ""),
                        std::string(SANDBOX_EXEC) + " --dir=" + dir + " --rsh --mode=" + mode,
                        {},
                        {}});
#ifdef RRSYNC_BINARY
  for (const char* mode : {"require", "off"})
    variants.push_back({std::string("rrsync -sandbox=") + mode + (mode[0] == 'o' ? "    " : ""),
                        std::string(SANDBOX_EXEC) + " --sshd-rrsync=" RRSYNC_BINARY +
                            " --rrsync-arg=-ro --rrsync-arg=-sandbox=" + mode +
                            " --rrsync-arg=" + dir,
                        {},
                        {}});
#endif
  for (int run = 0; run < runs; ++run) {
    for (Variant& v : variants) {
      std::string local = root + "/got";
      auto start = std::chrono::steady_clock::now();
      // rrsync takes paths relative to DIR; the launcher gets absolute ones.
      std::string source = v.name.starts_with("rrsync") ? "x:" : "x:" + dir + "/";
      RunResult r = RunProgram({kRsync, "-a", "-e", v.rsh, source, local + "/"});
      double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count();
      ASSERT_EQ(r.status, 0) << v.name << ": " << r.err;
      v.wall.push_back(ms);
      v.cpu.push_back(r.cpu_ms);
      ASSERT_EQ(std::distance(fs::recursive_directory_iterator(local),
                              fs::recursive_directory_iterator()),
                20100);
      fs::remove_all(local);
    }
  }
  fs::remove_all(root);
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::printf(
      "pull of 20000 files (100 dirs x 200 x 11 bytes) on %s, %d rounds, variants "
      "alternating within each round\n",
      base.c_str(), runs);
  for (const Variant& v : variants)
    std::printf("%s: median wall %7.1f ms, median cpu %7.1f ms\n", v.name.c_str(), median(v.wall),
                median(v.cpu));
  for (size_t k = 0; k + 1 < variants.size(); k += 2)
    std::printf("ratio on/off (%s): wall %.3f, cpu %.3f\n", variants[k].name.c_str(),
                median(variants[k].wall) / median(variants[k + 1].wall),
                median(variants[k].cpu) / median(variants[k + 1].cpu));
}

}  // namespace
}  // namespace rrsync
