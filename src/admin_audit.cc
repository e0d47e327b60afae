#include "admin_audit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <grp.h>
#include <limits.h>
#include <linux/landlock.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <utility>

#include "admin_authorized_keys.h"
#include "admin_login_files.h"
#include "admin_process.h"
#include "command_line.h"
#include "config.h"
#include "mount_view.h"
#include "rsync_features.h"
#include "sandbox.h"
#include "snapshot_store.h"
#include "syscall_filter.h"

namespace rrsync {

namespace {

// Untrusted text (key comments, commands, paths from users' files) is shown escaped and cut
// short, so a crafted authorized_keys line cannot drive the admin's terminal.
std::string Display(std::string_view s, size_t max = 200) {
  std::string out;
  for (char c : s.substr(0, max)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

void Add(std::vector<AuditFinding>* findings, AuditStatus status, std::string check,
         std::string subject, std::string message) {
  findings->push_back({status, std::move(check), std::move(subject), std::move(message)});
}

std::string ToLower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(tolower(c)); });
  return s;
}

bool ReadSmallFile(const std::string& path, std::string* text, int* error) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) {
    *error = errno;
    return false;
  }
  struct stat st;
  if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    *error = EINVAL;
    return false;
  }
  text->clear();
  char buf[8192];
  while (true) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = errno;
      return false;
    }
    if (n == 0) break;
    text->append(buf, static_cast<size_t>(n));
    if (text->size() > kMaxAuthorizedKeysSize) {
      // The start is kept for the caller, which must not take it for the whole file.
      text->resize(kMaxAuthorizedKeysSize);
      *error = EFBIG;
      return false;
    }
  }
  return true;
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string RealPath(const std::string& path) {
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf) == nullptr) return "";
  return buf;
}

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

// True when `inner` is `outer` or lies below it (both absolute, normalized).
bool IsWithin(const std::string& inner, const std::string& outer) {
  if (outer == "/") return true;
  return inner == outer ||
         (inner.size() > outer.size() && inner.compare(0, outer.size(), outer) == 0 &&
          inner[outer.size()] == '/');
}

// Whether `user` may open `path` for `mode` (R_OK or W_OK), judged by the permission bits of
// the file and of every directory on the way to it (search), as written and as resolved. audit
// runs as root; rrsync runs as the account. ACLs are not read: a file they open up reads as
// closed (a false FAIL), never the other way round.
bool AccessibleAs(const PasswdEntry& user, const std::string& path, int mode) {
  if (user.uid == 0) return true;
  std::vector<gid_t> groups(64);
  int count = static_cast<int>(groups.size());
  if (getgrouplist(user.name.c_str(), user.gid, groups.data(), &count) < 0) {
    groups.resize(static_cast<size_t>(count));
    if (getgrouplist(user.name.c_str(), user.gid, groups.data(), &count) < 0) count = 0;
  }
  groups.resize(static_cast<size_t>(std::max(count, 0)));
  if (std::find(groups.begin(), groups.end(), user.gid) == groups.end()) groups.push_back(user.gid);
  auto allows = [&](const struct stat& st, mode_t bits) {  // bits: 4 read, 2 write, 1 search
    if (st.st_uid == user.uid) return (st.st_mode & (bits << 6)) != 0;
    if (std::find(groups.begin(), groups.end(), st.st_gid) != groups.end())
      return (st.st_mode & (bits << 3)) != 0;
    return (st.st_mode & bits) != 0;
  };
  const std::string real = RealPath(path);
  if (real.empty()) return false;
  struct stat st;
  if (stat(real.c_str(), &st) != 0 || !allows(st, mode == W_OK ? 2 : 4)) return false;
  for (const std::string& p : {path, real}) {
    for (std::string d = Dirname(p);; d = Dirname(d)) {
      if (stat(d.c_str(), &st) == 0 && !allows(st, 1)) return false;
      if (d == "/" || d == ".") break;
    }
  }
  return true;
}

// Why rrsync would refuse every session of `user` under -sandbox=require on a kernel with
// Landlock ABI `abi`, empty when it would not. The rules are PrepareSandbox's
// (src/sandbox/sandbox.cc): for root, the mount view, the capability cut and the system-call
// policy hold what an older Landlock lacks, but require refuses when the view is unavailable;
// for any other account require needs the full Landlock ruleset.
std::string RequireRefusal(const PasswdEntry& user, int abi) {
  if (user.uid == 0) {
    std::string no_view;
    if (!MountViewSupported(&no_view))
      return "the mount namespace layer is unavailable (" + no_view + ")";
    if (!BuildSyscallFilter().program.empty()) return "";
  }
  if (abi <= 0) return "Landlock is not available on this kernel";
  std::string missing = LandlockMissingForAbi(abi);
  if (!missing.empty())
    return "Landlock ABI " + std::to_string(abi) + " cannot enforce the full ruleset (lacks " +
           missing + ")";
  return "";
}

// Names that change what a shell or the dynamic loader does before rrsync even starts. sshd
// passes a client's variable through when an AcceptEnv pattern matches it.
constexpr const char* kDangerousEnv[] = {"LD_PRELOAD",
                                         "LD_LIBRARY_PATH",
                                         "LD_AUDIT",
                                         "BASH_ENV",
                                         "ENV",
                                         "PATH",
                                         "IFS",
                                         "SHELLOPTS",
                                         "BASHOPTS",
                                         "PS4",
                                         "HOME",
                                         "SHELL",
                                         "GCONV_PATH",
                                         "PYTHONPATH",
                                         "PYTHONSTARTUP",
                                         "PERL5OPT",
                                         "PERL5LIB",
                                         "BASH_FUNC_x%%",
                                         "LOCPATH",
                                         "NLSPATH",
                                         "HOSTALIASES",
                                         "RESOLV_HOST_CONF",
                                         "TMPDIR",
                                         "RSYNC_RSH",
                                         "RSYNC_CONNECT_PROG",
                                         "SSH_ORIGINAL_COMMAND",
                                         "SSH_CONNECTION",
                                         "SSH_CLIENT",
                                         "SSH_USER_AUTH",
                                         "POPT_ALIASES"};

