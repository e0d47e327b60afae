// `rrsync-admin sessions`: recent sessions from rrsync's logs, each start line paired with its
// `finished` line. Pure: the caller reads the log; nothing here touches a file.
#ifndef RRSYNC_ADMIN_SESSIONS_H_
#define RRSYNC_ADMIN_SESSIONS_H_

#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace rrsync {

// One session as the log tells it. Text fields are escaped for printing.
struct SessionRecord {
  std::string start;   // "YYYY-MM-DD HH:MM:SS" (local time, as rrsync logged it)
  std::string pid;     // rrsync's pid; empty in the -log=FILE format, which has none
  std::string user;    // the account ("" when the format does not say)
  std::string client;  // the client's address
  std::string key;     // the key's "TYPE SHA256:..." when sshd exposed it
  std::string module;
  std::string mode;     // "read-only"...; "" when not logged
  std::string what;     // "push DIR-ARGS", "pull DIR-ARGS", or the refused command
  std::string outcome;  // "ok", "failed", "refused", "unfinished"
  std::string reason;   // why it was refused
  int status = -1;      // rsync's exit status from the finished line
  double seconds = -1;  // its duration from the finished line
};

// Reads every format rrsync writes: the -log=FILE lines ("DATE TIME HOST run [...]", "... HOST
// refused 'REASON' command 'CMD'", "... HOST finished status=N seconds=S"), the config's log
// file in text ("DATE TIME rrsync[PID]: accepted k=v ...") or JSON lines, and syslog
// ("... rrsync[PID]: accepted ...", from /var/log/auth.log or journalctl -o short-iso). A
// finished line closes the open session of the same pid, or in the -log=FILE format the oldest
// open one from the same host. Other lines are skipped. Sessions come in log order.
std::vector<SessionRecord> ParseSessionLog(std::string_view text, int current_year);

// Turns --since (YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS], or N followed by m, h or d for minutes,
// hours or days before `now`) into "YYYY-MM-DD HH:MM:SS" local time, comparable with
// SessionRecord::start. False for anything else.
bool ParseSince(std::string_view since, std::time_t now, std::string* start);

std::string FormatSessionsText(const std::vector<SessionRecord>& sessions);
std::string FormatSessionsJson(const std::vector<SessionRecord>& sessions);

}  // namespace rrsync

#endif  // RRSYNC_ADMIN_SESSIONS_H_
