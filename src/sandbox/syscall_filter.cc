#include "syscall_filter.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/btrfs.h>
#include <linux/fs.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>

#include <cstdint>
#include <initializer_list>

// Calls newer than Debian 12's 6.1 headers; their numbers are the same on x86_64 and aarch64.
#ifndef __NR_statmount
#define __NR_statmount 457
#endif
#ifndef __NR_listmount
#define __NR_listmount 458
#endif
#ifndef __NR_lsm_get_self_attr
#define __NR_lsm_get_self_attr 459
#endif
#ifndef __NR_lsm_set_self_attr
#define __NR_lsm_set_self_attr 460
#endif
#ifndef __NR_lsm_list_modules
#define __NR_lsm_list_modules 461
#endif
#ifndef __NR_open_tree_attr
#define __NR_open_tree_attr 467
#endif

#if defined(__x86_64__)
#define RRSYNC_SECCOMP_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define RRSYNC_SECCOMP_ARCH AUDIT_ARCH_AARCH64
#endif

namespace rrsync {
namespace {

// The calls refused whatever their arguments, by group.
constexpr int kDenied[] = {
    // Loading code into the kernel, replacing it, stopping the machine.
    __NR_init_module, __NR_finit_module, __NR_delete_module, __NR_kexec_load,
#ifdef __NR_kexec_file_load
    __NR_kexec_file_load,
#endif
    __NR_reboot, __NR_swapon, __NR_swapoff,
    // The clocks and the machine's names.
    __NR_settimeofday, __NR_clock_settime, __NR_clock_adjtime, __NR_adjtimex, __NR_sethostname,
    __NR_setdomainname,
    // Raw I/O and kernel introspection.
#ifdef __NR_iopl
    __NR_iopl, __NR_ioperm,
#endif
#ifdef __NR_modify_ldt
    __NR_modify_ldt,
#endif
    __NR_bpf, __NR_perf_event_open, __NR_syslog, __NR_acct, __NR_quotactl, __NR_quotactl_fd,
    __NR_lookup_dcookie, __NR_vhangup,
#ifdef __NR__sysctl
    __NR__sysctl,
#endif
#ifdef __NR_uselib
    __NR_uselib,
#endif
#ifdef __NR_nfsservctl
    __NR_nfsservctl,
#endif
    // Other processes: tracing, their memory, their descriptors.
    __NR_ptrace, __NR_process_vm_readv, __NR_process_vm_writev, __NR_pidfd_open,
    __NR_pidfd_getfd, __NR_pidfd_send_signal, __NR_process_madvise, __NR_kcmp,
    // The keyrings.
    __NR_keyctl, __NR_add_key, __NR_request_key,
    // The whole mount API, and chroot.
    __NR_mount, __NR_umount2, __NR_pivot_root, __NR_chroot, __NR_mount_setattr, __NR_open_tree,
    __NR_open_tree_attr, __NR_move_mount, __NR_fsopen, __NR_fsconfig, __NR_fsmount, __NR_fspick,
    __NR_statmount, __NR_listmount,
    // Files by handle: around the mount view and the checked paths.
    __NR_name_to_handle_at, __NR_open_by_handle_at,
    // Watching files outside what rsync was given.
    __NR_fanotify_init, __NR_fanotify_mark,
#ifdef __NR_inotify_init
    __NR_inotify_init,
#endif
    __NR_inotify_init1, __NR_inotify_add_watch,
    // Kernel attack surface rsync never uses.
    __NR_userfaultfd, __NR_io_uring_setup, __NR_io_uring_enter, __NR_io_uring_register,
    __NR_lsm_get_self_attr, __NR_lsm_set_self_attr, __NR_lsm_list_modules,
    // New namespaces, and joining others.
    __NR_unshare, __NR_setns,
    // IPC by name or key (SysV and POSIX message queues): another session's or the host's.
    __NR_shmget, __NR_shmat, __NR_shmctl, __NR_shmdt, __NR_semget, __NR_semop, __NR_semctl,
    __NR_semtimedop, __NR_msgget, __NR_msgsnd, __NR_msgrcv, __NR_msgctl, __NR_mq_open,
    __NR_mq_unlink, __NR_mq_timedsend, __NR_mq_timedreceive, __NR_mq_notify, __NR_mq_getsetattr,
    // New sockets: Landlock does not see unix sockets by path, nor UDP.
    __NR_socket,
};

// Filesystem-wide and terminal ioctls: freezing or relabelling DIR's filesystem, discarding its
// free blocks, typing into a terminal.
constexpr uint32_t kDeniedIoctls[] = {
    static_cast<uint32_t>(FIFREEZE),          static_cast<uint32_t>(FITHAW),
    static_cast<uint32_t>(FITRIM),            static_cast<uint32_t>(FS_IOC_SETFSLABEL),
    static_cast<uint32_t>(TIOCSTI),           static_cast<uint32_t>(TIOCLINUX),
    static_cast<uint32_t>(TIOCCONS),          static_cast<uint32_t>(TIOCSETD),
};

// btrfs's ioctls (type 0x94) reach subvolumes by name or by id: a snapshot of another
// subvolume into DIR, a subvolume made inside the new snapshot (which its read-only flag would
// not cover), a flag changed, a subvolume destroyed, a balance, a device added or scrubbed.
// rsync needs none of them; these three share the type but are the VFS's own calls on files
// the caller opened for writing (copy-on-write clones and dedupe), and stay allowed.
constexpr uint32_t kBtrfsIoctlType = static_cast<uint32_t>(BTRFS_IOCTL_MAGIC) << 8;
constexpr uint32_t kVfsIoctlsOfBtrfsType[] = {
    static_cast<uint32_t>(FICLONE),
    static_cast<uint32_t>(FICLONERANGE),
    static_cast<uint32_t>(FIDEDUPERANGE),
};

// setpriority, sched_setscheduler, sched_setparam, sched_setattr, sched_setaffinity, prlimit64,
// migrate_pages, move_pages, ioprio_set, personality, clone, socketpair, ioctl.
constexpr int kArgumentChecked = 13;

constexpr uint32_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                                     CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;

constexpr uint32_t kDeny = SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA);
constexpr uint32_t kNoSys = SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA);