struct RrsyncCommand {
  std::string binary;
  std::vector<std::string> flags;
  std::string dir;
  bool read_only = false;
  bool write_only = false;
  bool snapshots = false;
  std::string log_file;
  std::string rsync;
  std::string sandbox;
  std::vector<std::string> wrapper_read;   // -wrapper-read=PATH,...
  std::vector<std::string> wrapper_write;  // -wrapper-write=PATH,...
  std::string config;                // -config=FILE: modules instead of DIR
  std::vector<std::string> modules;  // from -module=NAME and -modules=A,B
  std::vector<std::string> unknown;
};

bool ParseRrsyncCommand(const std::vector<std::string>& words, RrsyncCommand* cmd) {
  if (words.empty()) return false;
  cmd->binary = words[0];
  for (size_t i = 1; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (i + 1 == words.size() && (w.empty() || w[0] != '-') && cmd->config.empty()) {
      cmd->dir = w;
      break;
    }
    cmd->flags.push_back(w);
    if (w == "-ro")
      cmd->read_only = true;
    else if (w == "-wo")
      cmd->write_only = true;
    else if (w == "-snapshots")
      cmd->snapshots = true;
    else if (w.rfind("-log=", 0) == 0)
      cmd->log_file = w.substr(5);
    else if (w.rfind("-rsync=", 0) == 0)
      cmd->rsync = w.substr(7);
    else if (w.rfind("-sandbox=", 0) == 0)
      cmd->sandbox = w.substr(9);
    else if (w.rfind("-wrapper-exec=", 0) == 0)
      ;  // what a wrapper may run: checked by rrsync itself at each session
    else if (w.rfind("-wrapper-read=", 0) == 0 || w.rfind("-wrapper-write=", 0) == 0) {
      const bool write = w[9] == 'w';
      std::vector<std::string> paths;
      std::string why;
      if (!ParseWrapperGrants(w.substr(w.find('=') + 1), write, &paths, &why))
        cmd->unknown.push_back(w);  // rrsync refuses every session: reported as unknown
      (write ? cmd->wrapper_write : cmd->wrapper_read) = paths;
    }
    else if (w.rfind("-config=", 0) == 0)
      cmd->config = w.substr(8);
    else if (w.rfind("-module=", 0) == 0 || w.rfind("-modules=", 0) == 0) {
      std::string list = w.substr(w.find('=') + 1);
      for (size_t start = 0; start <= list.size();) {
        size_t comma = list.find(',', start);
        if (comma == std::string::npos) comma = list.size();
        cmd->modules.push_back(list.substr(start, comma - start));
        start = comma + 1;
      }
    } else if (w != "-wo" && w != "-munge" && w != "-absolute" && w != "-no-del" &&
               w != "-no-lock" && w != "-no-overwrite") {
      cmd->unknown.push_back(w);
    }
  }
  return !cmd->dir.empty() || !cmd->config.empty();
}

// "read-only", "write-only" or "read-write" (per module with -config), then ", snapshots".
std::string RrsyncModeName(const RrsyncCommand& cmd) {
  std::string mode = cmd.read_only    ? "read-only"
                     : cmd.write_only ? "write-only"
                                      : (cmd.config.empty() ? "read-write" : "as each module says");
  if (cmd.snapshots) mode += ", snapshots";
  return mode;
}

// What each snapshot level protects against, in one line (README's levels table says more).
const char* SnapshotLevelProtects(SnapshotLevel level) {
  switch (level) {
    case SnapshotLevel::kBtrfs:
      return "earlier snapshots are read-only subvolumes outside rsync's view";
    case SnapshotLevel::kOverlay:
      return "earlier snapshots are outside rsync's view, latest its read-only lower layer";
    case SnapshotLevel::kLinkDest:
      break;
  }
  return "no kernel barrier: a hijacked rsync can change earlier snapshots";
}

