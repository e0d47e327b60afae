#include "admin_test_util.h"

#include <gtest/gtest.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>

#include "process_account.h"

namespace rrsync::admin_test {

ScratchDir::ScratchDir() {
  char tmpl[] = "/tmp/rrsync-admin-test.XXXXXX";
  char* made = mkdtemp(tmpl);
  if (made == nullptr) {
    ADD_FAILURE() << "mkdtemp failed";
    return;
  }
  path_ = made;
  chmod(path_.c_str(), 0755);
}

ScratchDir::~ScratchDir() {
  if (!path_.empty()) RunCommand({"rm", "-rf", "--one-file-system", path_});
}

TestUser::TestUser(const std::string& home, const std::string& shell) {
  static std::atomic<int> counter{0};
  name_ = "rra" + std::to_string(getpid()) + "x" + std::to_string(counter++);
  // Under the test accounts' lock (tests/accounts/process_account.h), like every other test
  // account change: a sandbox test holding /etc/passwd stable must not see it rewritten.
  const int status = test_accounts::ChangeAccounts(
      {"/usr/sbin/useradd", "-M", "-d", home, "-s", shell, "-U", "-p", "*", name_});
  if (status != 0) {
    error_ = "useradd " + name_ + " failed with status " + std::to_string(status);
    return;
  }
  ok_ = true;
  struct passwd* pw = getpwnam(name_.c_str());
  if (pw == nullptr) {
    ok_ = false;
    error_ = "useradd succeeded but getpwnam fails";
    return;
  }
  uid_ = pw->pw_uid;
  gid_ = pw->pw_gid;
}

bool TestUser::SetHome(const std::string& home) {
  return test_accounts::ChangeAccounts({"/usr/sbin/usermod", "-d", home, name_}) == 0;
}

TestUser::~TestUser() {
  if (!ok_) return;
  // 8: a session of the account is still ending; retried like a busy passwd lock.
  for (int attempt = 0; attempt < 20; ++attempt) {
    const int status = test_accounts::ChangeAccounts({"/usr/sbin/userdel", name_});
    if (status == 0) return;
    if (status != 8) break;
    usleep(200 * 1000);
  }
  ADD_FAILURE() << "userdel " << name_ << " failed";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  chmod(path.c_str(), mode);
}

ProcessResult RunCommand(const std::vector<std::string>& argv, int timeout_seconds) {
  ProcessResult result;
  std::string err;
  if (!RunProcess(argv, timeout_seconds, &result, &err)) ADD_FAILURE() << err;
  return result;
}

ProcessResult Shell(const std::string& script, int timeout_seconds) {
  return RunCommand({"/bin/sh", "-c", script}, timeout_seconds);
}

namespace {
std::string trusted_dir;
void RemoveTrustedDir() {
  if (!trusted_dir.empty()) {
    unlink((trusted_dir + "/rrsync").c_str());
    rmdir(trusted_dir.c_str());
  }
}
}  // namespace

const std::string& TrustedRrsync() {
  static const std::string path = [] {
#ifdef RRSYNC_BUILT_BINARY
    const char* built = RRSYNC_BUILT_BINARY;
#else
    const char* built = "/usr/bin/rrsync";
#endif
    char tmpl[] = "/run/rrsync-admin-bin.XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return std::string(built);
    chmod(tmpl, 0755);
    trusted_dir = tmpl;
    std::atexit(RemoveTrustedDir);
    std::string copy = trusted_dir + "/rrsync";
    if (RunCommand({"cp", built, copy}).exit_code != 0) return std::string(built);
    chmod(copy.c_str(), 0755);
    return copy;
  }();
  return path;
}

}  // namespace rrsync::admin_test
