// `rrsync-admin keys` and `revoke`: the keys sshd accepts for an account, what each may do, and
// taking one away from every file sshd reads.
#ifndef RRSYNC_ADMIN_KEYS_H_
#define RRSYNC_ADMIN_KEYS_H_

#include <string>
#include <vector>

#include "admin_audit.h"

namespace rrsync {

// The listing as text: one block per key line (file and line, fingerprint, comment, options,
// mode, DIR, problems), then the account's own problems.
std::string FormatKeysText(const std::string& user, const std::vector<AccountKeyLine>& lines,
                           const std::vector<AuditFinding>& account);

// The same as a JSON document: {"user": ..., "keys": [...], "problems": [...]}.
std::string FormatKeysJson(const std::string& user, const std::vector<AccountKeyLine>& lines,
                           const std::vector<AuditFinding>& account);

// What `revoke` was asked to do.
struct RevokeRequest {
  AuditOptions audit;  // where sshd, its config and the passwd file are
  std::string user;
  std::string fingerprint;  // "SHA256:..." as ssh-keygen -l prints it, or
  std::string key_file;     // a .pub file holding the key
  bool dry_run = false;
};

// One line revoke removed (or, with dry_run, would remove).
struct RevokedLine {
  std::string file;
  int line = 0;
  std::string fingerprint;
  std::string comment;  // escaped for printing
};

// Removes every line holding the key from every authorized keys file sshd reads for the
// account (Match blocks applied): each file is rewritten through a temporary sibling renamed
// over it, with its mode and owner, never through a symlink; every other line is kept byte for
// byte. Refuses when no line holds the key.
bool Revoke(const RevokeRequest& request, std::vector<RevokedLine>* removed, std::string* err);

}  // namespace rrsync

#endif  // RRSYNC_ADMIN_KEYS_H_
