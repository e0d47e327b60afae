// The sandbox's layers one by one: the capabilities each transfer keeps, the system-call policy
// (each group refused with EPERM, what rsync uses still allowed), and the kernel matrix: real
// rsync, pull and push, confined on each Landlock ABI the supported kernels have (played with
// the probe injection), the mount view holding the line where Landlock cannot.
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/reboot.h>
#include <sched.h>
#include <linux/btrfs.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "capabilities.h"
#include "landlock_ruleset.h"
#include "syscall_filter.h"

namespace rrsync {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t Cap(int cap) { return 1ULL << cap; }

TEST(Capabilities, APullKeepsOnlyReadingWhateverTheModes) {
  EXPECT_EQ(CapabilityNames(CapabilitiesToKeep({})), "dac_read_search");
  CapabilityNeeds noatime;
  noatime.open_noatime = true;
  EXPECT_EQ(CapabilityNames(CapabilitiesToKeep(noatime)), "dac_read_search,fowner");
  CapabilityNeeds xattrs;
  xattrs.xattrs = true;
  EXPECT_EQ(CapabilityNames(CapabilitiesToKeep(xattrs)), "dac_read_search,sys_admin");
  // A read-write key's pull that removes what it sent or appends to its log file.
  CapabilityNeeds writes;
  writes.pull_writes = true;
  EXPECT_EQ(CapabilityNames(CapabilitiesToKeep(writes)), "dac_override,dac_read_search,fowner");
}

TEST(Capabilities, APushKeepsOwnersModesAndTimesAndNothingOfTheHost) {
  CapabilityNeeds push;
  push.write = true;
  EXPECT_EQ(CapabilityNames(CapabilitiesToKeep(push)),
            "chown,dac_override,dac_read_search,fowner,fsetid");
  push.devices = true;
  push.xattrs = true;
  const uint64_t most = CapabilitiesToKeep(push);
  EXPECT_EQ(CapabilityNames(most),
            "chown,dac_override,dac_read_search,fowner,fsetid,sys_admin,mknod,setfcap");
  // Whatever the request, none of these survive.
  for (int cap : {CAP_SYS_MODULE, CAP_SYS_RAWIO, CAP_SYS_BOOT, CAP_BPF, CAP_PERFMON,
                  CAP_SYS_PTRACE, CAP_NET_ADMIN, CAP_NET_RAW, CAP_IPC_OWNER, CAP_SYS_TIME,
                  CAP_SYS_NICE, CAP_SYSLOG, CAP_SYS_RESOURCE, CAP_KILL, CAP_LINUX_IMMUTABLE,
                  CAP_SETUID, CAP_SETGID, CAP_SETPCAP})
    EXPECT_EQ(most & Cap(cap), 0u) << CapabilityNames(Cap(cap));
}

// Runs `body` in a forked child; returns what it wrote to the pipe.
template <typename Body>
std::string InChild(Body body) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    std::string out = body();
    (void)!write(fds[1], out.data(), out.size());
    _exit(0);
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  waitpid(pid, nullptr, 0);
  return out;
}

std::string StatusLine(const std::string& status, const std::string& key) {
  std::istringstream lines(status);
  std::string line;
  while (std::getline(lines, line))
    if (line.starts_with(key + ":")) return line.substr(key.size() + 2);
  return "";
}

// After the drop and an exec as root, every set is the kept one (ambient and inheritable
// empty): the bounding set is what stops root's exec from handing the rest back.
TEST(Capabilities, AnExecAsRootGetsBackOnlyTheKeptSet) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  const uint64_t keep = Cap(CAP_DAC_READ_SEARCH) | Cap(CAP_CHOWN);
  std::string status = InChild([&] {
    if (DropCapabilities(keep) != 0) return std::string("drop failed");
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    int fds[2];
    if (pipe(fds) != 0) return std::string("pipe failed");
    pid_t pid = fork();
    if (pid == 0) {
      dup2(fds[1], 1);
      execl("/bin/cat", "cat", "/proc/self/status", nullptr);
      _exit(127);
    }
    close(fds[1]);
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
    waitpid(pid, nullptr, 0);
    return out;
  });
  char hex[32];
  snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(keep));
  EXPECT_EQ(StatusLine(status, "CapEff"), hex) << status;
  EXPECT_EQ(StatusLine(status, "CapPrm"), hex);
  EXPECT_EQ(StatusLine(status, "CapBnd"), hex);
  EXPECT_EQ(StatusLine(status, "CapInh"), "0000000000000000");
  EXPECT_EQ(StatusLine(status, "CapAmb"), "0000000000000000");
}