// " (LEVEL: what it protects against)": the level rrsync would use for a push by `user` to
// `real_dir` today, found as rrsync finds it (ChooseSnapshotLevel); "" when DIR is unknown.
std::string SnapshotLevelText(const RrsyncCommand& cmd, const PasswdEntry& user,
                              const std::string& real_dir) {
  if (!cmd.snapshots || real_dir.empty()) return "";
  UniqueFd dir_fd(open(real_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.valid()) return "";
  std::optional<std::string> latest;
  std::string err;
  if (!ReadLatestSnapshot(dir_fd.get(), &latest, &err))
    return " (no level: " + Display(err) + "; rrsync refuses pushes)";
  // The mount view is root's: rrsync as any other account runs at the link-dest level.
  std::string no_view;
  if (user.uid != 0) {
    no_view = "not root";
  } else if (cmd.sandbox == "off") {
    no_view = "-sandbox=off";
  } else if (!MountViewSupported(&no_view)) {
    no_view = "no mount view: " + no_view;
  }
  std::string why;
  const SnapshotLevel level =
      ChooseSnapshotLevel(dir_fd.get(), latest, no_view.empty(), no_view, &why);
  return std::string(" (") + SnapshotLevelName(level) + ": " + SnapshotLevelProtects(level) +
         (why.empty() ? "" : "; " + Display(why)) + ")";
}

std::string FindInPath(const std::string& name) {
  // sshd's default PATH for the session; a forced command without a slash is looked up there.
  for (const char* dir : {"/usr/local/bin", "/usr/bin", "/bin"}) {
    std::string p = std::string(dir) + "/" + name;
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

// A DIR a key lets the client write to, and the key line that says so.
struct WritableDir {
  std::string dir;      // as the key (or the module) names it, absolute
  std::string subject;  // the key line, for the report
};

struct UserAudit {
  bool has_rrsync_key = false;
  bool user_rc = false;  // some key lets sshd run ~/.ssh/rc
  int landlock_abi = 0;
  std::vector<const struct KeyLine*> rrsync_lines;
  std::vector<WritableDir> writable_dirs;
  std::set<std::string> rsync_paths;
};

void AuditKeyLine(const SshdSettings& sshd, const PasswdEntry& user, const std::string& where,
                  const AuthorizedKey& key, UserAudit* state, std::vector<AuditFinding>* findings) {
  const KeyOption* command = key.Find("command");
  const std::string subject = user.name + ": " + where;
  const std::string label = key.key.comment.empty() ? key.key.type : Display(key.key.comment, 60);
  if (command == nullptr) {
    if (user.uid == 0) {
      std::string prl = sshd.Get("permitrootlogin", "prohibit-password");
      bool sshd_blocks = prl == "forced-commands-only" || prl == "no";
      Add(findings, sshd_blocks ? AuditStatus::kWarn : AuditStatus::kFail,
          "key.root_without_command", subject,
          "root key (" + label + ") has no forced command: " +
              (sshd_blocks ? "sshd ignores it while PermitRootLogin is " + prl + ", remove it"
                           : "it opens a root shell"));
    } else {
      Add(findings, AuditStatus::kWarn, "key.without_command", subject,
          "key (" + label + ") has no forced command: it opens a shell for " + user.name);
    }
    return;
  }
  std::vector<std::string> words;
  std::string split_err;
  if (!SplitShellWords(command->value, &words, &split_err) || words.empty() ||
      Basename(words[0]).find("rrsync") == std::string::npos) {
    return;  // some other forced command: not ours to judge
  }
  state->has_rrsync_key = true;
  RrsyncCommand cmd;
  if (!ParseRrsyncCommand(words, &cmd)) {
    Add(findings, AuditStatus::kFail, "key.rrsync_dir", subject,
        "rrsync command \"" + Display(command->value) + "\" names no DIR");
    return;
  }
  if (key.Find("restrict") != nullptr) {
    Add(findings, AuditStatus::kPass, "key.restrict", subject,
        "rrsync key (" + label + ") has restrict");
  } else {
    Add(findings, AuditStatus::kFail, "key.restrict", subject,
        "rrsync key (" + label +
            ") lacks restrict: the client can forward ports and the agent, and get a pty");
  }
  std::string dir = cmd.dir.empty() || cmd.dir[0] == '/' ? cmd.dir : user.home + "/" + cmd.dir;
  std::string real_dir = dir.empty() ? "" : RealPath(dir);
  Add(findings, AuditStatus::kPass, "key.mode", subject,
      "rrsync key (" + label + ") mode: " + RrsyncModeName(cmd) +
          SnapshotLevelText(cmd, user, cmd.config.empty() ? real_dir : ""));

  std::string binary = cmd.binary;
  if (binary.find('/') == std::string::npos) {
    binary = FindInPath(cmd.binary);
    Add(findings, AuditStatus::kWarn, "key.rrsync_path", subject,
        "rrsync is named without a path; sshd's PATH picks " +
            (binary.empty() ? std::string("nothing") : binary) + ": write the absolute path");
  }
  std::string problem;
  if (binary.empty()) {
    Add(findings, AuditStatus::kFail, "key.rrsync_path", subject,
        "\"" + Display(cmd.binary) + "\" does not resolve to a program");
  } else if (!CheckTrustedExecutable(binary, &problem)) {
    Add(findings, AuditStatus::kFail, "key.rrsync_path", subject, Display(problem));
  } else {
    Add(findings, AuditStatus::kPass, "key.rrsync_path", subject, Display(binary) + " is root's");
  }

  Config config;
  bool config_loaded = false;
  if (!cmd.config.empty()) {
    // Modules: load the file exactly as rrsync will (ownership, syntax, paths), then check
    // that every module the key names is there and its directory exists. rrsync reads it as
    // the account; audit reads it as root, so the account's access is judged apart.
    std::string config_err;
    if (!AccessibleAs(user, cmd.config, R_OK)) {
      Add(findings, AuditStatus::kFail, "key.rrsync_config", subject,
          user.name + " cannot read \"" + Display(cmd.config) +
              "\": rrsync will refuse every session");
    } else if (!LoadConfig(cmd.config, &config, &config_err)) {
      Add(findings, AuditStatus::kFail, "key.rrsync_config", subject,
          Display(config_err) + ": rrsync will refuse every session");
    } else {
      bool all_there = !cmd.modules.empty();
      if (cmd.modules.empty()) {
        Add(findings, AuditStatus::kFail, "key.rrsync_config", subject,
            "-config without -module or -modules: rrsync will refuse every session");
      }
      for (const std::string& name : cmd.modules) {
        const ModuleConfig* module = config.FindModule(name);
        if (module == nullptr) {
          all_there = false;
          Add(findings, AuditStatus::kFail, "key.rrsync_config", subject,
              "module \"" + Display(name) + "\" is not in " + Display(cmd.config));
        } else if (!IsDirectory(module->path)) {
          all_there = false;
          Add(findings, AuditStatus::kFail, "key.rrsync_dir", subject,
              "module " + Display(name) + ": path \"" + Display(module->path) +
                  "\" does not exist");
        } else if (!ModuleIsReadOnly(module->flags, config.defaults, cmd.write_only) &&
                   !cmd.read_only) {
          state->writable_dirs.push_back({module->path, subject});
        }
      }
      config_loaded = true;
      if (all_there) {
        Add(findings, AuditStatus::kPass, "key.rrsync_config", subject,
            Display(cmd.config) + " loads and has every module the key names");
      }
    }
  } else if (real_dir.empty() || !IsDirectory(real_dir)) {
    Add(findings, AuditStatus::kFail, "key.rrsync_dir", subject,
        "DIR \"" + Display(dir) + "\" does not exist");
  } else {
    Add(findings, AuditStatus::kPass, "key.rrsync_dir", subject,
        "DIR " + Display(real_dir) + " exists");
    if (!cmd.read_only) state->writable_dirs.push_back({dir, subject});
  }
  for (const std::string& u : cmd.unknown) {
    Add(findings, AuditStatus::kWarn, "key.rrsync_option", subject,
        "unknown rrsync option \"" + Display(u) + "\": rrsync will refuse every session");
  }
  // -sandbox on the command line wins over the config file's sandbox = (as in rrsync).
  std::string sandbox = cmd.sandbox;
  if (sandbox.empty() && config_loaded) {
    sandbox = config.sandbox == SandboxMode::kRequire ? "require"
              : config.sandbox == SandboxMode::kOff   ? "off"
                                                      : "auto";
  }
  if (sandbox == "off") {
    Add(findings, AuditStatus::kWarn, "key.sandbox", subject,
        "-sandbox=off: rsync runs without Landlock confinement");
  } else if (sandbox == "require") {
    std::string why = RequireRefusal(user, state->landlock_abi);
    if (!why.empty()) {
      Add(findings, AuditStatus::kFail, "key.sandbox", subject,
          "-sandbox=require: " + why + ": rrsync refuses every session for " + user.name);
    }
  }
  // A wrapper's grants widen what a hijacked rsync reaches outside DIR: never a PASS.
  {
    std::vector<std::string> read = cmd.wrapper_read;
    std::vector<std::string> write = cmd.wrapper_write;
    if (config_loaded && read.empty()) read = config.wrapper_read;
    if (config_loaded && write.empty()) write = config.wrapper_write;
    for (const std::string& path : read)
      Add(findings, AuditStatus::kWarn, "key.wrapper_grant", subject,
          "wrapper read " + Display(path) + ": the wrapper, and an rsync hijacked by a client, "
          "may read it outside DIR");
    for (const std::string& path : write)
      Add(findings, AuditStatus::kWarn, "key.wrapper_grant", subject,
          "wrapper write " + Display(path) + ": the wrapper, and an rsync hijacked by a client, "
          "may read and change it outside DIR");
  }
  if (sandbox != "off" && !cmd.read_only && user.uid != 0 && state->landlock_abi == 1) {
    Add(findings, AuditStatus::kFail, "key.sandbox", subject,
        "Landlock ABI 1 cannot allow the cross-directory renames a push needs (REFER): rrsync "
        "refuses every upload for " +
            user.name);
  }
  if (!cmd.rsync.empty()) {
    if (!CheckTrustedExecutable(cmd.rsync, &problem)) {
      Add(findings, AuditStatus::kFail, "key.rsync_path", subject, Display(problem));
    } else {
      state->rsync_paths.insert(cmd.rsync);
    }
  }
  // rrsync appends to rrsync.log in the login directory when that file exists, so the default
  // is checked too, but only once it is there.
  std::string log_name = cmd.log_file.empty() ? "rrsync.log" : cmd.log_file;
  std::string log = log_name[0] == '/' ? log_name : user.home + "/" + log_name;
  struct stat log_st;
  if (!cmd.log_file.empty() || lstat(log.c_str(), &log_st) == 0) {
    std::string log_dir = RealPath(Dirname(log));
    struct stat st;
    if (log_dir.empty()) {
      Add(findings, AuditStatus::kFail, "key.log_file", subject,
          "the directory of log file \"" + Display(log) + "\" does not exist");
    } else if (!real_dir.empty() && !cmd.read_only && IsWithin(log_dir, real_dir)) {
      Add(findings, AuditStatus::kFail, "key.log_file", subject,
          "log file \"" + Display(log) +
              "\" lies inside the writable DIR: the client can replace it");
    } else if (lstat(log.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
      Add(findings, AuditStatus::kFail, "key.log_file", subject,
          "log file \"" + Display(log) + "\" is not a regular file");
    } else if (lstat(log.c_str(), &st) != 0) {
      Add(findings, AuditStatus::kWarn, "key.log_file", subject,
          "log file \"" + Display(log) +
              "\" does not exist: rrsync logs nothing until it is created");
    } else if (!AccessibleAs(user, log, W_OK)) {
      // rrsync opens the log as the account and carries on without it when it cannot.
      Add(findings, AuditStatus::kFail, "key.log_file", subject,
          user.name + " cannot write log file \"" + Display(log) +
              "\": rrsync logs nothing for this key");
    } else {
      Add(findings, AuditStatus::kPass, "key.log_file", subject, "log file " + Display(log));
    }
  }
}

// One key line of one of the files sshd reads for the account.
struct KeyLine {
  std::string where;  // "~/.ssh/authorized_keys line 3", for the report
  AuthorizedKey key;
};

void AuditUser(const AuditOptions& options, const SshdSettings& server, const PasswdEntry& user,
               bool named, std::vector<AuditFinding>* findings, std::set<std::string>* rsync_paths,
               std::vector<AccountKeyLine>* listed = nullptr) {
  UserAudit state;
  std::vector<AuditFinding> user_findings;
  // sshd as this account's login sees it: Match blocks apply. Another evaluation for each
  // address a key's from= names, since Match Address may single those out.
  std::vector<std::pair<std::string, SshdSettings>> evaluations;
  auto evaluate = [&](const std::string& addr) {
    for (const auto& e : evaluations) {
      if (e.first == addr) return;
    }
    SshdConnection connection;
    connection.user = user.name;
    connection.addr = addr;
    SshdSettings settings;
    std::string err;
    if (!EvaluateSshd(options.sshd, options.sshd_config, &connection, &settings, &err)) {
      Add(&user_findings, AuditStatus::kFail, "sshd.match", user.name,
          Display(err) + ": the server-wide settings are audited instead");
      settings = server;
    }
    evaluations.emplace_back(addr, std::move(settings));
  };
  evaluate("127.0.0.1");
  const SshdSettings& sshd = evaluations.front().second;

  std::vector<std::string> files;
  std::vector<KeyLine> lines;
  int keys = 0;
  bool too_large = false;
  state.landlock_abi = options.landlock_probe();
  auto read_keys = [&](const std::string& file) {
    if (std::find(files.begin(), files.end(), file) != files.end()) return;
    files.push_back(file);
    std::string text;
    int error = 0;
    if (!ReadSmallFile(file, &text, &error)) {
      if (error == EFBIG) {
        // The start is still audited (it may hold the account's rrsync key), but the report
        // must not pass what it did not read.
        too_large = true;
        Add(&user_findings, AuditStatus::kFail, "keys.too_large", user.name,
            "\"" + Display(file) + "\" is larger than " + std::to_string(kMaxAuthorizedKeysSize) +
                " bytes: sshd reads all of it, audit read only the start");
      } else {
        if (error != ENOENT) {
          Add(&user_findings, AuditStatus::kWarn, "keys.unreadable", user.name,
              "cannot read \"" + Display(file) + "\": " + strerror(error));
        }
        return;
      }
    }
    std::string shown =
        IsWithin(file, user.home) && user.home != "/" ? "~" + file.substr(user.home.size()) : file;
    size_t pos = 0;
    int line_no = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      std::string_view line(text.data() + pos, (nl == std::string::npos ? text.size() : nl) - pos);
      pos = nl == std::string::npos ? text.size() : nl + 1;
      ++line_no;
      if (IsBlankOrComment(line)) continue;
      ++keys;
      std::string where = Display(shown) + " line " + std::to_string(line_no);
      AuthorizedKey key;
      std::string parse_err;
      const bool parsed = ParseAuthorizedKeyLine(line, &key, &parse_err);
      if (listed != nullptr) {
        AccountKeyLine entry;
        entry.file = file;
        entry.line = line_no;
        entry.where = where;
        entry.parsed = parsed;
        entry.parse_error = parse_err;
        entry.key = key;
        listed->push_back(std::move(entry));
      }
      if (!parsed) {
        Add(&user_findings, AuditStatus::kWarn, "key.unparsable", user.name + ": " + where,
            "line not understood (" + parse_err + "): check it by hand");
        continue;
      }
      lines.push_back({where, std::move(key)});
    }
  };
  for (const std::string& file : AuthorizedKeysFiles(sshd, user)) read_keys(file);
  for (size_t i = 0, n = lines.size(); i < n && evaluations.size() < 8; ++i) {
    const KeyOption* from = lines[i].key.Find("from");
    if (from == nullptr) continue;
    for (const std::string& addr : LiteralAddresses(from->value)) {
      evaluate(addr);
      for (const std::string& file : AuthorizedKeysFiles(evaluations.back().second, user))
        read_keys(file);
    }
  }

  for (const KeyLine& line : lines) {
    const AuthorizedKey& key = line.key;
    // restrict turns user rc off unless user-rc turns it back on.
    if (key.Find("no-user-rc") == nullptr &&
        (key.Find("restrict") == nullptr || key.Find("user-rc") != nullptr)) {
      state.user_rc = true;
    }
    bool was_rrsync = state.has_rrsync_key;
    state.has_rrsync_key = false;
    AuditKeyLine(sshd, user, line.where, key, &state, &user_findings);
    if (state.has_rrsync_key) state.rrsync_lines.push_back(&line);
    state.has_rrsync_key = state.has_rrsync_key || was_rrsync;
  }
  // sshd tries the files in order and, in each, the first line with the key whose from=
  // matches: a copy of an rrsync key without a forced command may be the one it picks.
  for (const KeyLine& line : lines) {
    if (line.key.Find("command") != nullptr) continue;
    for (const KeyLine* rrsync : state.rrsync_lines) {
      if (rrsync->key.key.type != line.key.key.type || rrsync->key.key.blob != line.key.key.blob)
        continue;
      const std::string label =
          line.key.key.comment.empty() ? line.key.key.type : Display(line.key.key.comment, 60);
      Add(&user_findings, AuditStatus::kFail, "key.duplicate", user.name + ": " + line.where,
          "key (" + label + ") is the rrsync key of " + rrsync->where +
              " but has no forced command here: sshd may pick this line and open a shell; "
              "remove it");
      break;
    }
  }
  if (state.has_rrsync_key) {
    for (const auto& [addr, settings] : evaluations) {
      std::string forced = settings.Get("forcecommand", "none");
      if (forced == "none") continue;
      Add(&user_findings, AuditStatus::kFail, "sshd.force_command", user.name,
          "sshd's ForceCommand \"" + Display(forced) + "\" applies to " + user.name + " (from " +
              addr + "): it replaces every key's command=, so rrsync does not run");
    }
  }

  if (!state.writable_dirs.empty()) {
    LoginFileContext context;
    context.user_rc = state.user_rc;
    context.pam_user_env = !options.pam_sshd.empty() && PamReadsUserEnvironment(options.pam_sshd);
    std::vector<LoginFile> login_files;
    for (const auto& e : evaluations) {
      for (const LoginFile& f : LoginFilesFor(e.second, user, context)) {
        if (std::none_of(login_files.begin(), login_files.end(),
                         [&](const LoginFile& g) { return g.path == f.path; }))
          login_files.push_back(f);
      }
    }
    for (const WritableDir& w : state.writable_dirs) {
      std::vector<LoginFile> below = LoginFilesBelow(w.dir, login_files);
      if (below.empty()) continue;
      Add(&user_findings, AuditStatus::kFail, "key.login_files", w.subject,
          "DIR \"" + Display(w.dir) + "\" is writable and holds files sshd or the login shell " +
              "read for " + user.name + ": " + Display(DescribeLoginFiles(below, user.home), 600) +
              ": one upload there opens a shell; use -ro or a DIR that holds none of them");
    }
  }
  if (!named && user.uid != 0 && !state.has_rrsync_key && !too_large) return;
  if (keys == 0 && named) {
    // No key for root is the safest state; a user named on the command line was expected to
    // have one.
    Add(&user_findings, user.uid == 0 ? AuditStatus::kPass : AuditStatus::kWarn, "keys.none",
        user.name, "no authorized keys");
  }
  findings->insert(findings->end(), user_findings.begin(), user_findings.end());
  rsync_paths->insert(state.rsync_paths.begin(), state.rsync_paths.end());
  if (!state.has_rrsync_key) return;

  // sshd runs a forced command as `SHELL -c COMMAND`, so the login shell runs first.
  const std::string shell = Basename(user.shell);
  if (shell == "nologin" || shell == "false" || user.shell.empty()) {
    Add(findings, AuditStatus::kFail, "user.shell", user.name,
        "login shell " + Display(user.shell) +
            " refuses to run commands, so sshd cannot start rrsync: use /bin/sh");
  } else if (shell == "bash" || shell == "rbash") {
    // A writable DIR holding ~/.bashrc is a FAIL of its own (key.login_files); this is advice.
    Add(findings, AuditStatus::kWarn, "user.shell", user.name,
        "login shell is bash, which reads ~/.bashrc before the forced command: use /bin/sh (see "
        "BASH SECURITY ISSUE in rrsync(1))");
  } else {
    Add(findings, AuditStatus::kPass, "user.shell", user.name,
        "login shell " + Display(user.shell));
  }
}

}  // namespace

std::string SshdSettings::Get(const std::string& keyword, const std::string& fallback) const {
  auto it = values.find(keyword);
  if (it == values.end() || it->second.empty()) return fallback;
  return it->second.front();
}

SshdSettings ParseSshdSettings(std::string_view text) {
  SshdSettings settings;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    size_t space = line.find(' ');
    if (space == std::string_view::npos || space == 0) continue;
    settings.values[ToLower(std::string(line.substr(0, space)))].push_back(
        std::string(line.substr(space + 1)));
  }
  return settings;
}

void AuditSshdSettings(const SshdSettings& sshd, std::vector<AuditFinding>* findings) {
  const std::string subject = "sshd";
  std::string prl = sshd.Get("permitrootlogin", "prohibit-password");
  if (prl == "forced-commands-only" || prl == "no") {
    Add(findings, AuditStatus::kPass, "sshd.permit_root_login", subject, "PermitRootLogin " + prl);
  } else if (prl == "yes") {
    Add(findings, AuditStatus::kFail, "sshd.permit_root_login", subject,
        "PermitRootLogin yes: root can log in with a password or any key; set "
        "forced-commands-only");
  } else {
    Add(findings, AuditStatus::kWarn, "sshd.permit_root_login", subject,
        "PermitRootLogin " + Display(prl) +
            ": any root key without a forced command opens a shell; set forced-commands-only");
  }

  std::string pue = sshd.Get("permituserenvironment", "no");
  if (pue == "no") {
    Add(findings, AuditStatus::kPass, "sshd.permit_user_environment", subject,
        "PermitUserEnvironment no");
  } else {
    Add(findings, AuditStatus::kFail, "sshd.permit_user_environment", subject,
        "PermitUserEnvironment " + Display(pue) +
            ": ~/.ssh/environment and environment=\"\" can set LD_PRELOAD for the forced "
            "command; set no");
  }

  std::vector<std::string> dangerous;
  std::string accepted;
  auto it = sshd.values.find("acceptenv");
  if (it != sshd.values.end()) {
    for (const std::string& value : it->second) {
      std::vector<std::string> patterns;
      std::string ignored;
      if (!SplitShellWords(value, &patterns, &ignored)) patterns = {value};
      for (const std::string& p : patterns) {
        if (!accepted.empty()) accepted += ' ';
        accepted += p;
        for (const char* name : kDangerousEnv) {
          if (fnmatch(p.c_str(), name, 0) == 0) {
            dangerous.push_back(Display(p) + " (matches " + name + ")");
            break;
          }
        }
      }
    }
  }
  if (!dangerous.empty()) {
    std::string list;
    for (const std::string& d : dangerous) list += (list.empty() ? "" : ", ") + d;
    Add(findings, AuditStatus::kFail, "sshd.accept_env", subject,
        "AcceptEnv lets clients set variables the shell or loader obey: " + list);
  } else {
    Add(findings, AuditStatus::kPass, "sshd.accept_env", subject,
        "AcceptEnv " + (accepted.empty() ? std::string("(none)") : Display(accepted)));
  }

  bool disabled = sshd.Get("disableforwarding", "no") == "yes";
  std::string agent = sshd.Get("allowagentforwarding", "yes");
  if (disabled || agent == "no") {
    Add(findings, AuditStatus::kPass, "sshd.allow_agent_forwarding", subject,
        disabled ? "DisableForwarding yes" : "AllowAgentForwarding no");
  } else {
    Add(findings, AuditStatus::kWarn, "sshd.allow_agent_forwarding", subject,
        "AllowAgentForwarding " + Display(agent) +
            ": only each key's restrict stops agent forwarding; set no");
  }
  std::string tcp = sshd.Get("allowtcpforwarding", "yes");
  if (disabled || tcp == "no") {
    Add(findings, AuditStatus::kPass, "sshd.allow_tcp_forwarding", subject,
        disabled ? "DisableForwarding yes" : "AllowTcpForwarding no");
  } else {
    Add(findings, AuditStatus::kWarn, "sshd.allow_tcp_forwarding", subject,
        "AllowTcpForwarding " + Display(tcp) +
            ": only each key's restrict stops port forwarding; set no");
  }
  std::string akc = sshd.Get("authorizedkeyscommand", "none");
  if (akc != "none") {
    Add(findings, AuditStatus::kWarn, "sshd.authorized_keys_command", subject,
        "AuthorizedKeysCommand " + Display(akc) + ": the keys it supplies are not audited");
  }
}

std::vector<PasswdEntry> ParsePasswd(std::string_view text) {
  std::vector<PasswdEntry> entries;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line(text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos));
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    std::vector<std::string> fields;
    size_t start = 0;
    while (true) {
      size_t colon = line.find(':', start);
      fields.push_back(line.substr(start, colon == std::string::npos ? line.npos : colon - start));
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
    if (fields.size() != 7 || fields[0].empty()) continue;
    char* end = nullptr;
    PasswdEntry e;
    e.name = fields[0];
    e.uid = static_cast<unsigned>(strtoul(fields[2].c_str(), &end, 10));
    if (fields[2].empty() || *end != '\0') continue;
    e.gid = static_cast<unsigned>(strtoul(fields[3].c_str(), &end, 10));
    e.home = fields[5];
    e.shell = fields[6];
    entries.push_back(e);
  }
  return entries;
}

