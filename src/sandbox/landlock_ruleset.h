// The thin layer over the Landlock system calls: ABI probe, best-effort downgrade of the rights
// to what the running kernel knows, and a ruleset descriptor in an owning type.
#ifndef RRSYNC_LANDLOCK_RULESET_H_
#define RRSYNC_LANDLOCK_RULESET_H_

#include <cstdint>
#include <string>

namespace rrsync {

// The Landlock constants, spelled out here because Debian 12's 6.1 kernel headers lack the ones
// added after 5.19; the values are kernel ABI and never change.
namespace landlock {

inline constexpr uint32_t kCreateRulesetVersion = 1U << 0;
inline constexpr int kRulePathBeneath = 1;
inline constexpr int kRuleNetPort = 2;  // ABI 4

// Filesystem rights.
inline constexpr uint64_t kFsExecute = 1ULL << 0;
inline constexpr uint64_t kFsWriteFile = 1ULL << 1;
inline constexpr uint64_t kFsReadFile = 1ULL << 2;
inline constexpr uint64_t kFsReadDir = 1ULL << 3;
inline constexpr uint64_t kFsRemoveDir = 1ULL << 4;
inline constexpr uint64_t kFsRemoveFile = 1ULL << 5;
inline constexpr uint64_t kFsMakeChar = 1ULL << 6;
inline constexpr uint64_t kFsMakeDir = 1ULL << 7;
inline constexpr uint64_t kFsMakeReg = 1ULL << 8;
inline constexpr uint64_t kFsMakeSock = 1ULL << 9;
inline constexpr uint64_t kFsMakeFifo = 1ULL << 10;
inline constexpr uint64_t kFsMakeBlock = 1ULL << 11;
inline constexpr uint64_t kFsMakeSym = 1ULL << 12;
inline constexpr uint64_t kFsRefer = 1ULL << 13;     // ABI 2
inline constexpr uint64_t kFsTruncate = 1ULL << 14;  // ABI 3
inline constexpr uint64_t kFsIoctlDev = 1ULL << 15;  // ABI 5

// Network rights (ABI 4).
inline constexpr uint64_t kNetBindTcp = 1ULL << 0;
inline constexpr uint64_t kNetConnectTcp = 1ULL << 1;

// Scopes (ABI 6): IPC with processes outside the domain.
inline constexpr uint64_t kScopeAbstractUnixSocket = 1ULL << 0;
inline constexpr uint64_t kScopeSignal = 1ULL << 1;

// landlock_restrict_self() flags (ABI 7).
inline constexpr uint32_t kRestrictSelfLogSameExecOff = 1U << 0;
inline constexpr uint32_t kRestrictSelfLogNewExecOn = 1U << 1;
inline constexpr uint32_t kRestrictSelfLogSubdomainsOff = 1U << 2;

// The only rights that mean anything on a file that is not a directory; the kernel rejects a
// rule on a file that carries any other.
inline constexpr uint64_t kFsFileRights =
    kFsExecute | kFsWriteFile | kFsReadFile | kFsTruncate | kFsIoctlDev;

// The newest ABI whose rights this file knows.
inline constexpr int kNewestKnownAbi = 7;

}  // namespace landlock

// Which access classes a ruleset handles (denies unless a rule allows). A right that is not
// handled is allowed: that is how Landlock stays compatible, and why the downgrade must be said.
struct LandlockAccess {
  uint64_t fs = 0;
  uint64_t net = 0;
  uint64_t scoped = 0;
  uint32_t restrict_flags = 0;

  bool operator==(const LandlockAccess&) const = default;
};

// Asks the kernel for its Landlock ABI version. Returns 0 when Landlock is not built in or is
// disabled at boot (ENOSYS, EOPNOTSUPP); any other failure is also reported as 0 with *err set.
int QueryLandlockAbi(std::string* err);

// Everything the given ABI knows about (fs, net, scopes, restrict flags); 0 knows nothing.
// ABIs newer than kNewestKnownAbi get what kNewestKnownAbi knows.
LandlockAccess LandlockAccessForAbi(int abi);

// `wanted` masked with what `abi` supports, as in the kernel's sandboxer.c downgrade.
LandlockAccess RestrictToAbi(const LandlockAccess& wanted, int abi);

// Names of the bits, comma-separated ("read_file,read_dir"); "none" for 0.
std::string FsAccessNames(uint64_t fs);
std::string NetAccessNames(uint64_t net);
std::string ScopeNames(uint64_t scoped);

// A Landlock ruleset descriptor (O_CLOEXEC), closed on destruction. Build it with Create, add
// rules, then RestrictSelf; rules can only narrow what the handled set denies.
class LandlockRuleset {
 public:
  LandlockRuleset() = default;
  ~LandlockRuleset();
  LandlockRuleset(LandlockRuleset&& other) noexcept;
  LandlockRuleset& operator=(LandlockRuleset&& other) noexcept;
  LandlockRuleset(const LandlockRuleset&) = delete;
  LandlockRuleset& operator=(const LandlockRuleset&) = delete;

  // Creates a ruleset handling `handled` (already restricted to the kernel's ABI).
  bool Create(const LandlockAccess& handled, std::string* err);

  // Allows `access` (masked with the handled set) beneath `path`, following symlinks: the rule
  // binds to the inode the path names now. A file that is not a directory keeps only the file
  // rights. An `access` that masks down to nothing adds no rule.
  bool AllowPath(const std::string& path, uint64_t access, std::string* err) const;

  // AllowPath for what descriptor `fd` holds (a mount that has no path yet: snapshot mode's
  // overlay); `name` is for messages.
  bool AllowFd(int fd, const std::string& name, uint64_t access, std::string* err) const;

  // The ruleset's descriptor (close-on-exec), for landlock_restrict_self: the calling thread and
  // everything it execs are confined to the ruleset with handled().restrict_flags. The kernel
  // requires no_new_privs first (without CAP_SYS_ADMIN); see ApplySandboxSyscalls.
  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  const LandlockAccess& handled() const { return handled_; }
  void Close();

 private:
  int fd_ = -1;
  LandlockAccess handled_;
};

}  // namespace rrsync

#endif  // RRSYNC_LANDLOCK_RULESET_H_