// Each call made with arguments the kernel rejects (after its permission check where it has
// one), so that, run unfiltered as root, none changes the machine: the filter must answer EPERM
// first. Calls aimed at a process name one that does not exist, never pid 1.
constexpr long kNoSuchPid = 0x3ffffff0;
struct Probe {
  const char* name;
  long (*call)();
};

long Errno(long rc) { return rc < 0 ? errno : 0; }

const Probe kRefused[] = {
    {"reboot", [] { return Errno(syscall(SYS_reboot, 0, 0, 0, nullptr)); }},
    {"finit_module", [] { return Errno(syscall(SYS_finit_module, -1, "", 0)); }},
    {"delete_module",
     [] { return Errno(syscall(SYS_delete_module, "rrsync_no_such_module", O_NONBLOCK)); }},
    {"kexec_file_load", [] { return Errno(syscall(SYS_kexec_file_load, -1, -1, 0, "", 0)); }},
    {"swapon", [] { return Errno(syscall(SYS_swapon, "/nonexistent-rrsync", 0)); }},
    {"settimeofday", [] { return Errno(syscall(SYS_settimeofday, nullptr, nullptr)); }},
    {"sethostname", [] { return Errno(syscall(SYS_sethostname, "x", 1000)); }},
    {"bpf", [] { return Errno(syscall(SYS_bpf, -1, nullptr, 0)); }},
    {"perf_event_open", [] { return Errno(syscall(SYS_perf_event_open, nullptr, 0, -1, -1, 0)); }},
    {"ptrace", [] { return Errno(syscall(SYS_ptrace, 0x4206 /* SEIZE */, kNoSuchPid, 0, 0)); }},
    {"process_vm_readv",
     [] { return Errno(syscall(SYS_process_vm_readv, kNoSuchPid, nullptr, 0, nullptr, 0, 0)); }},
    {"keyctl", [] { return Errno(syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -1, 0)); }},
    {"mount", [] { return Errno(syscall(SYS_mount, nullptr, "/nonexistent-rrsync", nullptr, 0, nullptr)); }},
    {"umount2", [] { return Errno(syscall(SYS_umount2, "/nonexistent-rrsync", 0)); }},
    {"mount_setattr", [] { return Errno(syscall(SYS_mount_setattr, -1, "", 0, nullptr, 0)); }},
    {"open_tree", [] { return Errno(syscall(SYS_open_tree, -1, "", 0)); }},
    {"fsopen", [] { return Errno(syscall(SYS_fsopen, "", 0)); }},
    {"pivot_root", [] { return Errno(syscall(SYS_pivot_root, "/nonexistent-a", "/nonexistent-b")); }},
    {"unshare", [] { return Errno(syscall(SYS_unshare, CLONE_NEWNS)); }},
    {"setns", [] { return Errno(syscall(SYS_setns, -1, 0)); }},
    {"fanotify_init", [] { return Errno(syscall(SYS_fanotify_init, 0, 0)); }},
    {"inotify_init1", [] { return Errno(syscall(SYS_inotify_init1, 0)); }},
    {"userfaultfd", [] { return Errno(syscall(SYS_userfaultfd, 0)); }},
    {"syslog", [] { return Errno(syscall(SYS_syslog, 10 /* SIZE_BUFFER */, nullptr, 0)); }},
    {"acct", [] { return Errno(syscall(SYS_acct, "/nonexistent-rrsync")); }},
    {"io_uring_setup", [] { return Errno(syscall(SYS_io_uring_setup, 1, nullptr)); }},
    {"socket", [] { return Errno(syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0)); }},
    {"socketpair-dgram",
     [] {
       int sv[2];
       return Errno(syscall(SYS_socketpair, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv));
     }},
    {"socketpair-inet",
     [] {
       int sv[2];
       return Errno(syscall(SYS_socketpair, AF_INET, SOCK_STREAM, 0, sv));
     }},
    {"open_by_handle_at", [] { return Errno(syscall(SYS_open_by_handle_at, -1, nullptr, 0)); }},
    {"setpriority-other", [] { return Errno(syscall(SYS_setpriority, PRIO_PROCESS, kNoSuchPid, 0)); }},
    // A user with no processes: PRIO_USER 0 would renice every root process.
    {"setpriority-user", [] { return Errno(syscall(SYS_setpriority, PRIO_USER, kNoSuchPid, 0)); }},
    {"prlimit64-other", [] { return Errno(syscall(SYS_prlimit64, kNoSuchPid, RLIMIT_NOFILE, nullptr, nullptr)); }},
    {"sched_setaffinity-other",
     [] { return Errno(syscall(SYS_sched_setaffinity, kNoSuchPid, 0, nullptr)); }},
    {"ioprio_set-other", [] { return Errno(syscall(SYS_ioprio_set, 1, kNoSuchPid, 0)); }},
    {"personality", [] { return Errno(syscall(SYS_personality, PER_LINUX32)); }},
    {"clone-newns",
     [] {
       long pid = syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, nullptr, nullptr, nullptr, 0);
       if (pid == 0) _exit(0);  // the unfiltered control's child: gone at once
       if (pid > 0) waitpid(static_cast<pid_t>(pid), nullptr, 0);
       return Errno(pid);
     }},
    {"ioctl-fithaw", [] { return Errno(syscall(SYS_ioctl, 0, FITHAW, 0)); }},
    {"ioctl-setfslabel", [] { return Errno(syscall(SYS_ioctl, 0, FS_IOC_SETFSLABEL, 0)); }},
    // btrfs's, by type (0x94): on fd 0, no btrfs, so without the filter they fail with ENOTTY.
    {"ioctl-btrfs-subvol-create",
     [] { return Errno(syscall(SYS_ioctl, 0, BTRFS_IOC_SUBVOL_CREATE, 0)); }},
    {"ioctl-btrfs-subvol-setflags",
     [] { return Errno(syscall(SYS_ioctl, 0, BTRFS_IOC_SUBVOL_SETFLAGS, 0)); }},
    {"ioctl-btrfs-snap-destroy-v2",
     [] { return Errno(syscall(SYS_ioctl, 0, BTRFS_IOC_SNAP_DESTROY_V2, 0)); }},
    {"shmget", [] { return Errno(syscall(SYS_shmget, 0, 0, 0)); }},
    {"mq_open", [] { return Errno(syscall(SYS_mq_open, "", 0, 0, nullptr)); }},
};

