#include "process_account.h"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string_view>

namespace rrsync::test_accounts {
namespace {

constexpr char kUseradd[] = "/usr/sbin/useradd";
constexpr char kUserdel[] = "/usr/sbin/userdel";
constexpr int kAttempts = 50;
constexpr useconds_t kRetryMicros = 100 * 1000;

// The lock that orders account changes against HoldAccountsStable. Root-only (the tests that
// change accounts run as root); never opened through a symlink.
int OpenLockFile() {
  const char* path = access("/run/lock", W_OK) == 0 ? "/run/lock/rrsync-test-accounts.lock"
                                                    : "/tmp/rrsync-test-accounts.lock";
  return open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
}

int shared_lock_fd = -1;  // HoldAccountsStable's, while held

void TakeSharedLock() {
  if (shared_lock_fd >= 0) return;
  int fd = OpenLockFile();
  if (fd < 0) return;
  while (flock(fd, LOCK_SH) != 0 && errno == EINTR) {
  }
  shared_lock_fd = fd;
}

// An exclusive hold for one account change. flock locks belong to the open file, so this
// process's own shared lock would block it: set it aside meanwhile.
class ExclusiveAccounts {
 public:
  ExclusiveAccounts() : had_shared_(shared_lock_fd >= 0) {
    if (had_shared_) {
      close(shared_lock_fd);
      shared_lock_fd = -1;
    }
    fd_ = OpenLockFile();
    if (fd_ >= 0) {
      while (flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
      }
    }
  }
  ~ExclusiveAccounts() {
    if (fd_ >= 0) close(fd_);
    if (had_shared_) TakeSharedLock();
  }
  ExclusiveAccounts(const ExclusiveAccounts&) = delete;
  ExclusiveAccounts& operator=(const ExclusiveAccounts&) = delete;

 private:
  bool had_shared_;
  int fd_ = -1;
};

// The accounts this process made, deleted by the exit handler. Only the creating process
// deletes: a forked child that calls exit() must not take its parent's account away.
struct Owned {
  std::mutex mutex;
  pid_t owner = 0;
  std::vector<std::pair<std::string, bool>> accounts;  // name, remove_home
};

Owned& OwnedAccounts() {
  static Owned* owned = new Owned;  // never destroyed: the exit handler still needs it
  return *owned;
}

bool AccountExists(const std::string& name) {
  struct passwd pw;
  struct passwd* found = nullptr;
  std::vector<char> buf(16384);
  return getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr;
}

// userdel, retried while another process holds the passwd lock or a session of the account is
// still ending. Gives up quietly: a later start removes what is left (RemoveStaleAccounts).
void DeleteAccount(const std::string& name, bool remove_home) {
  ExclusiveAccounts exclusive;
  for (int attempt = 0; attempt < kAttempts && AccountExists(name); ++attempt) {
    std::vector<std::string> argv = {kUserdel};
    if (remove_home) argv.push_back("--remove");
    argv.push_back(name);
    if (RunQuietly(argv) == 0) return;
    usleep(kRetryMicros);
  }
}

void DeleteOwnedAccounts() {
  Owned& owned = OwnedAccounts();
  std::lock_guard<std::mutex> lock(owned.mutex);
  if (owned.owner != getpid()) return;
  for (const auto& [name, remove_home] : owned.accounts) DeleteAccount(name, remove_home);
  owned.accounts.clear();
}

// The PID in PREFIX-PID, or 0 if `name` is not of that form.
pid_t OwnerPid(std::string_view name, const std::string& prefix) {
  if (name.size() <= prefix.size() + 1 || name.substr(0, prefix.size()) != prefix ||
      name[prefix.size()] != '-') {
    return 0;
  }
  std::string_view digits = name.substr(prefix.size() + 1);
  if (digits.size() > 9) return 0;
  pid_t pid = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return 0;
    pid = pid * 10 + (c - '0');
  }
  return pid;
}

// True if a running process has `uid` as its real, effective, saved or filesystem uid.
bool UidInUse(uid_t uid) {
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return true;  // cannot tell: the safe side
  bool in_use = false;
  while (struct dirent* entry = readdir(proc)) {
    std::string_view name = entry->d_name;
    if (name.empty() || name.find_first_not_of("0123456789") != std::string_view::npos) continue;
    FILE* status = fopen(("/proc/" + std::string(name) + "/status").c_str(), "re");
    if (status == nullptr) continue;  // it ended meanwhile
    char line[256];
    while (fgets(line, sizeof line, status) != nullptr) {
      unsigned long ids[4];
      if (sscanf(line, "Uid: %lu %lu %lu %lu", &ids[0], &ids[1], &ids[2], &ids[3]) == 4) {
        for (unsigned long id : ids) in_use = in_use || id == uid;
        break;
      }
    }
    fclose(status);
    if (in_use) break;
  }
  closedir(proc);
  return in_use;
}

// The account named exactly `prefix`, shared by every process in older test code: nothing made
// by this code uses that name any more, but an older test binary may still be running as it.
void RemoveLegacySharedAccount(const std::string& prefix, bool remove_home) {
  struct passwd pw;
  struct passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (getpwnam_r(prefix.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    return;
  }
  if (UidInUse(pw.pw_uid)) return;
  // userdel --remove deletes whatever the home field says: only the one that code created.
  DeleteAccount(prefix, remove_home && std::string(pw.pw_dir) == "/var/lib/" + prefix);
}

}  // namespace

int ChangeAccounts(const std::vector<std::string>& argv) {
  ExclusiveAccounts exclusive;
  int status = -1;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    status = RunQuietly(argv);
    if (status != 1 && status != 10) break;
    usleep(kRetryMicros);
  }
  return status;
}