bool CheckTrustedExecutable(const std::string& path, std::string* problem) {
  if (path.empty() || path[0] != '/') {
    *problem = "\"" + path + "\" is not an absolute path";
    return false;
  }
  std::string real = RealPath(path);
  struct stat st;
  if (real.empty() || stat(real.c_str(), &st) != 0) {
    *problem = "\"" + path + "\" does not exist";
    return false;
  }
  if (!S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0) {
    *problem = "\"" + path + "\" is not an executable file";
    return false;
  }
  // A name can be swapped by whoever may write to any directory on the way to it, on the path
  // as written (symlinks there can be re-pointed) as well as on the resolved one.
  std::vector<std::string> to_check = {real};
  for (const std::string& p : {path, real}) {
    std::string d = Dirname(p);
    while (true) {
      to_check.push_back(d);
      if (d == "/") break;
      d = Dirname(d);
    }
  }
  for (const std::string& p : to_check) {
    if (stat(p.c_str(), &st) != 0) {
      *problem = "cannot stat \"" + p + "\": " + strerror(errno);
      return false;
    }
    if (st.st_uid != 0) {
      *problem = "\"" + p + "\" (on the way to " + path + ") is owned by uid " +
                 std::to_string(st.st_uid) + ", not root";
      return false;
    }
    if ((st.st_mode & 022) != 0) {
      *problem = "\"" + p + "\" (on the way to " + path + ") is writable by group or others";
      return false;
    }
  }
  return true;
}