// What rsync and libc use: allowed with the filter on.
const Probe kAllowed[] = {
    {"socketpair-stream",
     [] {
       int sv[2];
       long rc = Errno(syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
       if (rc == 0) close(sv[0]), close(sv[1]);
       return rc;
     }},
    {"fork",
     [] {
       pid_t pid = fork();
       if (pid == 0) _exit(0);
       if (pid < 0) return static_cast<long>(errno);
       waitpid(pid, nullptr, 0);
       return 0L;
     }},
    {"setpriority-self", [] { return Errno(syscall(SYS_setpriority, PRIO_PROCESS, 0, getpriority(PRIO_PROCESS, 0))); }},
    {"prlimit64-self",
     [] {
       struct rlimit old;
       return Errno(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, nullptr, &old));
     }},
    {"personality-query", [] { return Errno(syscall(SYS_personality, 0xffffffffUL)); }},
    {"ioctl-tcgets", [] {
       long rc = Errno(syscall(SYS_ioctl, 0, TCGETS, nullptr));
       return rc == EFAULT || rc == ENOTTY ? 0L : rc;  // got past the filter
     }},
};

std::string RunProbes(bool filtered) {
  return InChild([&] {
    std::string out;
    if (filtered) {
      prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
      SyscallFilter filter = BuildSyscallFilter();
      if (int error = InstallSyscallFilter(filter); error != 0)
        return "install failed: " + std::to_string(error);
    }
    for (const Probe& p : kRefused) out += std::string(p.name) + " " + std::to_string(p.call()) + "\n";
    for (const Probe& p : kAllowed) out += std::string(p.name) + " " + std::to_string(p.call()) + "\n";
    out += "clone3 " + std::to_string(Errno(syscall(SYS_clone3, nullptr, 0))) + "\n";
    return out;
  });
}

std::map<std::string, long> ParseProbes(const std::string& out) {
  std::map<std::string, long> results;
  std::istringstream lines(out);
  std::string name;
  long value;
  while (lines >> name >> value) results[name] = value;
  return results;
}

TEST(SyscallFilter, RefusesEachGroupWithEpermAndLetsRsyncWork) {
  SyscallFilter filter = BuildSyscallFilter();
  ASSERT_FALSE(filter.program.empty()) << "no filter for this architecture";
  std::map<std::string, long> got = ParseProbes(RunProbes(true));
  for (const Probe& p : kRefused) EXPECT_EQ(got[p.name], EPERM) << p.name;
  for (const Probe& p : kAllowed) EXPECT_EQ(got[p.name], 0) << p.name;
  // ENOSYS, so that libc falls back to clone, whose flags the filter sees.
  EXPECT_EQ(got["clone3"], ENOSYS);
}

