// `rrsync-admin audit`: checks a server's sshd settings, authorized keys, login shells, kernel and
// rsync for the mistakes that silently undo an rrsync restriction.
#ifndef RRSYNC_ADMIN_AUDIT_H_
#define RRSYNC_ADMIN_AUDIT_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "admin_authorized_keys.h"

namespace rrsync {

enum class AuditStatus { kPass, kWarn, kFail };

// One line of the report. `check` is a stable identifier (e.g. "sshd.permit_root_login") for
// scripts and tests; `subject` says what was looked at (sshd, kernel, a user, a key line).
struct AuditFinding {
  AuditStatus status = AuditStatus::kPass;
  std::string check;
  std::string subject;
  std::string message;
};

// The effective sshd settings, as `sshd -T` prints them: lower-case keyword, then value.
// Keywords printed once per value (acceptenv) keep every value.
struct SshdSettings {
  std::map<std::string, std::vector<std::string>> values;

  // The first value of `keyword`, or `fallback` when sshd did not print it.
  std::string Get(const std::string& keyword, const std::string& fallback = "") const;
};

// Parses the text `sshd -T` prints.
SshdSettings ParseSshdSettings(std::string_view text);

// The connection `sshd -T -C` evaluates Match blocks for.
struct SshdConnection {
  std::string user;
  std::string host = "localhost";
  std::string addr = "127.0.0.1";
};

// Runs `sshd -T [-f config] [-C user=U,host=H,addr=A]` (no -C when `connection` is null) and
// parses what it prints. Returns false and fills *err when sshd fails, or when a value holds a
// comma or an equals sign that -C cannot carry.
bool EvaluateSshd(const std::string& sshd, const std::string& config,
                  const SshdConnection* connection, SshdSettings* settings, std::string* err);

// The literal addresses of a from="..." pattern list (a network stands for its first address),
// for `sshd -T -C addr=`: a Match Address block may apply only to them. Patterns and negations
// match too many addresses to try, and are skipped.
std::vector<std::string> LiteralAddresses(const std::string& from);

// Judges the server-wide settings: PermitRootLogin, PermitUserEnvironment, AcceptEnv,
// AllowAgentForwarding, AllowTcpForwarding (DisableForwarding covers both),
// AuthorizedKeysCommand.
void AuditSshdSettings(const SshdSettings& sshd, std::vector<AuditFinding>* findings);

// One account, as /etc/passwd describes it.
struct PasswdEntry {
  std::string name;
  unsigned uid = 0;
  unsigned gid = 0;
  std::string home;
  std::string shell;
};

// Parses passwd(5) text. Malformed lines are skipped.
std::vector<PasswdEntry> ParsePasswd(std::string_view text);

// Checks that `path` is an executable regular file that only root can replace: the file and
// every directory on the way to it, before and after resolving symlinks, are owned by root and
// not writable by group or others. Returns false and says why in *problem otherwise.
bool CheckTrustedExecutable(const std::string& path, std::string* problem);

// The kernel's Landlock ABI version, 0 when Landlock is unavailable.
int LandlockAbiVersion();

// Where audit takes its inputs from. The defaults read the running system; tests point them
// at scratch files so nothing on the machine is read or changed by accident.
struct AuditOptions {
  std::vector<std::string> users;  // empty: root, and every user whose keys mention rrsync
  std::string sshd = "/usr/sbin/sshd";
  std::string sshd_config;  // passed as `sshd -T -f FILE` when not empty
  std::string passwd = "/etc/passwd";
  std::string rsync = "/usr/bin/rsync";
  // sshd's PAM stack, read for pam_env's user_readenv=1; empty: none.
  std::string pam_sshd = "/etc/pam.d/sshd";
  int (*landlock_probe)() = LandlockAbiVersion;  // the kernel's Landlock ABI; tests play others
};

// Runs every check. Returns false and fills *err only when the audit itself could not run
// (sshd -T failed, the passwd file is unreadable, a named user does not exist).
bool RunAudit(const AuditOptions& options, std::vector<AuditFinding>* findings, std::string* err);

// One line of an authorized keys file sshd reads for an account, as `rrsync-admin keys` lists it.
struct AccountKeyLine {
  std::string file;   // the file's absolute path
  int line = 0;       // 1-based
  std::string where;  // "~/.ssh/authorized_keys line 3": audit's subject for it, after "USER: "
  bool parsed = false;
  std::string parse_error;
  AuthorizedKey key;
  std::string mode;  // "read-only", "write-only", "read-write" [", snapshots"]; "shell"; "other"
  std::string dir;   // rrsync's DIR (or -config FILE), the other forced command, or empty
  std::vector<AuditFinding> problems;  // audit's WARN and FAIL findings for this line
};

// Audits `user` as RunAudit does and lists every key line of every file sshd reads for the
// account (Match blocks applied), in sshd's order, each with audit's findings for it; the
// findings about the account as a whole go to *account.
bool ListAccountKeys(const AuditOptions& options, const std::string& user,
                     std::vector<AccountKeyLine>* lines, std::vector<AuditFinding>* account,
                     std::string* err);

// "PASS", "WARN" or "FAIL".
const char* AuditStatusName(AuditStatus status);

// The report as text: one `STATUS subject: message` line per finding and a summary line.
std::string FormatAuditText(const std::vector<AuditFinding>& findings);

// The report as a JSON document: {"findings": [...], "pass": N, "warn": N, "fail": N}.
std::string FormatAuditJson(const std::vector<AuditFinding>& findings);

}  // namespace rrsync

#endif  // RRSYNC_ADMIN_AUDIT_H_
