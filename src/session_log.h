// The session log file: a line per accepted and per refused session.
#ifndef RRSYNC_SESSION_LOG_H_
#define RRSYNC_SESSION_LOG_H_

#include <string>
#include <vector>

#include "unique_fd.h"

namespace rrsync {

class SessionLog {
 public:
  // Opens `path` for appending only if it already exists and is a regular file, never through a
  // symlink (as upstream). Without such a file nothing is logged.
  explicit SessionLog(const std::string& path);

  bool enabled() const { return fd_.valid(); }

  // "2026-11-24 15:49:21 HOST run ['/usr/bin/rsync', '--server', ...]" with untrusted text
  // escaped. `host` is the client address from SSH_CONNECTION.
  void Accepted(const std::string& host, const std::vector<std::string>& argv,
                const std::string& notes);
  // "... HOST refused 'REASON' command 'SSH_ORIGINAL_COMMAND'".
  void Refused(const std::string& host, const std::string& reason, const std::string& command);
  // "... HOST finished status=N seconds=S" once rsync has ended (N: its exit status, or 128
  // plus the signal that ended it).
  void Finished(const std::string& host, int status, double seconds);
  // Snapshot mode: what became of the push's snapshot ("made NAME ...", "not made (...)").
  void Snapshot(const std::string& host, const std::string& outcome);

 private:
  void Write(const std::string& line);

  UniqueFd fd_;
};

// The client address from SSH_CONNECTION's value ("ip port ip port"), or "unknown".
std::string ClientHost(const char* ssh_connection);

}  // namespace rrsync

#endif  // RRSYNC_SESSION_LOG_H_
