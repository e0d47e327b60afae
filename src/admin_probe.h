// `rrsync-admin probe`: asks a login, from the client side, whether rrsync holds it.
#ifndef RRSYNC_ADMIN_PROBE_H_
#define RRSYNC_ADMIN_PROBE_H_

#include <string>
#include <string_view>
#include <vector>

namespace rrsync {

// What answered. The values are the exit codes of `rrsync-admin probe`, so that
// `rrsync-admin probe HOST && rsync -a HOST:/ /backup` only copies from a login rrsync holds.
enum class ProbeVerdict {
  kOurs = 0,          // this rrsync answered the probe (mode known)
  kShell = 1,         // NOT restricted: a shell ran the command
  kUsage = 2,         // (exit code only) bad command line
  kUnreachable = 3,   // ssh exited 255: no connection, or authentication failed
  kOtherRrsync = 4,   // another rrsync (the upstream Python script) holds the login
  kUnknown = 5,       // some other forced command, or an answer we cannot read
  kModeMismatch = 6,  // ours, but not in the mode --expect-mode asked for
};

struct ProbeResult {
  ProbeVerdict verdict = ProbeVerdict::kUnknown;
  std::string version;  // ours: the version= field
  std::string mode;     // ours: read-only, write-only or read-write
  std::string detail;   // what was seen, escaped, for the message
};

// The remote command: the probe request, then an echo only a shell would run.
std::string ProbeCommand(std::string_view nonce);

// Judges what the login did with ProbeCommand(nonce). A line that is exactly the nonce marker
// proves a shell ran the command, whatever else was printed, so it is checked first.
ProbeResult ClassifyProbe(std::string_view nonce, int ssh_exit_code, std::string_view out,
                          std::string_view err);

// A fresh random nonce (hex).
std::string MakeProbeNonce();

// The ssh command line: options that keep a probe from prompting or forwarding anything, the
// caller's ssh options, then `-- HOST COMMAND`.
std::vector<std::string> ProbeSshArgv(const std::string& ssh, const std::string& host,
                                      const std::vector<std::string>& ssh_options,
                                      const std::string& command, int connect_timeout);

// Runs the probe over ssh and classifies it. Returns false and fills *err only when ssh could
// not be started.
bool RunProbe(const std::string& ssh, const std::string& host,
              const std::vector<std::string>& ssh_options, int timeout_seconds, ProbeResult* result,
              std::string* err);

// One line for the user, e.g. "rrsync-admin probe: backup: restricted by rrsync 0.1.0 (read-only)".
std::string DescribeProbe(const std::string& host, const ProbeResult& result);

}  // namespace rrsync

#endif  // RRSYNC_ADMIN_PROBE_H_
