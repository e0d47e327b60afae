// Small fixtures for the rrsync-admin tests: scratch directories, files, throwaway accounts.
#ifndef RRSYNC_TESTS_ADMIN_TEST_UTIL_H_
#define RRSYNC_TESTS_ADMIN_TEST_UTIL_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "admin_process.h"

namespace rrsync::admin_test {

// A directory under /tmp, removed with everything in it when destroyed.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A real account made with useradd (home `home`, which is not created), deleted with userdel
// when destroyed. The name is unique to this process; the password is "*" (key logins only).
class TestUser {
 public:
  TestUser(const std::string& home, const std::string& shell = "/bin/sh");
  ~TestUser();
  TestUser(const TestUser&) = delete;
  TestUser& operator=(const TestUser&) = delete;
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  const std::string& name() const { return name_; }
  uid_t uid() const { return uid_; }
  gid_t gid() const { return gid_; }
  // Moves the account's home to `home` (usermod -d; the directory is not touched).
  bool SetHome(const std::string& home);

 private:
  std::string name_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  bool ok_ = false;
  std::string error_;
};

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& text, mode_t mode = 0644);
// Runs argv, failing the current test if it cannot start.
ProcessResult RunCommand(const std::vector<std::string>& argv, int timeout_seconds = 120);
// Runs `/bin/sh -c script`.
ProcessResult Shell(const std::string& script, int timeout_seconds = 120);

// A copy of the built rrsync in a root-owned directory that no one else can write to, made once
// per test process and removed at exit. authorize and audit rightly refuse an rrsync that another
// user could replace, and the build tree may sit below a world-writable directory such as /tmp.
const std::string& TrustedRrsync();

}  // namespace rrsync::admin_test

#ifdef RRSYNC_BUILT_BINARY
#define RRSYNC_BINARY (::rrsync::admin_test::TrustedRrsync().c_str())
#endif

#endif  // RRSYNC_TESTS_ADMIN_TEST_UTIL_H_