int LandlockAbiVersion() {
  long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return abi < 0 ? 0 : static_cast<int>(abi);
}

std::vector<std::string> LiteralAddresses(const std::string& from) {
  std::vector<std::string> out;
  for (size_t start = 0; start <= from.size();) {
    size_t comma = from.find(',', start);
    if (comma == std::string::npos) comma = from.size();
    std::string p = from.substr(start, comma - start);
    start = comma + 1;
    p = p.substr(0, p.find('/'));
    unsigned char buf[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, p.c_str(), buf) == 1 || inet_pton(AF_INET6, p.c_str(), buf) == 1)
      out.push_back(p);
  }
  return out;
}

bool EvaluateSshd(const std::string& sshd, const std::string& config,
                  const SshdConnection* connection, SshdSettings* settings, std::string* err) {
  std::vector<std::string> argv = {sshd, "-T"};
  if (!config.empty()) {
    argv.push_back("-f");
    argv.push_back(config);
  }
  if (connection != nullptr) {
    for (const std::string& v : {connection->user, connection->host, connection->addr}) {
      if (v.empty() || v.find_first_of(",= \t\n") != std::string::npos) {
        *err = "cannot ask sshd -T -C about \"" + Display(v) + "\": empty, or holds , or =";
        return false;
      }
    }
    argv.push_back("-C");
    argv.push_back("user=" + connection->user + ",host=" + connection->host +
                   ",addr=" + connection->addr);
  }
  ProcessResult run;
  if (!RunProcess(argv, 60, &run, err)) return false;
  if (run.exit_code != 0) {
    std::string why = run.err;
    while (!why.empty() && why.back() == '\n') why.pop_back();
    *err = std::string(connection == nullptr ? "sshd -T" : "sshd -T -C") +
           " failed: " + Display(why, 400);
    return false;
  }
  *settings = ParseSshdSettings(run.out);
  return true;
}