// A classic BPF program with forward jumps to named places, resolved at the end (jumps are
// 8-bit offsets: the program is laid out so that every one stays short).
class Assembler {
 public:
  enum Label { kAllow, kDenyLabel, kNoSysLabel, kNext, kLabels };

  void Load(uint32_t offset) { Emit(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offset), -1, -1); }
  void LoadArg(int index) {
    // The low 32 bits: every argument checked here is an int or a pid.
    Load(static_cast<uint32_t>(offsetof(seccomp_data, args) + 8 * index));
  }
  void And(uint32_t mask) { Emit(BPF_STMT(BPF_ALU | BPF_AND | BPF_K, mask), -1, -1); }
  // if (A == k) goto yes else goto no; a label of -1 is the next instruction.
  void JumpIfEqual(uint32_t k, int yes, int no) {
    Emit(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, k, 0, 0), yes, no);
  }
  void JumpIfAnyBit(uint32_t k, int yes, int no) {
    Emit(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, k, 0, 0), yes, no);
  }
  void JumpIfAtLeast(uint32_t k, int yes, int no) {
    Emit(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, k, 0, 0), yes, no);
  }
  void Return(uint32_t action) { Emit(BPF_STMT(BPF_RET | BPF_K, action), -1, -1); }
  void Place(int label) { places_[label] = static_cast<int>(code_.size()); }
  // Starts a new kNext: the jumps to kNext emitted so far go to here.
  void PlaceNext() {
    for (Pending& p : pending_)
      if (p.label == kNext) p.label = -2 - static_cast<int>(code_.size());
  }

  bool Finish(std::vector<sock_filter>* program) {
    for (const Pending& p : pending_) {
      int target = p.label <= -2 ? -2 - p.label : places_[p.label];
      int offset = target - (p.at + 1);
      if (target < 0 || offset < 0 || offset > 255) return false;
      if (p.true_branch)
        code_[p.at].jt = static_cast<uint8_t>(offset);
      else
        code_[p.at].jf = static_cast<uint8_t>(offset);
    }
    *program = code_;
    return true;
  }

 private:
  struct Pending {
    int at;
    int label;
    bool true_branch;
  };
  void Emit(sock_filter insn, int yes, int no) {
    int at = static_cast<int>(code_.size());
    code_.push_back(insn);
    if (yes >= 0) pending_.push_back({at, yes, true});
    if (no >= 0) pending_.push_back({at, no, false});
  }
  std::vector<sock_filter> code_;
  std::vector<Pending> pending_;
  int places_[kLabels] = {-1, -1, -1, -1};
};

// A call allowed only when argument `index` is 0: the caller itself (pid 0, PRIO_PROCESS).
void AllowOnlyZeroArgs(Assembler& a, int nr, std::initializer_list<int> args) {
  a.Load(offsetof(seccomp_data, nr));
  a.JumpIfEqual(static_cast<uint32_t>(nr), -1, Assembler::kNext);
  for (int index : args) {
    a.LoadArg(index);
    a.JumpIfEqual(0, -1, Assembler::kDenyLabel);
  }
  a.Return(SECCOMP_RET_ALLOW);
  a.PlaceNext();
}

}  // namespace

