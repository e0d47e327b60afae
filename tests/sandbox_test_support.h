// Shared by the sandbox tests (rrsync_sandbox_tests, rrsync_sandbox_root_tests): scoped temp
// trees, running programs, snapshots of trees, and the fixture the hostile stand-in
// (tests/tools/hostile_rsync.cc) runs in, with its results parsed.
#ifndef RRSYNC_TESTS_SANDBOX_TEST_SUPPORT_H_
#define RRSYNC_TESTS_SANDBOX_TEST_SUPPORT_H_

#include <pwd.h>
#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rrsync::sandbox_test {

// A directory under /tmp (mode 0755: an unprivileged user must traverse it), removed with
// everything in it at the end of the scope.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& content);
std::string ReadFile(const std::string& path);

struct RunOptions {
  uid_t uid = static_cast<uid_t>(-1);  // drop to this user in the child before the exec
  gid_t gid = static_cast<gid_t>(-1);
  std::vector<std::string> env;  // replaces the environment when not empty
  std::string cwd;
};

struct RunResult {
  int status = -1;  // exit code, or 128 + signal
  std::string out;
  std::string err;
  double cpu_ms = 0;  // user + system time of the child and everything it waited for
};

// Runs `argv` (argv[0] an absolute path) with stdin from /dev/null and collects its output.
// Everything the child touches is prepared before the fork, so it may be called while another
// thread runs.
RunResult RunProgram(const std::vector<std::string>& argv, const RunOptions& options = {});

// lchown of `root` and everything beneath it.
void ChownTree(const std::string& root, uid_t uid, gid_t gid);

std::string Hex(const std::string& bytes);

// One line per path beneath `root` (root itself left out): type, mode, owner, size, content
// digest, link target, hard-link group, mtime, every xattr (ACLs are system.posix_acl_*).
std::map<std::string, std::string> Snapshot(const std::string& root);

// A restricted directory and an outside directory laid out as hostile_rsync expects, plus a TCP
// listener and an abstract unix socket, so that a refused connect is the sandbox, not "nobody
// listening". With `user`, the whole tree is that user's.
class HostileFixture {
 public:
  explicit HostileFixture(std::optional<passwd> user);
  ~HostileFixture();
  HostileFixture(const HostileFixture&) = delete;
  HostileFixture& operator=(const HostileFixture&) = delete;
  const std::string& dir() const { return dir_; }
  const std::string& outside() const { return out_; }

  // Appends `lines` (each ending in "\n") to the stand-in's plan.
  void AddToPlan(const std::string& lines) const;
  // The outside tree as it is now becomes what ExpectOutsideUntouched compares with (for a
  // fixture that adds files of its own).
  void RememberOutside();
  // The outside directory must be exactly as it was made (or remembered), and nothing from it
  // may have been linked into DIR.
  void ExpectOutsideUntouched() const;

 private:
  TempDir root_;
  std::string dir_, out_, abstract_name_;
  std::map<std::string, std::string> outside_as_made_;
  int tcp_ = -1, unix_ = -1, path_socket_ = -1;
};

// The stand-in's attempts that every sandbox must let through, those legitimate only for a
// push, and the escapes that must always be denied.
extern const std::vector<std::string> kAlwaysAllowed;
extern const std::vector<std::string> kPushOnly;
extern const std::vector<std::string> kEscapes;

// name -> "ALLOWED", "DENIED" or "ERROR"; pin lines are collected separately.
std::map<std::string, std::string> ParseHostile(const std::string& out,
                                                std::vector<std::string>* pins = nullptr);

// name -> the whole verdict with its errno ("DENIED EPERM"); pin lines left out.
std::map<std::string, std::string> ParseHostileOutcomes(const std::string& out);

// Runs `rrsync` as sshd would for a forced command: SSH_ORIGINAL_COMMAND is a push or a pull of
// "sub/", the working directory is `dir`, the arguments are `flags` then `dir`.
RunResult RunRrsync(const std::string& rrsync, const std::vector<std::string>& flags,
                    const std::string& dir, bool push, const RunOptions& base = {});

// Whether `rrsync` takes -rsync= and -sandbox= (what the hostile tests run it with).
bool RrsyncHasSandboxFlags(const std::string& rrsync);

}  // namespace rrsync::sandbox_test

#endif  // RRSYNC_TESTS_SANDBOX_TEST_SUPPORT_H_