bool RunAudit(const AuditOptions& options, std::vector<AuditFinding>* findings, std::string* err) {
  findings->clear();
  SshdSettings sshd;
  if (!EvaluateSshd(options.sshd, options.sshd_config, nullptr, &sshd, err)) return false;
  AuditSshdSettings(sshd, findings);

  std::string passwd_text;
  int error = 0;
  if (!ReadSmallFile(options.passwd, &passwd_text, &error)) {
    *err = "Failed to read \"" + options.passwd + "\": " + strerror(error);
    return false;
  }
  std::vector<PasswdEntry> entries = ParsePasswd(passwd_text);
  std::set<std::string> rsync_paths = {options.rsync};
  if (options.users.empty()) {
    for (const PasswdEntry& e : entries)
      AuditUser(options, sshd, e, e.uid == 0, findings, &rsync_paths);
  } else {
    for (const std::string& name : options.users) {
      auto it = std::find_if(entries.begin(), entries.end(),
                             [&](const PasswdEntry& e) { return e.name == name; });
      if (it == entries.end()) {
        *err = "no such user \"" + name + "\" in " + options.passwd;
        return false;
      }
      AuditUser(options, sshd, *it, true, findings, &rsync_paths);
    }
  }

  int abi = options.landlock_probe();
  if (abi == 0) {
    Add(findings, AuditStatus::kWarn, "kernel.landlock", "kernel",
        "Landlock is unavailable: rrsync -sandbox=auto runs rsync unconfined, -sandbox=require "
        "refuses every session");
  } else if (abi < 2) {
    Add(findings, AuditStatus::kWarn, "kernel.landlock", "kernel",
        "Landlock ABI 1: uploads need ABI 2 (REFER) to be confined");
  } else {
    Add(findings, AuditStatus::kPass, "kernel.landlock", "kernel",
        "Landlock ABI " + std::to_string(abi));
  }

  for (const std::string& rsync : rsync_paths) {
    RsyncFeatures features;
    std::string feature_err;
    if (!DetectRsyncFeatures(rsync, &features, &feature_err)) {
      Add(findings, AuditStatus::kFail, "rsync.features", Display(rsync),
          "cannot inspect rsync: " + Display(feature_err));
      continue;
    }
    std::string missing;
    if (!features.drop_devices) missing += " --drop-D";
    if (!features.confine_root) missing += " --confine-root";
    if (missing.empty()) {
      Add(findings, AuditStatus::kPass, "rsync.features", Display(rsync),
          "rsync knows --drop-D and --confine-root");
    } else {
      Add(findings, AuditStatus::kWarn, "rsync.features", Display(rsync),
          "rsync lacks" + missing + " (rsync 3.5.0 or later has them): rrsync runs it without");
    }
  }
  return true;
}

