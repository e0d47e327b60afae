#include "session_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

#include "escape.h"

namespace rrsync {

namespace {

// The longest command quoted in a log line: a hostile client can send megabytes.
constexpr size_t kMaxLoggedCommand = 4096;

std::string Now() {
  time_t t = time(nullptr);
  struct tm tm;
  localtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

}  // namespace

SessionLog::SessionLog(const std::string& path) {
  struct stat before;
  if (lstat(path.c_str(), &before) != 0 || !S_ISREG(before.st_mode)) return;
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  struct stat after;
  // The file opened must be the regular file that was looked at, not one swapped in since.
  if (!fd.valid() || fstat(fd.get(), &after) != 0 || !S_ISREG(after.st_mode) ||
      after.st_dev != before.st_dev || after.st_ino != before.st_ino)
    return;
  fd_ = std::move(fd);
}

void SessionLog::Write(const std::string& line) {
  if (!fd_.valid()) return;
  // One write() of the whole line, so concurrent sessions' lines do not interleave.
  ssize_t n = write(fd_.get(), line.data(), line.size());
  (void)n;  // a failed log write must never block or fail the session
}

void SessionLog::Accepted(const std::string& host, const std::vector<std::string>& argv,
                          const std::string& notes) {
  if (!fd_.valid()) return;  // no log file: do not format 10,000 arguments for nothing
  std::string words = "[";
  for (size_t i = 0; i < argv.size(); ++i) {
    if (i) words += ", ";
    words += PythonRepr(argv[i]);
  }
  words += "]";
  std::string line = Now() + " " + EscapeUntrusted(host, 64) + " run " +
                     EscapeUntrusted(words, kMaxLoggedCommand);
  if (!notes.empty()) line += " " + EscapeUntrusted(notes);
  Write(line + "\n");
}

void SessionLog::Refused(const std::string& host, const std::string& reason,
                         const std::string& command) {
  if (!fd_.valid()) return;
  Write(Now() + " " + EscapeUntrusted(host, 64) + " refused " +
        EscapeUntrusted(PythonRepr(reason)) + " command " +
        EscapeUntrusted(PythonRepr(command), kMaxLoggedCommand) + "\n");
}

void SessionLog::Finished(const std::string& host, int status, double seconds) {
  if (!fd_.valid()) return;
  char took[32];
  std::snprintf(took, sizeof(took), "%.3f", seconds);
  Write(Now() + " " + EscapeUntrusted(host, 64) + " finished status=" + std::to_string(status) +
        " seconds=" + took + "\n");
}

void SessionLog::Snapshot(const std::string& host, const std::string& outcome) {
  if (!fd_.valid()) return;
  Write(Now() + " " + EscapeUntrusted(host, 64) + " snapshot " + EscapeUntrusted(outcome) + "\n");
}

std::string ClientHost(const char* ssh_connection) {
  if (ssh_connection == nullptr) return "unknown";
  std::string value = ssh_connection;
  std::string host = value.substr(0, value.find(' '));
  if (host.starts_with("::ffff:")) host.erase(0, 7);
  return host.empty() ? "unknown" : host;
}

}  // namespace rrsync