SyscallFilter BuildSyscallFilter() {
  SyscallFilter filter;
#ifdef RRSYNC_SECCOMP_ARCH
  using A = Assembler;
  A a;
  a.Load(offsetof(seccomp_data, arch));
  // Another ABI's system call numbers (int 0x80 on x86_64) would slip past every check below.
  a.JumpIfEqual(RRSYNC_SECCOMP_ARCH, -1, A::kDenyLabel);
  a.Load(offsetof(seccomp_data, nr));
#if defined(__x86_64__)
  // x32 calls carry this bit and have numbers of their own.
  a.JumpIfAtLeast(0x40000000, A::kDenyLabel, -1);
#endif
  for (int nr : kDenied) a.JumpIfEqual(static_cast<uint32_t>(nr), A::kDenyLabel, -1);
  a.JumpIfEqual(__NR_clone3, A::kNoSysLabel, -1);
  filter.denied_calls = static_cast<int>(sizeof(kDenied) / sizeof(kDenied[0])) + 1;

  // Calls that are harmless on the caller itself and reach other processes otherwise (the PID
  // namespace hides them too, where there is one).
  AllowOnlyZeroArgs(a, __NR_setpriority, {0, 1});  // PRIO_PROCESS, self
  AllowOnlyZeroArgs(a, __NR_sched_setscheduler, {0});
  AllowOnlyZeroArgs(a, __NR_sched_setparam, {0});
  AllowOnlyZeroArgs(a, __NR_sched_setattr, {0});
  AllowOnlyZeroArgs(a, __NR_sched_setaffinity, {0});
  AllowOnlyZeroArgs(a, __NR_prlimit64, {0});
  AllowOnlyZeroArgs(a, __NR_migrate_pages, {0});
  AllowOnlyZeroArgs(a, __NR_move_pages, {0});

  // ioprio_set(IOPRIO_WHO_PROCESS, 0, ...) only.
  a.Load(offsetof(seccomp_data, nr));
  a.JumpIfEqual(__NR_ioprio_set, -1, A::kNext);
  a.LoadArg(0);
  a.JumpIfEqual(1, -1, A::kDenyLabel);
  a.LoadArg(1);
  a.JumpIfEqual(0, A::kAllow, A::kDenyLabel);
  a.PlaceNext();

  // personality(0xffffffff) only asks.
  a.Load(offsetof(seccomp_data, nr));
  a.JumpIfEqual(__NR_personality, -1, A::kNext);
  a.LoadArg(0);
  a.JumpIfEqual(0xffffffffU, A::kAllow, A::kDenyLabel);
  a.PlaceNext();

  // clone (fork, threads) without new namespaces; flags are the first argument on both.
  a.Load(offsetof(seccomp_data, nr));
  a.JumpIfEqual(__NR_clone, -1, A::kNext);
  a.LoadArg(0);
  a.JumpIfAnyBit(kNamespaceFlags, A::kDenyLabel, A::kAllow);
  a.PlaceNext();

  // socketpair(AF_UNIX, SOCK_STREAM): what rsync uses between its processes. A datagram or
  // seqpacket socket could sendto() any socket by path (/dev/log, journald, systemd's notify
  // socket) with SCM_CREDENTIALS naming any pid.
  a.Load(offsetof(seccomp_data, nr));
  a.JumpIfEqual(__NR_socketpair, -1, A::kNext);
  a.LoadArg(0);
  a.JumpIfEqual(AF_UNIX, -1, A::kDenyLabel);
  a.LoadArg(1);
  a.And(0xf);  // SOCK_TYPE_MASK: SOCK_CLOEXEC and SOCK_NONBLOCK ride along
  a.JumpIfEqual(SOCK_STREAM, A::kAllow, A::kDenyLabel);
  a.PlaceNext();

  a.Load(offsetof(seccomp_data, nr));
  a.JumpIfEqual(__NR_ioctl, -1, A::kAllow);
  a.LoadArg(1);
  for (uint32_t cmd : kDeniedIoctls) a.JumpIfEqual(cmd, A::kDenyLabel, -1);
  for (uint32_t cmd : kVfsIoctlsOfBtrfsType) a.JumpIfEqual(cmd, A::kAllow, -1);
  a.And(0xff00);  // _IOC_TYPE
  a.JumpIfEqual(kBtrfsIoctlType, A::kDenyLabel, A::kAllow);

  a.Place(A::kAllow);
  a.Return(SECCOMP_RET_ALLOW);
  a.Place(A::kDenyLabel);
  a.Return(kDeny);
  a.Place(A::kNoSysLabel);
  a.Return(kNoSys);
  a.PlaceNext();
  if (!a.Finish(&filter.program)) filter.program.clear();
#endif
  return filter;
}

int InstallSyscallFilter(const SyscallFilter& filter) {
  if (filter.program.empty()) return -1;
  sock_fprog program = {static_cast<unsigned short>(filter.program.size()),
                        const_cast<sock_filter*>(filter.program.data())};
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0, 0) == 0 ? 0 : errno;
}

std::string DescribeSyscallFilter(const SyscallFilter& filter) {
  if (filter.program.empty()) return "not built for this architecture";
  return "deny-list of " + std::to_string(filter.denied_calls) + " calls, " +
         std::to_string(kArgumentChecked) + " checked on their arguments, " +
         std::to_string(sizeof(kDeniedIoctls) / sizeof(kDeniedIoctls[0])) +
         " ioctls and btrfs's";
}

}  // namespace rrsync
