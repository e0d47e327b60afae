// A throwaway OpenSSH server on 127.0.0.1 and the real ssh/rsync clients that talk to it, so a
// test can run rrsync exactly as an admin deploys it: as the forced command of a
// `restrict,command="..."` line in authorized_keys, reached through an ssh config alias.
//
// Everything lives in one scratch directory that the harness creates and removes; the sshd it
// starts listens on 127.0.0.1 only, on a free port, with its own host key, config, PidFile and log,
// and is stopped by the destructor (so also when an ASSERT fails) and by the kernel if the test
// process dies (PR_SET_PDEATHSIG). Needs root: sshd must switch users.
//
// Typical use (see tests/e2e/e2e_test.cc for many more):
//
//   std::string err;
//   std::unique_ptr<SshdHarness> sshd = SshdHarness::Start({}, &err);
//   ASSERT_TRUE(sshd) << err;
//   Account root = RootAccount();
//   ASSERT_TRUE(sshd->AddClient(root, &err)) << err;            // key + ssh config alias
//   std::string rrsync = sshd->InstallExecutable(RRSYNC_BINARY, &err);
//   ASSERT_TRUE(sshd->AuthorizeRrsync(root, rrsync, {"-ro"}, data_dir, &err)) << err;
//   CommandResult r = sshd->Rsync(root, {"-a", sshd->Alias() + ":/", dest + "/"});
//   EXPECT_EQ(r.exit_code, 0) << r.Describe();
//
// Set RRSYNC_E2E_KEEP=1 in the test's environment to keep the scratch directory for a post-mortem
// (its path is printed on stderr).
#ifndef RRSYNC_TESTS_E2E_SSHD_HARNESS_H_
#define RRSYNC_TESTS_E2E_SSHD_HARNESS_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "unique_fd.h"

namespace rrsync::e2e {

// A local account: the one a client command runs as, and the one it logs into on the server
// (the harness uses the same account on both ends).
struct Account {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
};

// The account the published setup uses.
Account RootAccount();

// The prefix of the unprivileged accounts the end-to-end tests use: each test process has its
// own, TestAccountName() (kTestAccountName-PID), so parallel ctest processes never share one.
inline constexpr char kTestAccountName[] = "rrsync-e2e";

// This process's test account: kTestAccountName + "-" + its PID.
std::string TestAccountName();

// Creates this process's test account if it does not exist yet: a system user with its own
// group, a home directory (sshd chdirs there), /bin/sh as shell (sshd runs the forced command
// through it) and password "*" (key-only; with UsePAM no, sshd refuses an account whose password
// starts with "!"). Deleted, with its home, when the process exits; the accounts of crashed test
// processes (their PID gone) are deleted here first. Safe to call from several processes at once.
bool EnsureTestAccount(Account* account, std::string* err);

// What one finished command did.
struct CommandResult {
  int exit_code = -1;  // the exit status; 128+N if killed by signal N; -1 if it never ran
  bool timed_out = false;
  std::string out;  // everything it wrote to stdout
  std::string err;  // everything it wrote to stderr
  // A readable account of the above, for failure messages.
  std::string Describe() const;
};

struct RunOptions {
  std::vector<std::string>
      env;                   // "NAME=value" entries added to (or replacing) the clean environment
  std::string cwd;           // working directory; empty means the account's home
  int timeout_seconds = 60;  // then the whole process group is killed
};

// Runs argv as `account` with stdin from /dev/null, in a clean environment (PATH, HOME, USER,
// LOGNAME, LC_ALL=C and options.env; nothing inherited from the test, notably no SSH_AUTH_SOCK),
// in a process group of its own, and captures both output streams. argv[0] is searched in PATH.
CommandResult Run(const Account& account, const std::vector<std::string>& argv,
                  const RunOptions& options = {});

// A process that runs while the test does something else (an ssh-agent, an ssh holding a port
// forward). Output goes to memory files, read by Stop. Stopped (SIGTERM, then SIGKILL) when
// destroyed; killed by the kernel if the test process dies.
class BackgroundProcess {
 public:
  // Starts argv like Run does. Returns nullptr and fills *err if it could not be started.
  static std::unique_ptr<BackgroundProcess> Start(const Account& account,
                                                  const std::vector<std::string>& argv,
                                                  const RunOptions& options, std::string* err);
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  pid_t pid() const { return pid_; }
  // True while the process has not exited.
  bool Running();
  // Waits up to timeout_ms (-1: as long as it takes) for it to exit; true once it has.
  bool WaitFor(int timeout_ms);
  // Sends SIGTERM to its process group (SIGKILL after 5 s) and returns what it did.
  CommandResult Stop();

