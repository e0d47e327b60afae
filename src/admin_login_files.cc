#include "admin_login_files.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "admin_authorized_keys.h"

namespace rrsync {

// Which files, and why each one. A forced command does not stop sshd or the shell from reading
// the account's files first: sshd reads the authorized keys files (a new line there is a key
// without any forced command), runs ~/.ssh/rc through the shell unless the key says restrict or
// no-user-rc, and reads ~/.ssh/environment when PermitUserEnvironment is on; PAM's pam_env reads
// ~/.pam_environment when the sshd stack says user_readenv=1 (Debian's does); and sshd starts the
// forced command as `$SHELL -c "command"`, so the shell's startup files run before rrsync: bash
// reads ~/.bashrc even for that non-interactive command when sshd started it, zsh reads
// ~/.zshenv and csh ~/.cshrc for every command. The login-only files (~/.profile,
// ~/.bash_profile, ~/.zprofile, ...) are listed too: another key of the account, or sshd's
// own rules for a pty session, may start a login shell, and a file the client planted there
// waits for it. Every file counts the same: one upload to any of them runs code as the account
// outside rrsync.

namespace {

std::string Dirname(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string Basename(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string RealPath(const std::string& path) {
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf) == nullptr) return "";
  return buf;
}

// Expands sshd's %h %u %U %% tokens and makes the result absolute (relative to the home).
std::string ExpandUserPath(const std::string& pattern, const PasswdEntry& user) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '%' && i + 1 < pattern.size()) {
      char t = pattern[++i];
      if (t == 'h')
        out += user.home;
      else if (t == 'u')
        out += user.name;
      else if (t == 'U')
        out += std::to_string(user.uid);
      else if (t == '%')
        out += '%';
      else {
        out += '%';
        out += t;
      }
    } else {
      out += pattern[i];
    }
  }
  if (out.empty() || out[0] != '/') out = user.home + "/" + out;
  return out;
}

std::vector<std::string> Words(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const std::string& value : values) {
    std::vector<std::string> words;
    std::string ignored;
    if (!SplitShellWords(value, &words, &ignored)) words = {value};
    out.insert(out.end(), words.begin(), words.end());
  }
  return out;
}

// The startup files of the shell `shell` (a basename), below the home directory.
std::vector<std::string> ShellStartupFiles(const std::string& shell) {
  if (shell == "bash" || shell == "rbash")
    return {".bashrc", ".bash_profile", ".bash_login", ".profile", ".bash_logout"};
  if (shell == "sh" || shell == "dash" || shell == "ash" || shell == "ksh" || shell == "mksh" ||
      shell == "ksh93" || shell == "posh" || shell == "busybox")
    return {".profile"};
  if (shell == "zsh") return {".zshenv", ".zprofile", ".zshrc", ".zlogin", ".zlogout"};
  if (shell == "csh" || shell == "tcsh") return {".tcshrc", ".cshrc", ".login", ".logout"};
  if (shell == "fish") return {".config/fish/config.fish", ".config/fish/conf.d/*.fish"};
  return {".profile"};  // a shell we do not know: the one file nearly every shell reads
}