bool ListAccountKeys(const AuditOptions& options, const std::string& user,
                     std::vector<AccountKeyLine>* lines, std::vector<AuditFinding>* account,
                     std::string* err) {
  lines->clear();
  account->clear();
  SshdSettings sshd;
  if (!EvaluateSshd(options.sshd, options.sshd_config, nullptr, &sshd, err)) return false;
  std::string passwd_text;
  int error = 0;
  if (!ReadSmallFile(options.passwd, &passwd_text, &error)) {
    *err = "Failed to read \"" + options.passwd + "\": " + strerror(error);
    return false;
  }
  const std::vector<PasswdEntry> entries = ParsePasswd(passwd_text);
  auto it = std::find_if(entries.begin(), entries.end(),
                         [&](const PasswdEntry& e) { return e.name == user; });
  if (it == entries.end()) {
    *err = "no such user \"" + user + "\" in " + options.passwd;
    return false;
  }
  std::vector<AuditFinding> findings;
  std::set<std::string> rsync_paths;
  AuditUser(options, sshd, *it, true, &findings, &rsync_paths, lines);
  for (AccountKeyLine& line : *lines) {
    const std::string subject = user + ": " + line.where;
    for (const AuditFinding& f : findings)
      if (f.subject == subject && f.status != AuditStatus::kPass) line.problems.push_back(f);
    if (!line.parsed) continue;
    const KeyOption* command = line.key.Find("command");
    if (command == nullptr) {
      line.mode = "shell";
      continue;
    }
    std::vector<std::string> words;
    std::string split_err;
    RrsyncCommand cmd;
    if (!SplitShellWords(command->value, &words, &split_err) || words.empty() ||
        Basename(words[0]).find("rrsync") == std::string::npos ||
        !ParseRrsyncCommand(words, &cmd)) {
      line.mode = "other";
      line.dir = Display(command->value);
      continue;
    }
    line.mode = RrsyncModeName(cmd);
    line.dir = cmd.config.empty() ? Display(cmd.dir) : "-config=" + Display(cmd.config);
  }
  for (const AuditFinding& f : findings)
    if (f.subject == user && f.status != AuditStatus::kPass) account->push_back(f);
  return true;
}

