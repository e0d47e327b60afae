// The files that sshd, PAM and the login shell read for an account before the forced command
// runs. Whoever may write one of them gets a shell, so a key that may upload (not -ro) must not
// have a DIR that holds any of them: see admin_login_files.cc for the list and why.
#ifndef RRSYNC_ADMIN_LOGIN_FILES_H_
#define RRSYNC_ADMIN_LOGIN_FILES_H_

#include <string>
#include <string_view>
#include <vector>

#include "admin_audit.h"

namespace rrsync {

// One file read at login, and what reads it (for the report).
struct LoginFile {
  std::string path;    // absolute; it may not exist yet (creating it is the attack)
  std::string reader;  // e.g. "sshd (AuthorizedKeysFile)", "bash"
};

// What decides the list besides sshd's settings and the account.
struct LoginFileContext {
  bool user_rc = true;        // some key of the account lets sshd run ~/.ssh/rc
  bool pam_user_env = false;  // sshd's PAM stack has pam_env with user_readenv=1
};

// The files sshd reads keys from for `user`: every AuthorizedKeysFile word (%h %u %U %%
// expanded, relative ones below the home directory), OpenSSH's default
// `.ssh/authorized_keys .ssh/authorized_keys2` when sshd printed none, "none" skipped.
std::vector<std::string> AuthorizedKeysFiles(const SshdSettings& sshd, const PasswdEntry& user);

// Every file sshd, PAM and the login shell of `user` read at login, in that order. Pure.
std::vector<LoginFile> LoginFilesFor(const SshdSettings& sshd, const PasswdEntry& user,
                                     const LoginFileContext& context);

// True when the PAM configuration text holds an active pam_env line with user_readenv=1
// (pam_env then reads ~/.pam_environment). Pure; @include lines are not followed here.
bool PamTextReadsUserEnvironment(std::string_view text);

// Reads the PAM service file `path` and the files it @includes (same directory) and applies
// PamTextReadsUserEnvironment to each. A missing file reads nothing.
bool PamReadsUserEnvironment(const std::string& path);

// The files of `files` that a client who may write below `dir` can create or replace: `dir`
// is the directory holding the file, or one of its ancestors. Directories are compared by
// device and inode after resolving symlinks, so `.`, `/`, a path through a symlink and a bind
// mount of the home directory all count. For a file that is a symlink, the directory of its
// target counts too; for a directory that does not exist yet, its nearest existing ancestor.
std::vector<LoginFile> LoginFilesBelow(const std::string& dir, const std::vector<LoginFile>& files);

// "~/.ssh/authorized_keys (sshd (AuthorizedKeysFile)), ~/.bashrc (bash)": `files` for a report,
// paths below `home` shown with a ~.
std::string DescribeLoginFiles(const std::vector<LoginFile>& files, const std::string& home);

}  // namespace rrsync

#endif  // RRSYNC_ADMIN_LOGIN_FILES_H_