bool SameInode(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// Whether the directory with inode `dir` is `path`'s directory or one of its ancestors, walking
// up from the real path of the nearest existing one.
bool DirHolds(const struct stat& dir, const std::string& holding) {
  std::string d = holding;
  struct stat st;
  while (stat(d.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    if (d == "/" || d == ".") return false;
    d = Dirname(d);
  }
  d = RealPath(d);
  if (d.empty()) return false;
  while (true) {
    if (stat(d.c_str(), &st) == 0 && SameInode(st, dir)) return true;
    if (d == "/") return false;
    d = Dirname(d);
  }
}

}  // namespace

std::vector<std::string> AuthorizedKeysFiles(const SshdSettings& sshd, const PasswdEntry& user) {
  std::vector<std::string> files;
  auto it = sshd.values.find("authorizedkeysfile");
  std::vector<std::string> words =
      it != sshd.values.end()
          ? Words(it->second)
          : std::vector<std::string>{".ssh/authorized_keys", ".ssh/authorized_keys2"};
  for (const std::string& w : words) {
    if (w != "none") files.push_back(ExpandUserPath(w, user));
  }
  return files;
}

std::vector<LoginFile> LoginFilesFor(const SshdSettings& sshd, const PasswdEntry& user,
                                     const LoginFileContext& context) {
  std::vector<LoginFile> files;
  const std::string home = user.home == "/" ? "" : user.home;
  for (const std::string& f : AuthorizedKeysFiles(sshd, user))
    files.push_back({f, "sshd (AuthorizedKeysFile)"});
  std::string principals = sshd.Get("authorizedprincipalsfile", "none");
  if (principals != "none")
    files.push_back({ExpandUserPath(principals, user), "sshd (AuthorizedPrincipalsFile)"});
  if (context.user_rc && sshd.Get("permituserrc", "yes") != "no")
    files.push_back({home + "/.ssh/rc", "sshd (PermitUserRC)"});
  if (sshd.Get("permituserenvironment", "no") != "no")
    files.push_back({home + "/.ssh/environment", "sshd (PermitUserEnvironment)"});
  if (sshd.Get("hostbasedauthentication", "no") == "yes" &&
      sshd.Get("ignorerhosts", "yes") == "no") {
    files.push_back({home + "/.shosts", "sshd (HostbasedAuthentication)"});
    files.push_back({home + "/.rhosts", "sshd (HostbasedAuthentication)"});
  }
  if (context.pam_user_env && sshd.Get("usepam", "no") == "yes")
    files.push_back({home + "/.pam_environment", "pam_env (user_readenv=1)"});
  const std::string shell = Basename(user.shell);
  if (shell != "nologin" && shell != "false" && !user.shell.empty()) {
    for (const std::string& f : ShellStartupFiles(shell)) files.push_back({home + "/" + f, shell});
  }
  return files;
}

bool PamTextReadsUserEnvironment(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string w;
    bool pam_env = false, user_readenv = false;
    while (words >> w) {
      if (w[0] == '#') break;
      if (Basename(w) == "pam_env.so") pam_env = true;
      if (pam_env && w == "user_readenv=1") user_readenv = true;
    }
    if (pam_env && user_readenv) return true;
  }
  return false;
}

bool PamReadsUserEnvironment(const std::string& path) {
  std::vector<std::string> pending = {path};
  // A bounded walk: an @include loop must not hang the audit.
  for (size_t i = 0; i < pending.size() && i < 32; ++i) {
    std::ifstream in(pending[i]);
    std::stringstream text;
    text << in.rdbuf();
    if (PamTextReadsUserEnvironment(text.str())) return true;
    std::istringstream lines(text.str());
    std::string line;
    while (std::getline(lines, line)) {
      std::istringstream words(line);
      std::string directive, name;
      if ((words >> directive >> name) && directive == "@include" && name.find('/') == name.npos)
        pending.push_back(Dirname(path) + "/" + name);
    }
  }
  return false;
}

std::vector<LoginFile> LoginFilesBelow(const std::string& dir,
                                       const std::vector<LoginFile>& files) {
  std::vector<LoginFile> below;
  struct stat dir_st;
  if (stat(dir.c_str(), &dir_st) != 0 || !S_ISDIR(dir_st.st_mode)) return below;
  for (const LoginFile& file : files) {
    bool held = DirHolds(dir_st, Dirname(file.path));
    struct stat st;
    if (!held && lstat(file.path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      // ~/.bashrc -> /srv/backup/bashrc: the shell reads what lies in DIR.
      char target[PATH_MAX];
      ssize_t n = readlink(file.path.c_str(), target, sizeof target - 1);
      if (n > 0) {
        target[n] = '\0';
        std::string t = target[0] == '/' ? target : Dirname(file.path) + "/" + target;
        held = DirHolds(dir_st, Dirname(t));
      }
    }
    if (held) below.push_back(file);
  }
  return below;
}

std::string DescribeLoginFiles(const std::vector<LoginFile>& files, const std::string& home) {
  std::string out;
  for (const LoginFile& f : files) {
    std::string shown = f.path;
    if (home != "/" && shown.size() > home.size() && shown.compare(0, home.size(), home) == 0 &&
        shown[home.size()] == '/')
      shown = "~" + shown.substr(home.size());
    out += (out.empty() ? "" : ", ") + shown + " (" + f.reader + ")";
  }
  return out;
}

}  // namespace rrsync