const char* AuditStatusName(AuditStatus status) {
  switch (status) {
    case AuditStatus::kPass:
      return "PASS";
    case AuditStatus::kWarn:
      return "WARN";
    case AuditStatus::kFail:
      return "FAIL";
  }
  return "FAIL";
}

std::string FormatAuditText(const std::vector<AuditFinding>& findings) {
  std::string out;
  int counts[3] = {0, 0, 0};
  for (const AuditFinding& f : findings) {
    out += std::string(AuditStatusName(f.status)) + " " + f.subject + ": " + f.message + "\n";
    ++counts[static_cast<int>(f.status)];
  }
  out += "audit: " + std::to_string(counts[2]) + " FAIL, " + std::to_string(counts[1]) + " WARN, " +
         std::to_string(counts[0]) + " PASS\n";
  return out;
}

std::string FormatAuditJson(const std::vector<AuditFinding>& findings) {
  nlohmann::json doc;
  doc["findings"] = nlohmann::json::array();
  int counts[3] = {0, 0, 0};
  for (const AuditFinding& f : findings) {
    doc["findings"].push_back({{"status", AuditStatusName(f.status)},
                               {"check", f.check},
                               {"subject", f.subject},
                               {"message", f.message}});
    ++counts[static_cast<int>(f.status)];
  }
  doc["pass"] = counts[0];
  doc["warn"] = counts[1];
  doc["fail"] = counts[2];
  return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace rrsync