 private:
  BackgroundProcess() = default;
  pid_t pid_ = -1;
  UniqueFd pidfd_;  // polls for the exit without racing pid reuse
  UniqueFd out_;    // memory files holding its stdout and stderr
  UniqueFd err_;
  bool reaped_ = false;
  int status_ = 0;
};

// Generates an ed25519 key pair with no passphrase at `path` (and path + ".pub"), owned by
// `owner`, mode 0600, the way ssh-keygen run by that user would leave it.
bool GenerateKey(const Account& owner, const std::string& path, std::string* err);

// The authorized_keys line that makes sshd run `command` and nothing else for `public_key`,
// with every forwarding, the pty and ~/.ssh/rc turned off:
//   restrict,command="COMMAND" ssh-ed25519 AAAA... comment
// Double quotes in `command` are escaped as \" (the only escape sshd's option parser knows).
std::string ForcedCommandLine(const std::string& command, const std::string& public_key);

class SshdHarness {
 public:
  struct Options {
    // Appended to the generated sshd_config (sshd uses the first value it sees for most keywords,
    // so this can add settings but not override the generated ones).
    std::string extra_config;
  };

  // Creates the scratch directory and starts sshd. Returns nullptr and fills *err on failure.
  static std::unique_ptr<SshdHarness> Start(const Options& options, std::string* err);
  // Stops sshd and its sessions and removes the scratch directory.
  ~SshdHarness();
  SshdHarness(const SshdHarness&) = delete;
  SshdHarness& operator=(const SshdHarness&) = delete;

  // The scratch directory: mode 0755, and it and every directory above it root-owned and not
  // group- or world-writable, as sshd's StrictModes demands of the authorized_keys path. Tests
  // build their trees in here.
  const std::string& dir() const { return dir_; }
  int port() const { return port_; }
  // The Host name of the ssh config alias that AddClient writes.
  std::string Alias() const { return "backup"; }
  // sshd's log so far (LogLevel DEBUG1).
  std::string SshdLog() const;
  // The authorized_keys file sshd reads for `account` (AuthorizedKeysFile DIR/authorized_keys/%u).
  std::string AuthorizedKeysPath(const Account& account) const;

  // Copies an executable to dir()/bin/ (root-owned, 0755), where every account can run it, and
  // returns its path; "" and *err on failure.
  std::string InstallExecutable(const std::string& source, std::string* err);

  // The client side for `account`: a key pair, a known_hosts file holding this sshd's host key and
  // an ssh config with Host Alias() (IdentitiesOnly, ForwardAgent no, BatchMode, strict host key
  // checking), all under dir()/clients/NAME/ and owned by the account.
  bool AddClient(const Account& account, std::string* err);
  std::string ConfigPath(const Account& account) const;
  std::string KeyPath(const Account& account) const;  // the private key; ".pub" appended: public
  // The client's public key line ("ssh-ed25519 AAAA... comment"), "" before AddClient.
  std::string PublicKey(const Account& account) const;

  // Replaces the account's authorized_keys file with `lines` (root-owned, 0644).
  bool SetAuthorizedKeys(const Account& account, const std::string& lines, std::string* err);
  // Authorizes the account's client key for `rrsync FLAGS... DIR` only:
  //   restrict,command="RRSYNC FLAGS DIR" ssh-ed25519 ...
  bool AuthorizeRrsync(const Account& account, const std::string& rrsync,
                       const std::vector<std::string>& flags, const std::string& dir,
                       std::string* err);

  // `ssh -F CONFIG ARGS...` as the account; put Alias() in args where ssh expects the host.
  CommandResult Ssh(const Account& account, const std::vector<std::string>& args,
                    const RunOptions& options = {}) const;
  // `rsync -e 'ssh -F CONFIG' ARGS...` as the account; remote paths are Alias() + ":PATH".
  CommandResult Rsync(const Account& account, const std::vector<std::string>& args,
                      const RunOptions& options = {}) const;

 private:
  SshdHarness() = default;
  bool StartSshd(const Options& options, std::string* err);
  void StopSshd();

  std::string dir_;
  int port_ = 0;
  std::unique_ptr<BackgroundProcess> sshd_;
};

// The differences between two trees described path by path (path -> description), one line
// each ("missing", "changed", "unexpected"); "" when they are equal.
std::string DiffTrees(const std::map<std::string, std::string>& want,
                      const std::map<std::string, std::string>& got);

}  // namespace rrsync::e2e

#endif  // RRSYNC_TESTS_E2E_SSHD_HARNESS_H_