// The control: without the filter, not one of those calls is refused with EPERM as root, so the
// EPERMs above are the filter's (and the arguments changed nothing).
TEST(SyscallFilter, WithoutTheFilterRootGetsPastEveryPermissionCheck) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  std::map<std::string, long> got = ParseProbes(RunProbes(false));
  for (const Probe& p : kRefused) {
    // Calls that ask about another process or a filesystem may fail otherwise; EPERM would
    // mean the kernel itself refused root, and then the test proves nothing for that call.
    EXPECT_NE(got[p.name], EPERM) << p.name;
  }
}

TEST(SyscallFilter, DescribesItselfForTheLog) {
  SyscallFilter filter = BuildSyscallFilter();
  EXPECT_EQ(DescribeSyscallFilter(filter).rfind("deny-list of ", 0), 0u)
      << DescribeSyscallFilter(filter);
  EXPECT_NE(DescribeSyscallFilter(filter).find(", 13 checked on their arguments, 8 ioctls"),
            std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// The kernel matrix: real rsync through the launcher, as rrsync runs it for root, on each ABI.

struct Shell {
  int status;
  std::string out;
};

Shell Sh(const std::string& command) {
  std::string out_file = fs::temp_directory_path() / ("rrsync-layers-" + std::to_string(getpid()) + ".out");
  int rc = std::system((command + " >" + out_file + " 2>&1").c_str());
  std::ifstream in(out_file);
  std::stringstream ss;
  ss << in.rdbuf();
  fs::remove(out_file);
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : 128, ss.str()};
}

class KernelMatrix : public testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "the mount view is for root";
    if (QueryLandlockAbi(nullptr) < GetParam())
      GTEST_SKIP() << "this kernel's Landlock ABI is below " << GetParam();
    char tmpl[] = "/tmp/rrsync-layers-test.XXXXXX";
    root_ = mkdtemp(tmpl);
    fs::create_directories(root_ + "/src/sub");
    fs::create_directories(root_ + "/dst");
    fs::create_directories(root_ + "/outside");
    std::ofstream(root_ + "/src/a") << "a\n";
    std::ofstream(root_ + "/src/sub/b") << "b\n";
    std::ofstream(root_ + "/outside/secret") << "SECRET\n";
  }
  void TearDown() override {
    if (!root_.empty()) fs::remove_all(root_);
  }
  std::string Rsh(const std::string& dir) const {
    return std::string(SANDBOX_EXEC) + " --dir=" + dir + " --abi=" + std::to_string(GetParam()) +
           " --mode=require --report --rsh";
  }
  std::string root_;
};

// Ubuntu 22.04 (5.15: ABI 1), Debian 12 (6.1: ABI 2), Ubuntu 24.04 (6.8: ABI 4), Debian 13
// (6.12: ABI 6), this machine (ABI 7): a push works on each, confined, under require, and the
// host's files have no name in the view. ABI 0 is a kernel without Landlock.
TEST_P(KernelMatrix, PushAndPullWorkConfinedUnderRequire) {
  Shell push = Sh("/usr/bin/rsync -a --delete -e '" + Rsh(root_ + "/dst") + "' " + root_ +
                  "/src/ x:" + root_ + "/dst/");
  ASSERT_EQ(push.status, 0) << push.out;
  EXPECT_NE(push.out.find("namespaces: mount,pid,ipc; view: " + root_ + "/dst rw"),
            std::string::npos)
      << push.out;
  if (GetParam() == 1) {
    EXPECT_NE(push.out.find("Landlock ABI 1 cannot allow the renames a push needs"),
              std::string::npos)
        << push.out;
  }
  EXPECT_EQ(Sh("diff -r " + root_ + "/src " + root_ + "/dst").status, 0);
  Shell pull = Sh("/usr/bin/rsync -a -e '" + Rsh(root_ + "/src") + "' x:" + root_ + "/src/ " +
                  root_ + "/pulled/");
  ASSERT_EQ(pull.status, 0) << pull.out;
  EXPECT_EQ(Sh("diff -r " + root_ + "/src " + root_ + "/pulled").status, 0);
  // Outside DIR there is nothing to name: the pull of an outside path finds no file.
  Shell escape = Sh("/usr/bin/rsync -a -e '" + Rsh(root_ + "/src") + "' x:" + root_ +
                    "/outside/secret " + root_ + "/stolen");
  EXPECT_NE(escape.status, 0) << escape.out;
  EXPECT_FALSE(fs::exists(root_ + "/stolen"));
}

INSTANTIATE_TEST_SUITE_P(Abi, KernelMatrix, testing::Values(0, 1, 2, 4, 6, 7),
                         [](const testing::TestParamInfo<int>& info) {
                           return "Abi" + std::to_string(info.param);
                         });

}  // namespace
}  // namespace rrsync
