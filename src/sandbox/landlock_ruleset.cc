#include "landlock_ruleset.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <utility>

// Debian 12's libc headers know the syscall numbers (5.13) but not every later constant.
#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#endif
#ifndef __NR_landlock_add_rule
#define __NR_landlock_add_rule 445
#endif
#ifndef __NR_landlock_restrict_self
#define __NR_landlock_restrict_self 446
#endif

namespace rrsync {
namespace {

// Our own copies of the kernel's structures: the installed headers may predate some fields.
// The kernel takes the size we pass, so a struct that grows never breaks an older kernel as
// long as we pass only the size covering the fields we set.
struct RulesetAttr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};

struct PathBeneathAttr {
  uint64_t allowed_access;
  int32_t parent_fd;
} __attribute__((packed));

std::string ErrnoText(int error) { return std::strerror(error); }

void AppendName(std::string* out, const char* name) {
  if (!out->empty()) *out += ',';
  *out += name;
}

template <size_t N>
std::string Names(uint64_t bits, const char* const (&names)[N]) {
  std::string out;
  for (size_t i = 0; i < N; ++i)
    if (bits & (1ULL << i)) AppendName(&out, names[i]);
  if (bits >> N) AppendName(&out, "unknown");
  return out.empty() ? "none" : out;
}

}  // namespace

int QueryLandlockAbi(std::string* err) {
  long abi = syscall(__NR_landlock_create_ruleset, nullptr, 0, landlock::kCreateRulesetVersion);
  if (abi >= 0) return static_cast<int>(abi);
  // ENOSYS: not built in; EOPNOTSUPP: built in but not enabled at boot (lsm=).
  if (errno != ENOSYS && errno != EOPNOTSUPP && err != nullptr)
    *err = "Failed to query the Landlock ABI: " + ErrnoText(errno);
  return 0;
}

LandlockAccess LandlockAccessForAbi(int abi) {
  using namespace landlock;
  LandlockAccess access;
  if (abi <= 0) return access;
  access.fs = kFsExecute | kFsWriteFile | kFsReadFile | kFsReadDir | kFsRemoveDir | kFsRemoveFile |
              kFsMakeChar | kFsMakeDir | kFsMakeReg | kFsMakeSock | kFsMakeFifo | kFsMakeBlock |
              kFsMakeSym;
  // Falls through on purpose, newest first, like the kernel's sandboxer.c: each ABI adds to the
  // one below it.
  switch (abi >= kNewestKnownAbi ? kNewestKnownAbi : abi) {
    case 7:
      access.restrict_flags |=
          kRestrictSelfLogSameExecOff | kRestrictSelfLogNewExecOn | kRestrictSelfLogSubdomainsOff;
      [[fallthrough]];
    case 6:
      access.scoped |= kScopeAbstractUnixSocket | kScopeSignal;
      [[fallthrough]];
    case 5:
      access.fs |= kFsIoctlDev;
      [[fallthrough]];
    case 4:
      access.net |= kNetBindTcp | kNetConnectTcp;
      [[fallthrough]];
    case 3:
      access.fs |= kFsTruncate;
      [[fallthrough]];
    case 2:
      access.fs |= kFsRefer;
      [[fallthrough]];
    default:
      break;
  }
  return access;
}

LandlockAccess RestrictToAbi(const LandlockAccess& wanted, int abi) {
  LandlockAccess known = LandlockAccessForAbi(abi);
  return LandlockAccess{wanted.fs & known.fs, wanted.net & known.net, wanted.scoped & known.scoped,
                        wanted.restrict_flags & known.restrict_flags};
}

std::string FsAccessNames(uint64_t fs) {
  static const char* const kNames[] = {"execute",    "write_file",  "read_file", "read_dir",
                                       "remove_dir", "remove_file", "make_char", "make_dir",
                                       "make_reg",   "make_sock",   "make_fifo", "make_block",
                                       "make_sym",   "refer",       "truncate",  "ioctl_dev"};
  return Names(fs, kNames);
}

std::string NetAccessNames(uint64_t net) {
  static const char* const kNames[] = {"bind_tcp", "connect_tcp"};
  return Names(net, kNames);
}

std::string ScopeNames(uint64_t scoped) {
  static const char* const kNames[] = {"abstract_unix_socket", "signal"};
  return Names(scoped, kNames);
}

LandlockRuleset::~LandlockRuleset() { Close(); }

LandlockRuleset::LandlockRuleset(LandlockRuleset&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), handled_(other.handled_) {}

LandlockRuleset& LandlockRuleset::operator=(LandlockRuleset&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = std::exchange(other.fd_, -1);
    handled_ = other.handled_;
  }
  return *this;
}

void LandlockRuleset::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

bool LandlockRuleset::Create(const LandlockAccess& handled, std::string* err) {
  Close();
  RulesetAttr attr = {handled.fs, handled.net, handled.scoped};
  // Pass only the fields in use: a kernel older than a field rejects a size that covers it.
  size_t size = handled.scoped != 0 ? sizeof(attr)
                : handled.net != 0  ? offsetof(RulesetAttr, scoped)
                                    : offsetof(RulesetAttr, handled_access_net);
  // The ruleset descriptor is always O_CLOEXEC (the kernel sets it); it never reaches rsync.
  long fd = syscall(__NR_landlock_create_ruleset, &attr, size, 0U);
  if (fd < 0) {
    *err = "Failed to create a Landlock ruleset: " + ErrnoText(errno);
    return false;
  }
  fd_ = static_cast<int>(fd);
  handled_ = handled;
  return true;
}

bool LandlockRuleset::AllowPath(const std::string& path, uint64_t access, std::string* err) const {
  access &= handled_.fs;
  if (access == 0) return true;
  int fd = open(path.c_str(), O_PATH | O_CLOEXEC);
  if (fd < 0) {
    *err = "Failed to open \"" + path + "\": " + ErrnoText(errno);
    return false;
  }
  bool ok = AllowFd(fd, path, access, err);
  close(fd);
  return ok;
}

bool LandlockRuleset::AllowFd(int fd, const std::string& name, uint64_t access,
                              std::string* err) const {
  access &= handled_.fs;
  if (access == 0) return true;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    *err = "Failed to stat \"" + name + "\": " + ErrnoText(errno);
    return false;
  }
  if (!S_ISDIR(st.st_mode)) access &= landlock::kFsFileRights;
  PathBeneathAttr rule = {access, fd};
  long rc =
      access == 0 ? 0 : syscall(__NR_landlock_add_rule, fd_, landlock::kRulePathBeneath, &rule, 0U);
  if (rc != 0) {
    *err = "Failed to update the ruleset with \"" + name + "\": " + ErrnoText(errno);
    return false;
  }
  return true;
}

}  // namespace rrsync
