#include "capabilities.h"

#include <errno.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace rrsync {
namespace {

constexpr uint64_t Cap(int cap) { return 1ULL << cap; }

// Names by number, as capabilities(7) spells them without the CAP_ prefix; 0 to 40 (Linux 5.9+).
constexpr const char* kNames[] = {"chown",
                                  "dac_override",
                                  "dac_read_search",
                                  "fowner",
                                  "fsetid",
                                  "kill",
                                  "setgid",
                                  "setuid",
                                  "setpcap",
                                  "linux_immutable",
                                  "net_bind_service",
                                  "net_broadcast",
                                  "net_admin",
                                  "net_raw",
                                  "ipc_lock",
                                  "ipc_owner",
                                  "sys_module",
                                  "sys_rawio",
                                  "sys_chroot",
                                  "sys_ptrace",
                                  "sys_pacct",
                                  "sys_admin",
                                  "sys_boot",
                                  "sys_nice",
                                  "sys_resource",
                                  "sys_time",
                                  "sys_tty_config",
                                  "mknod",
                                  "lease",
                                  "audit_write",
                                  "audit_control",
                                  "setfcap",
                                  "mac_override",
                                  "mac_admin",
                                  "syslog",
                                  "wake_alarm",
                                  "block_suspend",
                                  "audit_read",
                                  "perfmon",
                                  "bpf",
                                  "checkpoint_restore"};

bool ReadSets(__user_cap_data_struct (&data)[_LINUX_CAPABILITY_U32S_3]) {
  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  return syscall(SYS_capget, &header, data) == 0;
}

uint64_t Join(uint32_t low, uint32_t high) { return low | (static_cast<uint64_t>(high) << 32); }

}  // namespace

uint64_t CapabilitiesToKeep(const CapabilityNeeds& needs) {
  // A sender only reads: files and directories whatever their modes.
  uint64_t keep = Cap(CAP_DAC_READ_SEARCH);
  if (needs.open_noatime) keep |= Cap(CAP_FOWNER);
  // Removing a sent file from a directory root may not write (DAC_OVERRIDE) or from a sticky
  // one it does not own (FOWNER); appending to a log file of another owner (DAC_OVERRIDE).
  if (needs.pull_writes) keep |= Cap(CAP_DAC_OVERRIDE) | Cap(CAP_FOWNER);
  if (needs.write) {
    // A receiver writes into directories it does not own and whatever their modes, gives files
    // their owners, then their modes and times (which, on files it no longer owns, needs
    // FOWNER), and keeps setgid bits for groups root is not in (FSETID).
    keep |= Cap(CAP_CHOWN) | Cap(CAP_DAC_OVERRIDE) | Cap(CAP_FOWNER) | Cap(CAP_FSETID);
    if (needs.devices) keep |= Cap(CAP_MKNOD);
    if (needs.xattrs) keep |= Cap(CAP_SETFCAP);
  }
  // The kernel shows and sets trusted.* attributes only with CAP_SYS_ADMIN, in both directions:
  // without it -X silently drops them. The system-call policy stops what else it would allow.
  if (needs.xattrs) keep |= Cap(CAP_SYS_ADMIN);
  return keep;
}

std::string CapabilityNames(uint64_t caps) {
  std::string out;
  for (int cap = 0; cap < 64; ++cap) {
    if (!(caps & Cap(cap))) continue;
    if (!out.empty()) out += ',';
    out += cap < static_cast<int>(sizeof(kNames) / sizeof(kNames[0])) ? kNames[cap]
                                                                      : "cap" + std::to_string(cap);
  }
  return out.empty() ? "none" : out;
}

uint64_t EffectiveCapabilities() {
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (!ReadSets(data)) return 0;
  return Join(data[0].effective, data[1].effective);
}

int DropCapabilities(uint64_t keep) {
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (!ReadSets(data)) return errno;
  const uint64_t permitted = Join(data[0].permitted, data[1].permitted);
  // The bounding set is what an exec by root hands back: it must go first, while CAP_SETPCAP
  // is still effective. PR_CAPBSET_DROP answers EINVAL past the kernel's last capability, which
  // ends the loop (no PR_CAPBSET_READ first: each call costs, and dropping a dropped one is a
  // no-op).
  if (Join(data[0].effective, data[1].effective) & Cap(CAP_SETPCAP)) {
    for (int cap = 0; cap < 64; ++cap) {
      if (keep & Cap(cap)) continue;
      if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0) continue;
      if (errno == EINVAL && cap > CAP_SETPCAP) break;
      return errno;
    }
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    return errno;
  const uint64_t kept = keep & permitted;
  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct sets[_LINUX_CAPABILITY_U32S_3] = {};
  for (int i = 0; i < 2; ++i) {
    sets[i].permitted = sets[i].effective = static_cast<uint32_t>(kept >> (32 * i));
    sets[i].inheritable = 0;
  }
  if (syscall(SYS_capset, &header, sets) != 0) return errno;
  return 0;
}

}  // namespace rrsync