int RunQuietly(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
    }
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void HoldAccountsStable() { TakeSharedLock(); }

std::string ProcessAccountName(const std::string& prefix) {
  return prefix + "-" + std::to_string(getpid());
}

void RemoveStaleAccounts(const std::string& prefix, bool remove_home) {
  std::vector<std::string> stale;
  setpwent();
  while (struct passwd* pw = getpwent()) {
    pid_t pid = OwnerPid(pw->pw_name, prefix);
    // ESRCH only: EPERM means the process exists.
    if (pid > 0 && pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH) {
      stale.push_back(pw->pw_name);
    }
  }
  endpwent();
  for (const std::string& name : stale) DeleteAccount(name, remove_home);
  RemoveLegacySharedAccount(prefix, remove_home);
}

bool EnsureProcessAccount(const std::string& prefix,
                          const std::vector<std::string>& useradd_options, bool remove_home,
                          std::string* err) {
  static std::mutex creating;
  std::lock_guard<std::mutex> lock(creating);
  std::string name = ProcessAccountName(prefix);
  Owned& owned = OwnedAccounts();
  {
    std::lock_guard<std::mutex> owned_lock(owned.mutex);
    if (owned.owner == getpid()) {
      for (const auto& account : owned.accounts) {
        if (account.first == name && AccountExists(name)) return true;
      }
    }
  }
  RemoveStaleAccounts(prefix, remove_home);
  // An account with this process's name left by a crashed process of the same PID: no running
  // process can own it, so it is ours now and is made afresh.
  if (AccountExists(name)) DeleteAccount(name, remove_home);
  std::vector<std::string> argv = {kUseradd};
  argv.insert(argv.end(), useradd_options.begin(), useradd_options.end());
  argv.push_back(name);
  const int status = ChangeAccounts(argv);
  if (status != 0 || !AccountExists(name)) {
    *err = "useradd " + name + " failed with status " + std::to_string(status);
    return false;
  }
  std::lock_guard<std::mutex> owned_lock(owned.mutex);
  if (owned.owner != getpid()) {
    owned.owner = getpid();
    owned.accounts.clear();
    std::atexit(DeleteOwnedAccounts);
  }
  owned.accounts.emplace_back(name, remove_home);
  return true;
}

}  // namespace rrsync::test_accounts
