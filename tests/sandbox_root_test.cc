// The sandbox against a hijacked rsync running as root: through the real rrsync, hostile_rsync
// (with "attacks root" in its plan) goes after the kernel, the host's mounts and clock, other
// processes, SysV IPC, and the metadata of a file outside DIR by every name it has, for a pull,
// a push and a push that holds the lock. Every attempt must be DENIED, and nothing outside may
// change. The -sandbox=off controls show each attempt getting past the kernel's permission
// checks, so that a denial is the sandbox's and not the test setup's.
//
// The attempts never change the host: each is aimed where the kernel refuses only after its
// permission check (tests/tools/hostile_rsync.cc says how), and everything else they touch is
// this test's own: its temp trees, its SysV objects, its victim process.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fs.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "sandbox_test_support.h"

namespace rrsync {
namespace {

using sandbox_test::HostileFixture;
using sandbox_test::kAlwaysAllowed;
using sandbox_test::kEscapes;
using sandbox_test::kPushOnly;
using sandbox_test::ParseHostile;
using sandbox_test::ParseHostileOutcomes;
using sandbox_test::RunResult;
using sandbox_test::Snapshot;
using sandbox_test::WriteFile;

// ---------------------------------------------------------------------------------------------
// What hostile_rsync attempts with "attacks root", in its order.

// The machine, the kernel's other doors, SysV IPC and other processes.
const std::vector<std::string> kRootAttacks = {
    "reboot-bad-magic",
    "swapon-missing",
    "swapoff-missing",
    "settimeofday-noop",
    "adjtimex-bad-tick",
    "clock-adjtime-bad-tick",
    "sethostname-too-long",
    "setdomainname-too-long",
    "finit-module-bad-fd",
    "delete-module-missing",
    "kexec-file-load-bad-fd",
    "acct-missing",
    "iopl-3",
    "umount-not-mountpoint",
    "remount-not-mountpoint",
    "pivot-root-missing",
    "mount-setattr-noop",
    "open-tree-clone-outside",
    "fsopen-tmpfs",
    "fspick-root",
    "fithaw-dir",
    "setfslabel-too-long",
    "bpf-prog-load",
    "perf-event-system-wide",
    "syslog-read-all",
    "keyctl-thread-keyring",
    "userfaultfd",
    "io-uring-setup",
    "fanotify-init",
    "inotify-watch-outside",
    "stat-outside-via-root-dotdot",
    "unshare-user-mount",
    "personality-linux32",
    "name-to-handle-outside",
    "open-by-handle-outside",
    "open-device-inside",
    "shmat-foreign",
    "msgrcv-foreign",
    "signal-victim",
    "ptrace-seize-victim",
    "process-vm-readv-victim",
    "process-vm-writev-victim",
    "pidfd-open-victim",
    "pidfd-getfd-victim",
    "kcmp-victim",
    "setpriority-victim",
    "prlimit-victim",
    "ioprio-set-victim",
    "sched-setscheduler-victim",
    "dgram-forged-pid-outside",
};

// Metadata of outside/meta, each change by each way of naming the file.
std::vector<std::string> OutsideMetadataAttacks() {
  std::vector<std::string> names;
  for (const char* via : {"abs", "pin", "procfd", "cwd", "opath"})
    for (const char* change :
         {"chmod-setuid", "chown", "utimens", "setxattr-user", "setxattr-trusted",
          "setxattr-capability", "setxattr-acl", "removexattr", "getxattr"})
      names.push_back(std::string(change) + "-outside-" + via);
  return names;
}

// Metadata inside DIR: what rsync itself does on a push, never on a pull.
const std::vector<std::string> kInsideMetadata = {"chmod-inside", "chown-inside", "utimens-inside",
                                                  "setxattr-inside"};
// Never, in either direction: CAP_LINUX_IMMUTABLE is not rsync's.
const char kImmutableInside[] = "immutable-inside";

std::vector<std::string> AllRootAttacks() {
  std::vector<std::string> names = kRootAttacks;
  for (const std::string& name : OutsideMetadataAttacks()) names.push_back(name);
  for (const std::string& name : kInsideMetadata) names.push_back(name);
  names.push_back(kImmutableInside);
  return names;
}

// The capabilities no rsync session keeps (no -X in these sessions, so not SYS_ADMIN or
// SETFCAP either), by number: KILL, LINUX_IMMUTABLE, NET_ADMIN, NET_RAW, IPC_OWNER, SYS_MODULE,
// SYS_RAWIO, SYS_PTRACE, SYS_PACCT, SYS_ADMIN, SYS_BOOT, SYS_NICE, SYS_RESOURCE, SYS_TIME,
// SETFCAP, MAC_OVERRIDE, MAC_ADMIN, SYSLOG, PERFMON, BPF, CHECKPOINT_RESTORE.
constexpr int kNeverKept[] = {5,  9,  12, 13, 15, 16, 17, 19, 20, 21, 22,
                              23, 24, 25, 31, 32, 33, 34, 38, 39, 40};

// ---------------------------------------------------------------------------------------------
// The fixture: HostileFixture's trees plus what the root attacks aim at.

// A child that only waits to be attacked; it dies with this process at the latest.
pid_t StartVictim() {
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(0);
    for (;;) pause();
  }
  return pid;
}

// SysV objects handed to another user (nobody, mode 0600): only CAP_IPC_OWNER reaches them.
bool GiveAwaySegment(int id) {
  shmid_ds ds = {};
  if (shmctl(id, IPC_STAT, &ds) != 0) return false;
  ds.shm_perm.uid = 65534;
  ds.shm_perm.gid = 65534;
  ds.shm_perm.mode = 0600;
  return shmctl(id, IPC_SET, &ds) == 0;
}

bool GiveAwayQueue(int id) {
  msqid_ds ds = {};
  if (msgctl(id, IPC_STAT, &ds) != 0) return false;
  ds.msg_perm.uid = 65534;
  ds.msg_perm.gid = 65534;
  ds.msg_perm.mode = 0600;
  return msgctl(id, IPC_SET, &ds) == 0;
}

// "<type>:<hex>" of name_to_handle_at(path), as the plan's "handle" line takes it.
bool HandleOf(const std::string& path, std::string* spec) {
  std::vector<char> storage(sizeof(file_handle) + MAX_HANDLE_SZ);
  file_handle* handle = reinterpret_cast<file_handle*>(storage.data());
  handle->handle_bytes = MAX_HANDLE_SZ;
  int mount_id = 0;
  if (name_to_handle_at(AT_FDCWD, path.c_str(), handle, &mount_id, 0) != 0) return false;
  *spec = std::to_string(handle->handle_type) + ":" +
          sandbox_test::Hex(
              std::string(reinterpret_cast<const char*>(handle->f_handle), handle->handle_bytes));
  return true;
}

std::string TracerOf(pid_t pid) {
  std::istringstream status(sandbox_test::ReadFile("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(status, line))
    if (line.starts_with("TracerPid:")) return line.substr(line.find_first_not_of(" \t", 10));
  return "?";
}

class RootAttackFixture {
 public:
  RootAttackFixture() : hostile_(std::nullopt) { Setup(); }

  ~RootAttackFixture() {
    if (victim_ > 0) {
      kill(victim_, SIGKILL);
      waitpid(victim_, nullptr, 0);
    }
    if (shm_ >= 0) shmctl(shm_, IPC_RMID, nullptr);
    if (msg_ >= 0) msgctl(msg_, IPC_RMID, nullptr);
    if (dgram_ >= 0) close(dgram_);
    // An unconfined run sets and clears it at once; should it stay, the tree could not go.
    int fd = open((hostile_.dir() + "/inside.txt").c_str(), O_RDONLY | O_CLOEXEC);
    int flags = 0;
    if (fd >= 0 && ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && (flags & FS_IMMUTABLE_FL)) {
      flags &= ~FS_IMMUTABLE_FL;
      ioctl(fd, FS_IOC_SETFLAGS, &flags);
    }
    if (fd >= 0) close(fd);
  }

  // Empty, or the setup step that failed.
  const std::string& error() const { return error_; }
  const std::string& dir() const { return hostile_.dir(); }

  // Nothing the attacks aimed at outside DIR changed: the outside tree, the datagram socket's
  // queue, the SysV segment (never attached), the victim (alive, not traced), the host's names.
  // On a pull, DIR itself neither.
  void ExpectNothingChanged(bool pull) const {
    hostile_.ExpectOutsideUntouched();
    char byte;
    EXPECT_EQ(recv(dgram_, &byte, 1, MSG_DONTWAIT), -1) << "a datagram arrived";
    shmid_ds ds = {};
    ASSERT_EQ(shmctl(shm_, IPC_STAT, &ds), 0);
    EXPECT_EQ(ds.shm_atime, 0) << "the segment was attached";
    EXPECT_EQ(kill(victim_, 0), 0) << "the victim is gone";
    EXPECT_EQ(TracerOf(victim_), "0");
    utsname now = {};
    uname(&now);
    EXPECT_STREQ(now.nodename, uts_.nodename);
    EXPECT_STREQ(now.domainname, uts_.domainname);
    if (pull) {
      EXPECT_EQ(Snapshot(dir()), dir_as_made_);
    }
  }

 private:
  bool Fail(const std::string& step) {
    error_ = "Failed to " + step + ": " + strerror(errno);
    return false;
  }

  // Fills error_ and stops at the first step that fails.
  bool Setup() {
    const std::string dir = hostile_.dir(), out = hostile_.outside();
    uname(&uts_);
    WriteFile(out + "/meta", "meta\n");
    if (setxattr((out + "/meta").c_str(), "user.probe", "1", 1, 0) != 0)
      return Fail("setxattr user.probe on " + out + "/meta");
    if (mknod((dir + "/devnull").c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0)
      return Fail("mknod " + dir + "/devnull");

    dgram_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    const std::string dgram_path = out + "/dgram";
    strncpy(addr.sun_path, dgram_path.c_str(), sizeof(addr.sun_path) - 1);
    if (dgram_ < 0 || bind(dgram_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
      return Fail("bind " + dgram_path);

    shm_ = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    if (shm_ < 0 || !GiveAwaySegment(shm_)) return Fail("shmget/shmctl IPC_SET");
    msg_ = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    if (msg_ < 0 || !GiveAwayQueue(msg_)) return Fail("msgget/msgctl IPC_SET");

    victim_ = StartVictim();
    if (victim_ < 0) return Fail("fork the victim");

    std::string handle;
    if (!HandleOf(out + "/secret", &handle)) return Fail("name_to_handle_at " + out + "/secret");

    hostile_.AddToPlan("attacks root\nvictim " + std::to_string(victim_) + "\nshm " +
                       std::to_string(shm_) + "\nmsg " + std::to_string(msg_) + "\ndgram " +
                       dgram_path + "\nhandle " + handle + "\n");
    hostile_.RememberOutside();
    dir_as_made_ = Snapshot(dir);
    return true;
  }

  HostileFixture hostile_;
  std::string error_;
  std::map<std::string, std::string> dir_as_made_;
  utsname uts_ = {};
  pid_t victim_ = -1;
  int shm_ = -1, msg_ = -1, dgram_ = -1;
};

// ---------------------------------------------------------------------------------------------
// Reading the results.

// The attempts this kernel, or DIR's filesystem, cannot make at all, with why; judged from the
// outcomes of an unconfined run.
std::map<std::string, std::string> Unreachable(const std::map<std::string, std::string>& control) {
  std::map<std::string, std::string> why;
  for (const std::string& name : AllRootAttacks()) {
    auto it = control.find(name);
    if (it == control.end()) continue;
    if (it->second == "ERROR ENOSYS")
      why[name] = "this kernel lacks the system call (unconfined: ERROR ENOSYS)";
    else if (name == "setfslabel-too-long" &&
             (it->second == "ERROR ENOTTY" || it->second == "ERROR EOPNOTSUPP"))
      why[name] = "DIR's filesystem has no label (unconfined: " + it->second + ")";
  }
  return why;
}

void LogSkipped(const std::map<std::string, std::string>& unreachable) {
  for (const auto& [name, why] : unreachable)
    std::cout << "note: the line " << name << " is left out: " << why << "\n";
}

// Each attempt whose verdict differs from the expected one, with the stand-in's whole line.
std::string Differences(const std::map<std::string, std::string>& expected,
                        const std::map<std::string, std::string>& got,
                        const std::map<std::string, std::string>& outcomes) {
  auto line = [&](const std::string& name) {
    auto it = outcomes.find(name);
    return it == outcomes.end() ? std::string("?") : it->second;
  };
  std::ostringstream diff;
  for (const auto& [name, verdict] : expected) {
    auto it = got.find(name);
    if (it == got.end())
      diff << "  " << name << ": expected " << verdict << ", missing\n";
    else if (it->second != verdict)
      diff << "  " << name << ": expected " << verdict << ", got " << line(name) << "\n";
  }
  for (const auto& [name, verdict] : got)
    if (!expected.count(name)) diff << "  " << name << ": unexpected, " << line(name) << "\n";
  return diff.str();
}

// The root attacks grouped by outcome, one line each ("DENIED ESRCH: kcmp-victim, ..."): which
// layer stopped what.
std::string OutcomeSummary(const std::map<std::string, std::string>& outcomes) {
  std::map<std::string, std::string> by_outcome;
  for (const std::string& name : AllRootAttacks()) {
    auto it = outcomes.find(name);
    std::string& names = by_outcome[it == outcomes.end() ? "missing" : it->second];
    names += (names.empty() ? "" : ", ") + name;
  }
  std::string summary;
  for (const auto& [outcome, names] : by_outcome) summary += outcome + ": " + names + "\n";
  return summary;
}

// "caps eff=<hex> bnd=<hex>" from the stand-in.
bool ParseCaps(const std::map<std::string, std::string>& outcomes, uint64_t* eff, uint64_t* bnd) {
  auto it = outcomes.find("caps");
  return it != outcomes.end() &&
         std::sscanf(it->second.c_str(), "eff=%" SCNx64 " bnd=%" SCNx64, eff, bnd) == 2;
}

// "capabilities 5, 9, 21" for a mask.
std::string CapabilityNumbers(uint64_t caps) {
  std::string numbers;
  for (int cap = 0; cap < 64; ++cap)
    if (caps & (1ULL << cap)) numbers += (numbers.empty() ? "" : ", ") + std::to_string(cap);
  return "capabilities " + numbers;
}

// ---------------------------------------------------------------------------------------------
// The sessions.

struct RootCase {
  const char* name;
  std::vector<std::string> flags;  // rrsync's, before -rsync= and DIR
  bool push;
};

void PrintTo(const RootCase& c, std::ostream* os) { *os << c.name; }

std::string RootCaseName(const testing::TestParamInfo<RootCase>& info) { return info.param.name; }

RunResult RunSession(const RootCase& c, const RootAttackFixture& fixture, bool sandbox_off) {
  std::vector<std::string> flags = {std::string("-rsync=") + HOSTILE_RSYNC};
  if (sandbox_off) flags.push_back("-sandbox=off");
  flags.insert(flags.end(), c.flags.begin(), c.flags.end());
  return sandbox_test::RunRrsync(RRSYNC_BINARY, flags, fixture.dir(), c.push);
}

#define SKIP_UNLESS_ROOT_AND_RRSYNC()                                            \
  do {                                                                           \
    if (geteuid() != 0) GTEST_SKIP() << "the root attacks are a root session's"; \
    if (!sandbox_test::RrsyncHasSandboxFlags(RRSYNC_BINARY))                     \
      GTEST_SKIP() << "rrsync lacks -rsync= and -sandbox=";                      \
  } while (0)

// The expectations for the stand-in's other attempts are those of the full Landlock ruleset.
int LandlockAbi() {
  long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, 1 /* ..._VERSION */);
  return abi < 0 ? 0 : static_cast<int>(abi);
}

// An unconfined run of its own, once per test process: which lines this kernel can reach.
const std::map<std::string, std::string>& UnconfinedOutcomes() {
  static const std::map<std::string, std::string> outcomes = [] {
    RootAttackFixture fixture;
    RunResult run = RunSession({"pull", {"-ro"}, false}, fixture, /*sandbox_off=*/true);
    return ParseHostileOutcomes(run.out);
  }();
  return outcomes;
}

class RootHostile : public testing::TestWithParam<RootCase> {};

// With the default sandbox every root attack is denied, rsync's own work still works, the
// capabilities rsync holds are cut, and nothing outside changed.
TEST_P(RootHostile, EveryAttackDenied) {
  SKIP_UNLESS_ROOT_AND_RRSYNC();
  if (LandlockAbi() < 6) GTEST_SKIP() << "this kernel's Landlock ABI is below 6";
  const RootCase& c = GetParam();
  const std::map<std::string, std::string> unreachable = Unreachable(UnconfinedOutcomes());
  LogSkipped(unreachable);

  RootAttackFixture fixture;
  ASSERT_EQ(fixture.error(), "");
  RunResult run = RunSession(c, fixture, /*sandbox_off=*/false);
  ASSERT_EQ(run.status, 0) << run.out << run.err;

  std::map<std::string, std::string> expected;
  for (const std::string& name : kAlwaysAllowed) expected[name] = "ALLOWED";
  for (const std::string& name : kPushOnly) expected[name] = c.push ? "ALLOWED" : "DENIED";
  for (const std::string& name : kEscapes) expected[name] = "DENIED";
  for (const std::string& name : AllRootAttacks()) expected[name] = "DENIED";
  if (c.push)
    for (const std::string& name : kInsideMetadata) expected[name] = "ALLOWED";
  std::vector<std::string> pins;
  std::map<std::string, std::string> got = ParseHostile(run.out, &pins);
  std::map<std::string, std::string> outcomes = ParseHostileOutcomes(run.out);
  got.erase("caps");
  for (const auto& [name, why] : unreachable) {
    expected.erase(name);
    got.erase(name);
  }
  std::cout << OutcomeSummary(outcomes);
  std::string diff = Differences(expected, got, outcomes);
  EXPECT_TRUE(diff.empty()) << "verdicts that differ:\n" << diff << "stderr:\n" << run.err;
  EXPECT_FALSE(pins.empty()) << run.out;
  for (const std::string& pin : pins) EXPECT_TRUE(pin.ends_with(" ALLOWED")) << pin;

  uint64_t eff = 0, bnd = 0;
  ASSERT_TRUE(ParseCaps(outcomes, &eff, &bnd)) << run.out;
  std::cout << "rsync's capabilities: eff=" << std::hex << eff << " bnd=" << bnd << std::dec
            << "\n";
  uint64_t never = 0;
  for (int cap : kNeverKept) never |= 1ULL << cap;
  EXPECT_EQ(eff & never, 0u) << "the effective set holds " << CapabilityNumbers(eff & never);
  EXPECT_EQ(bnd & never, 0u) << "the bounding set holds " << CapabilityNumbers(bnd & never);
  fixture.ExpectNothingChanged(/*pull=*/!c.push);
}

// The control: unconfined, every attack gets past the kernel's permission checks (or this
// kernel cannot make it at all, and the line is skipped), so the denials above are the
// sandbox's.
TEST_P(RootHostile, SandboxOffReachesEveryAttack) {
  SKIP_UNLESS_ROOT_AND_RRSYNC();
  const RootCase& c = GetParam();
  RootAttackFixture fixture;
  ASSERT_EQ(fixture.error(), "");
  RunResult run = RunSession(c, fixture, /*sandbox_off=*/true);
  ASSERT_EQ(run.status, 0) << run.out << run.err;
  std::map<std::string, std::string> outcomes = ParseHostileOutcomes(run.out);
  const std::map<std::string, std::string> unreachable = Unreachable(outcomes);
  LogSkipped(unreachable);
  for (const std::string& name : AllRootAttacks()) {
    if (!unreachable.count(name)) {
      EXPECT_EQ(outcomes[name], "ALLOWED") << name;
    }
  }
  uint64_t eff = 0, bnd = 0;
  EXPECT_TRUE(ParseCaps(outcomes, &eff, &bnd)) << run.out;
}

INSTANTIATE_TEST_SUITE_P(Sandbox, RootHostile,
                         testing::Values(RootCase{"RoPull", {"-ro"}, false},
                                         RootCase{"WoNoLockPush", {"-wo", "-no-lock"}, true},
                                         RootCase{"LockedPush", {}, true}),
                         RootCaseName);

}  // namespace
}  // namespace rrsync
