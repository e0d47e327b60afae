// `rrsync-admin authorize`: builds a restricted key line and installs it in a user's
// authorized_keys.
#ifndef RRSYNC_ADMIN_AUTHORIZE_H_
#define RRSYNC_ADMIN_AUTHORIZE_H_

#include <string>
#include <vector>

#include "admin_authorized_keys.h"

namespace rrsync {

// What the forced command and the key line should say. Paths are absolute.
struct AuthorizeSpec {
  std::string rrsync_path;
  std::string dir;
  bool read_only = false;
  bool write_only = false;
  bool no_delete = false;
  bool no_overwrite = false;
  bool munge = false;
  bool snapshots = false;  // -snapshots: each push lands in a new snapshot (issue 13)
  std::string from;        // from="..." pattern list; empty leaves it out
  std::string comment;     // replaces the key's own comment when not empty
};

// Checks a from= pattern list as sshd reads it: comma-separated, each pattern optionally
// negated with `!`; an address with a /prefix must be a valid IPv4 or IPv6 network (prefix 0-32
// or 0-128); something that looks like an address (only digits and dots, or a colon, without a
// wildcard) must be one; anything else is a host name pattern with * and ?.
bool CheckFromPatterns(const std::string& from, std::string* err);

// Refuses flags that contradict each other (-ro with -wo; -ro with -no-overwrite, which only
// governs uploads that -ro forbids) and values that cannot be written safely into the line.
bool CheckAuthorizeSpec(const AuthorizeSpec& spec, std::string* err);

// Builds `restrict,command="<rrsync> <flags> <dir>"[,from="..."] <key> [comment]`. The command
// runs through the user's shell, so each path is shell-quoted when it needs it.
bool BuildAuthorizedLine(const AuthorizeSpec& spec, const PublicKey& key, std::string* line,
                         std::string* err);

// Everything `authorize` was asked to do.
struct AuthorizeRequest {
  std::string user;
  std::string dir;            // absolute, or relative to the user's home directory
  std::string key_file;       // an existing .pub file, or
  std::string generate_file;  // where to create a new ed25519 key pair (FILE and FILE.pub)
  bool dry_run = false;
  AuthorizeSpec spec;                   // rrsync_path, flags, from and comment; dir is filled in
  std::string sshd = "/usr/sbin/sshd";  // asked (sshd -T -C) which files it reads for the user
  std::string sshd_config;              // passed as `sshd -T -f FILE` when not empty
  std::string pam_sshd = "/etc/pam.d/sshd";  // sshd's PAM stack; empty: none
};

// What `authorize` did (or, with dry_run, would do).
struct AuthorizeOutcome {
  std::string line;
  std::string authorized_keys;  // the file it went into
  std::string fingerprint;      // ssh-keygen -l's line for the key
  std::string key_type;         // e.g. ssh-ed25519
  MergeAction action = MergeAction::kAdded;
  int removed_duplicates = 0;
  bool generated = false;  // a new key pair was written to generate_file
  bool created_ssh_dir = false;
  bool created_file = false;
  bool wrote = false;  // the file changed on disk
  std::string diff;    // with dry_run: the change to authorized_keys, unified-style
  // What the new line drops that the old line for the same key had: from=, expiry-time=, an
  // rrsync flag (-ro, -wo, -snapshots, -no-del, ...), another DIR. Said aloud, never silent.
  std::vector<std::string> loosened;
};

// What `after` drops or widens of `before`, two lines for the same key (see
// AuthorizeOutcome::loosened), e.g. "drops from=\"10.0.0.0/8\"", "drops -ro".
std::vector<std::string> LooseningOf(const AuthorizedKey& before, const AuthorizedKey& after);

// Checks the request (user exists, DIR exists, rrsync path is trusted, key valid per
// `ssh-keygen -l`), then installs the line as described in admin_authorized_keys.h: ~/.ssh
// 0700 and authorized_keys 0600 owned by the user when missing, an atomic rename, every
// other line kept. Never follows a symlink the user could have planted in ~/.ssh.
bool Authorize(const AuthorizeRequest& request, AuthorizeOutcome* outcome, std::string* err);

}  // namespace rrsync

#endif  // RRSYNC_ADMIN_AUTHORIZE_H_
