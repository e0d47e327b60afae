// Shared fixtures for tests: scoped temp trees and running programs.
#ifndef RRSYNC_TESTS_TEST_SUPPORT_H_
#define RRSYNC_TESTS_TEST_SUPPORT_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rrsync::testing {

// A directory under /tmp removed with everything in it at the end of the scope.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& content);
std::string ReadFile(const std::string& path);
void MakeDirs(const std::string& path);
bool Exists(const std::string& path);  // lstat succeeds

struct RunResult {
  int status = -1;  // exit status, or 128 + signal
  std::string out;
  std::string err;
};

// Runs `argv` (argv[0] an absolute path) with exactly `env` as its environment, in `cwd`, with
// stdin from /dev/null, and collects its output.
RunResult RunProgram(const std::vector<std::string>& argv,
                     const std::map<std::string, std::string>& env, const std::string& cwd);

}  // namespace rrsync::testing

#endif  // RRSYNC_TESTS_TEST_SUPPORT_H_
