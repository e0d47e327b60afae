// The audit trail of every session: syslog (ident "rrsync"), and with -config a log file of
// text or JSON lines. What a client sent is escaped and capped in every line.
#ifndef RRSYNC_AUDIT_LOG_H_
#define RRSYNC_AUDIT_LOG_H_

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "config.h"
#include "unique_fd.h"

namespace rrsync {

// Who is asking, from what sshd tells rrsync.
struct SessionFacts {
  std::string client_address = "unknown";  // from SSH_CONNECTION
  std::string client_port;
  std::string user;               // the account rrsync runs as
  std::vector<std::string> keys;  // "ssh-ed25519 SHA256:..." per publickey line
  std::string module;             // with -config
};

// Address and port from SSH_CONNECTION's value ("ip port ip port"); "unknown" and "" without.
void ParseSshConnection(const char* ssh_connection, std::string* address, std::string* port);

// The keys of the "publickey TYPE BASE64" lines of sshd's ExposeAuthInfo file, each as
// "TYPE SHA256:FINGERPRINT" (what ssh-keygen -l prints). Other lines are ignored.
std::vector<std::string> KeyFingerprints(std::string_view auth_info);

// "SHA256:" + unpadded base64 of the SHA-256 of the decoded key blob; "" if not base64.
std::string Sha256Fingerprint(std::string_view base64_blob);

// Reads SSH_USER_AUTH's file (a regular file, not through a symlink, at most 64 KiB). Returns
// "" when it cannot.
std::string ReadUserAuthFile(const char* path);

// The login name of `uid` for the log: from `passwd_file` (the passwd(5) format) when it lists
// the uid, else from getpwuid (NSS: LDAP, sssd...), else "". Reading the file first spares a
// local account NSS's start-up, a tenth of a session's own time.
std::string UserName(uid_t uid, const char* passwd_file = "/etc/passwd");

// Text for JSON strings: quotes, backslashes and control characters escaped. The input must
// already be valid UTF-8 (EscapeUntrusted's output is).
std::string JsonString(std::string_view text);

struct AuditLogOptions {
  int facility = -1;  // syslog facility; -1 = LOG_AUTH
  std::string syslog_socket = "/dev/log";
  bool report_syslog_failure = false;  // say once on stderr when syslog cannot be reached
  std::string file;                    // "" = no log file
  LogFormat format = LogFormat::kText;
};

class AuditLog {
 public:
  // Connects to syslog and opens the log file, if any: append-only, never through a symlink,
  // created 0600 if missing. What cannot be reached is reported once on stderr (syslog only
  // with report_syslog_failure); the session goes on.
  explicit AuditLog(AuditLogOptions options);

  // Connects to the syslog socket (again, if the constructor could not) and keeps the
  // connection (close-on-exec) for later lines: the sandbox forbids reaching it by name.
  void ConnectSyslog();

  void set_facts(SessionFacts facts) { facts_ = std::move(facts); }
  SessionFacts& facts() { return facts_; }

  // The session may run: `mode` ("read-only"...), the sandbox state ("landlock-abi7", "off"),
  // what else there is to say (the rights in force, warnings, options rsync lacks), rsync's argv.
  void Accepted(const std::string& mode, const std::string& sandbox, const std::string& notes,
                const std::vector<std::string>& argv);
  // The session is refused: why, and what the client asked for.
  void Refused(const std::string& reason, const std::string& command);
  // What became of a snapshot push (snapshot mode only): the snapshot made, or none and why.
  struct SnapshotOutcome {
    std::string level;  // "btrfs-subvolume", "overlay", "link-dest"
    std::string made;   // the snapshot's name; "" when none was made
    std::string why;  // when none: "rsync failed: ...", "merge failed: ...", "publish failed: ..."
  };
  // rsync ended (only when rrsync waited for it): its exit status and how long it took, and for
  // a snapshot push (`snapshot` non-null) snapshot=NAME|none, snapshot_level and snapshot_why.
  void Finished(int status, double seconds, const SnapshotOutcome* snapshot = nullptr);

 private:
  struct Field {
    Field(std::string n, std::string v) : name(std::move(n)), value(std::move(v)) {}
    std::string name;
    std::string value;     // escaped already
    bool is_list = false;  // `list` holds the values (escaped already)
    bool is_number = false;
    std::vector<std::string> list;
  };
  void Emit(int priority, const std::string& event, const std::vector<Field>& fields);
  std::vector<Field> FactFields() const;
  void SendSyslog(int priority, const std::string& message);
  void ReportOnce(bool* reported, const std::string& what);

  AuditLogOptions options_;
  SessionFacts facts_;
  UniqueFd file_;
  UniqueFd syslog_;  // connected by ConnectSyslog, else one socket per line
  bool file_reported_ = false;
  bool syslog_reported_ = false;
};

}  // namespace rrsync

#endif  // RRSYNC_AUDIT_LOG_H_
