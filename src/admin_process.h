// Runs a helper program (ssh, ssh-keygen, sshd -T) for rrsync-admin and collects what it printed.
#ifndef RRSYNC_ADMIN_PROCESS_H_
#define RRSYNC_ADMIN_PROCESS_H_

#include <string>
#include <vector>

#include "unique_fd.h"

namespace rrsync {

// What a finished child did.
struct ProcessResult {
  int exit_code = -1;      // the exit status, or -1 when the child was killed by a signal
  int signal = 0;          // the signal that ended it, 0 when it exited
  bool timed_out = false;  // we killed it because it ran past the deadline
  std::string out;         // its stdout, at most kMaxProcessOutput bytes
  std::string err;         // its stderr, at most kMaxProcessOutput bytes
};

// Output beyond this is read and dropped, so a hostile peer cannot make us buffer without bound.
inline constexpr size_t kMaxProcessOutput = 256 * 1024;

// Runs argv[0] (looked up in PATH when it has no slash) with stdin from /dev/null, stdout and
// stderr captured, and waits at most `timeout_seconds` (0: no limit) before killing it. Returns
// false and fills *err only when the program could not be started.
bool RunProcess(const std::vector<std::string>& argv, int timeout_seconds, ProcessResult* result,
                std::string* err);

}  // namespace rrsync

#endif  // RRSYNC_ADMIN_PROCESS_H_
