#include "admin_authorize.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <shadow.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <random>

#include "admin_audit.h"
#include "admin_diff.h"
#include "admin_key_blob.h"
#include "admin_login_files.h"
#include "admin_process.h"
#include "escape.h"

namespace rrsync {

namespace {

// Characters that would need more than single quotes in the shell the forced command runs
// through, or an escape inside the command="..." option.
bool IsSafeForCommand(const std::string& s) {
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '\'' || c == '"' || c == '\\') return false;
  }
  return true;
}

bool IsPrintable(const std::string& s) {
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

std::string Errno(int e) { return strerror(e); }

bool ReadPublicKey(const std::string& path, PublicKey* key, std::string* fingerprint,
                   std::string* err) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) {
    *err = "Failed to open \"" + path + "\": " + Errno(errno);
    return false;
  }
  std::string text, read_err;
  if (!ReadAllFd(fd.get(), 64 * 1024, &text, &read_err)) {
    *err = "Failed to read \"" + path + "\": " + read_err;
    return false;
  }
  std::string parse_err;
  if (!ParsePublicKeyText(text, key, &parse_err)) {
    *err = "\"" + path + "\" is not usable: " + parse_err;
    return false;
  }
  ProcessResult run;
  if (!RunProcess({"ssh-keygen", "-l", "-f", path}, 30, &run, err)) return false;
  if (run.exit_code != 0) {
    *err = "ssh-keygen -l rejects \"" + path + "\"";
    return false;
  }
  *fingerprint = run.out;
  while (!fingerprint->empty() && fingerprint->back() == '\n') fingerprint->pop_back();
  return true;
}

bool GenerateKey(const std::string& file, const std::string& comment, std::string* err) {
  struct stat st;
  for (const std::string& p : {file, file + ".pub"}) {
    if (lstat(p.c_str(), &st) == 0) {
      *err = "\"" + p + "\" already exists; refusing to overwrite a key";
      return false;
    }
  }
  ProcessResult run;
  if (!RunProcess({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file}, 60,
                  &run, err)) {
    return false;
  }
  if (run.exit_code != 0) {
    *err = "ssh-keygen failed to create \"" + file + "\": " + run.err;
    while (!err->empty() && err->back() == '\n') err->pop_back();
    return false;
  }
  return true;
}

// The first line of `text` that holds `key` with a forced command other than `command`, 0 when
// there is none. Lines that do not parse are not the key as far as sshd is concerned.
int LineGrantingOtherwise(std::string_view text, const PublicKey& key, const std::string& command) {
  size_t pos = 0;
  int line_no = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    if (IsBlankOrComment(line)) continue;
    AuthorizedKey entry;
    std::string ignored;
    if (!ParseAuthorizedKeyLine(line, &entry, &ignored)) continue;
    if (entry.key.type != key.type || entry.key.blob != key.blob) continue;
    const KeyOption* other = entry.Find("command");
    if (other == nullptr || other->value != command) return line_no;
  }
  return 0;
}

std::string RandomSuffix() {
  std::random_device rd;
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string s;
  for (int i = 0; i < 10; ++i) s += kChars[rd() % (sizeof kChars - 1)];
  return s;
}

// The first line of `text` that holds `key` and parses.
bool FindKeyLine(std::string_view text, const PublicKey& key, AuthorizedKey* found) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    std::string ignored;
    if (!IsBlankOrComment(line) && ParseAuthorizedKeyLine(line, found, &ignored) &&
        found->key.type == key.type && found->key.blob == key.blob)
      return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> LooseningOf(const AuthorizedKey& before, const AuthorizedKey& after) {
  std::vector<std::string> out;
  for (const char* name : {"from", "expiry-time", "permitopen", "permitlisten"}) {
    const KeyOption* old_value = before.Find(name);
    if (old_value == nullptr) continue;
    const KeyOption* new_value = after.Find(name);
    if (new_value == nullptr) {
      out.push_back(std::string("drops ") + name + "=\"" + EscapeUntrusted(old_value->value, 200) +
                    "\"");
    } else if (new_value->value != old_value->value) {
      out.push_back(std::string("changes ") + name + "=\"" +
                    EscapeUntrusted(old_value->value, 200) + "\" to \"" +
                    EscapeUntrusted(new_value->value, 200) + "\"");
    }
  }
  if (before.Find("restrict") != nullptr && after.Find("restrict") == nullptr)
    out.push_back("drops restrict");
  const KeyOption* old_command = before.Find("command");
  const KeyOption* new_command = after.Find("command");
  if (old_command == nullptr) return out;
  std::vector<std::string> old_words, new_words;
  std::string ignored;
  if (new_command == nullptr || !SplitShellWords(old_command->value, &old_words, &ignored) ||
      !SplitShellWords(new_command->value, &new_words, &ignored) || old_words.empty() ||
      new_words.empty()) {
    if (new_command == nullptr || new_command->value != old_command->value)
      out.push_back("replaces command=\"" + EscapeUntrusted(old_command->value, 300) + "\"");
    return out;
  }
  // rrsync's flags, then its DIR last (or none with -config).
  for (size_t i = 1; i < old_words.size(); ++i) {
    const std::string& w = old_words[i];
    if (w.empty() || w[0] != '-') continue;
    if (std::find(new_words.begin() + 1, new_words.end(), w) == new_words.end())
      out.push_back("drops " + EscapeUntrusted(w, 200));
  }
  const std::string& old_last = old_words.back();
  const std::string& new_last = new_words.back();
  if (!old_last.empty() && old_last[0] != '-' && old_words.size() > 1 && old_last != new_last)
    out.push_back("changes DIR " + EscapeUntrusted(old_last, 300) + " to " +
                  EscapeUntrusted(new_last, 300));
  return out;
}

bool CheckFromPatterns(const std::string& from, std::string* err) {
  for (size_t start = 0; start <= from.size();) {
    size_t comma = from.find(',', start);
    if (comma == std::string::npos) comma = from.size();
    const std::string pattern = from.substr(start, comma - start);
    start = comma + 1;
    auto refuse = [&](const std::string& why) {
      *err = "--from \"" + EscapeUntrusted(pattern, 200) + "\": " + why;
      return false;
    };
    std::string body = pattern;
    if (!body.empty() && body[0] == '!') body.erase(0, 1);
    if (body.empty()) return refuse("an empty pattern (sshd would refuse the whole line)");
    for (char c : body) {
      if (!(isalnum(static_cast<unsigned char>(c)) ||
            std::string_view(".:*?/_-%").find(c) != std::string_view::npos))
        return refuse("patterns hold letters, digits and . : * ? / _ - % only");
    }
    unsigned char buf[sizeof(struct in6_addr)];
    const size_t slash = body.find('/');
    if (slash != std::string::npos) {
      const std::string addr = body.substr(0, slash), bits = body.substr(slash + 1);
      const bool v4 = inet_pton(AF_INET, addr.c_str(), buf) == 1;
      const bool v6 = !v4 && inet_pton(AF_INET6, addr.c_str(), buf) == 1;
      if (!v4 && !v6) return refuse(addr + " is not an IPv4 or IPv6 address (before /PREFIX)");
      const int max = v4 ? 32 : 128;
      if (bits.empty() || bits.size() > 3 ||
          bits.find_first_not_of("0123456789") != std::string::npos || std::stoi(bits) > max)
        return refuse("/" + bits + " is not a prefix length for " + (v4 ? "IPv4" : "IPv6") +
                      " (0-" + std::to_string(max) + ")");
      continue;
    }
    const bool wildcard = body.find_first_of("*?") != std::string::npos;
    if (!wildcard && body.find_first_not_of("0123456789.") == std::string::npos &&
        inet_pton(AF_INET, body.c_str(), buf) != 1)
      return refuse(body + " is not an IPv4 address");
    if (!wildcard && body.find(':') != std::string::npos &&
        inet_pton(AF_INET6, body.c_str(), buf) != 1)
      return refuse(body + " is not an IPv6 address");
  }
  return true;
}

bool CheckAuthorizeSpec(const AuthorizeSpec& spec, std::string* err) {
  if (spec.read_only && spec.write_only) {
    *err = "--ro and --wo contradict each other";
    return false;
  }
  if (spec.read_only && spec.no_overwrite) {
    *err = "--no-overwrite governs uploads, which --ro refuses: they contradict each other";
    return false;
  }
  if (spec.rrsync_path.empty() || spec.rrsync_path[0] != '/' ||
      !IsSafeForCommand(spec.rrsync_path)) {
    *err = "the rrsync path must be absolute, without quotes, backslashes or control characters";
    return false;
  }
  if (spec.dir.empty() || spec.dir[0] != '/' || !IsSafeForCommand(spec.dir)) {
    *err = "DIR must not hold quotes, backslashes or control characters";
    return false;
  }
  if (!spec.from.empty() && !CheckFromPatterns(spec.from, err)) return false;
  if (!IsPrintable(spec.comment)) {
    *err = "--comment must not hold control characters";
    return false;
  }
  return true;
}

bool BuildAuthorizedLine(const AuthorizeSpec& spec, const PublicKey& key, std::string* line,
                         std::string* err) {
  if (!CheckAuthorizeSpec(spec, err)) return false;
  std::string command = ShellQuote(spec.rrsync_path);
  if (spec.read_only) command += " -ro";
  if (spec.write_only) command += " -wo";
  if (spec.snapshots) command += " -snapshots";
  if (spec.munge) command += " -munge";
  if (spec.no_delete) command += " -no-del";
  if (spec.no_overwrite) command += " -no-overwrite";
  command += " " + ShellQuote(spec.dir);

  AuthorizedKey entry;
  entry.options.push_back({"restrict", "", false});
  entry.options.push_back({"command", command, true});
  if (!spec.from.empty()) entry.options.push_back({"from", spec.from, true});
  entry.key = key;
  if (!spec.comment.empty()) entry.key.comment = spec.comment;
  *line = FormatAuthorizedKeyLine(entry);
  return true;
}

bool Authorize(const AuthorizeRequest& request, AuthorizeOutcome* outcome, std::string* err) {
  *outcome = AuthorizeOutcome();
  if (request.key_file.empty() == request.generate_file.empty()) {
    *err = "give exactly one of --key and --generate";
    return false;
  }
  errno = 0;
  struct passwd* pw = getpwnam(request.user.c_str());
  if (pw == nullptr) {
    *err = "no such user \"" + request.user + "\"";
    return false;
  }
  const uid_t uid = pw->pw_uid;
  const gid_t gid = pw->pw_gid;
  const std::string home = pw->pw_dir;
  const PasswdEntry account{request.user, uid, gid, home, pw->pw_shell};

  // sshd runs the forced command as `SHELL -c COMMAND`: a shell that refuses commands, or one
  // sshd cannot execute (it then refuses the login), makes the key useless.
  const std::string shell = account.shell.empty() ? "/bin/sh" : account.shell;
  const std::string shell_name = shell.substr(shell.rfind('/') + 1);
  if (shell_name == "nologin" || shell_name == "false") {
    *err = request.user + "'s login shell " + shell +
           " refuses to run commands, so sshd cannot start rrsync: give the account /bin/sh "
           "(usermod -s /bin/sh " +
           request.user + ")";
    return false;
  }
  if (access(shell.c_str(), X_OK) != 0) {
    *err = request.user + "'s login shell " + shell +
           " is missing or not executable: sshd refuses every login to the account";
    return false;
  }
  // The shadow entry: sshd without PAM refuses a locked account ("!..."), and both sshd and
  // pam_unix refuse an expired one (shadow(5): days since the epoch).
  bool locked = false;
  if (struct spwd* sp = getspnam(request.user.c_str())) {
    locked = sp->sp_pwdp != nullptr && sp->sp_pwdp[0] == '!';
    if (sp->sp_expire > 0 && sp->sp_expire <= static_cast<long>(time(nullptr) / 86400)) {
      *err = "the account " + request.user +
             " has expired (shadow expiry date): sshd refuses every login to it";
      return false;
    }
  }

  AuthorizeSpec spec = request.spec;
  spec.dir = request.dir;
  if (!spec.dir.empty() && spec.dir[0] != '/') spec.dir = home + "/" + spec.dir;
  while (spec.dir.size() > 1 && spec.dir.back() == '/') spec.dir.pop_back();
  if (!CheckAuthorizeSpec(spec, err)) return false;
  struct stat st;
  if (stat(spec.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    *err = "DIR \"" + spec.dir + "\" does not exist or is not a directory";
    return false;
  }
  std::string problem;
  if (!CheckTrustedExecutable(spec.rrsync_path, &problem)) {
    *err = "refusing rrsync path \"" + spec.rrsync_path + "\": " + problem;
    return false;
  }

  // sshd as this account's login sees it (sshd -T -C: Match blocks apply), from localhost and
  // from each literal address of --from, which a Match Address block may single out. A line it
  // would not read, or whose command= a ForceCommand replaces, restricts nothing.
  std::vector<std::string> addrs = {"127.0.0.1"};
  for (const std::string& a : LiteralAddresses(spec.from)) {
    if (std::find(addrs.begin(), addrs.end(), a) == addrs.end()) addrs.push_back(a);
  }
  const std::string keys_path = home + "/.ssh/authorized_keys";
  std::vector<std::string> keys_files;
  std::vector<LoginFile> login_files;
  LoginFileContext context;
  // ~/.ssh/rc counts whenever sshd allows it: another key of the account, now or later, may
  // run it.
  context.user_rc = true;
  context.pam_user_env = !request.pam_sshd.empty() && PamReadsUserEnvironment(request.pam_sshd);
  for (const std::string& addr : addrs) {
    SshdConnection connection;
    connection.user = request.user;
    connection.addr = addr;
    SshdSettings sshd;
    if (!EvaluateSshd(request.sshd, request.sshd_config, &connection, &sshd, err)) return false;
    const std::string from = addr == addrs.front() ? "" : " from " + addr;
    const std::string forced = sshd.Get("forcecommand", "none");
    if (forced != "none") {
      *err = "sshd's ForceCommand \"" + forced + "\" applies to " + request.user + from +
             ": it would replace the key's command=";
      return false;
    }
    if (locked && sshd.Get("usepam", "no") == "no") {
      *err = "the account " + request.user +
             " is locked (its password starts with '!') and sshd has UsePAM no: sshd refuses "
             "every login to it, keys too (usermod -p '*' " +
             request.user + " allows key logins without a password)";
      return false;
    }
    const std::vector<std::string> files = AuthorizedKeysFiles(sshd, account);
    if (std::find(files.begin(), files.end(), keys_path) == files.end()) {
      *err = "sshd does not read \"" + keys_path + "\" for " + request.user + from +
             " (AuthorizedKeysFile " + sshd.Get("authorizedkeysfile", "none") +
             "): the key would never be used";
      return false;
    }
    for (const std::string& f : files) {
      if (std::find(keys_files.begin(), keys_files.end(), f) == keys_files.end())
        keys_files.push_back(f);
    }
    for (const LoginFile& f : LoginFilesFor(sshd, account, context)) login_files.push_back(f);
  }
  // A client who may write where sshd, PAM or the login shell read the account's files gets a
  // shell (admin_login_files.h).
  if (!spec.read_only) {
    std::vector<LoginFile> below;
    for (const LoginFile& f : LoginFilesBelow(spec.dir, login_files)) {
      if (std::none_of(below.begin(), below.end(),
                       [&](const LoginFile& g) { return g.path == f.path; }))
        below.push_back(f);
    }
    if (!below.empty()) {
      *err = "refusing DIR \"" + spec.dir + "\": it holds files sshd or the login shell read for " +
             request.user + ": " + DescribeLoginFiles(below, home) +
             ": a client who may write there gets a shell; use --ro or another DIR";
      return false;
    }
  }

  PublicKey key;
  std::string key_file = request.key_file;
  if (!request.generate_file.empty()) {
    if (request.dry_run) {
      key.type = "ssh-ed25519";
      key.blob = "<new-key>";
      outcome->fingerprint = "(a new ed25519 key would be generated)";
    } else {
      std::string comment = spec.comment.empty() ? "rrsync-" + request.user : spec.comment;
      if (!GenerateKey(request.generate_file, comment, err)) return false;
      outcome->generated = true;
      key_file = request.generate_file + ".pub";
    }
  }
  if (key.blob.empty() && !ReadPublicKey(key_file, &key, &outcome->fingerprint, err)) {
    return false;
  }
  if (key.blob != "<new-key>" && !CheckKeyStrength(key, err)) return false;
  outcome->key_type = key.type;
  if (!BuildAuthorizedLine(spec, key, &outcome->line, err)) return false;

  // sshd tries the files in order and takes the first line with the key: the same key in
  // another file without this forced command would undo it. That file is not ours to edit.
  AuthorizedKey built;
  std::string ignored;
  if (!ParseAuthorizedKeyLine(outcome->line, &built, &ignored)) {
    *err = "internal error: the built line does not parse: " + ignored;
    return false;
  }
  const std::string command = built.Find("command")->value;
  for (const std::string& file : keys_files) {
    if (file == keys_path) continue;
    UniqueFd fd(open(file.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (!fd.valid() && errno == ENOENT) continue;
    std::string text, read_err;
    if (!fd.valid() || fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
        !ReadAllFd(fd.get(), kMaxAuthorizedKeysSize, &text, &read_err)) {
      *err = "Failed to read \"" + file + "\", which sshd reads for " + request.user + ": " +
             (read_err.empty() ? (fd.valid() ? std::string("not a regular file") : Errno(errno))
                               : read_err);
      return false;
    }
    if (int line_no = LineGrantingOtherwise(text, key, command)) {
      *err = "the key is already in \"" + file + "\" line " + std::to_string(line_no) +
             " without this forced command: sshd may use that line instead; remove it there first";
      return false;
    }
  }

  const std::string ssh_path = home + "/.ssh";
  outcome->authorized_keys = keys_path;
  UniqueFd home_fd(open(home.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!home_fd.valid()) {
    *err = "Failed to open \"" + home + "\": " + Errno(errno);
    return false;
  }
  // From here on every name is opened relative to a descriptor and never through a symlink:
  // ~/.ssh belongs to the user, who could otherwise point us (root) at any file.
  UniqueFd ssh_fd(openat(home_fd.get(), ".ssh", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!ssh_fd.valid() && errno != ENOENT) {
    *err = "Failed to open \"" + ssh_path + "\" (it must be a real directory): " + Errno(errno);
    return false;
  }
  if (!ssh_fd.valid()) {
    outcome->created_ssh_dir = true;
    if (!request.dry_run) {
      if (mkdirat(home_fd.get(), ".ssh", 0700) != 0) {
        *err = "Failed to create \"" + ssh_path + "\": " + Errno(errno);
        return false;
      }
      ssh_fd.Reset(openat(home_fd.get(), ".ssh", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!ssh_fd.valid() || fchown(ssh_fd.get(), uid, gid) != 0 ||
          fchmod(ssh_fd.get(), 0700) != 0) {
        *err = "Failed to set up \"" + ssh_path + "\": " + Errno(errno);
        return false;
      }
    }
  } else {
    if (fstat(ssh_fd.get(), &st) != 0) {
      *err = "Failed to stat \"" + ssh_path + "\": " + Errno(errno);
      return false;
    }
    if ((st.st_uid != uid && st.st_uid != 0) || (st.st_mode & 022) != 0) {
      *err = "\"" + ssh_path + "\" must be owned by " + request.user +
             " and not writable by group or others (sshd's StrictModes would ignore it)";
      return false;
    }
  }

  std::string existing;
  mode_t mode = 0600;
  uid_t file_uid = uid;
  gid_t file_gid = gid;
  if (ssh_fd.valid()) {
    UniqueFd keys_fd(openat(ssh_fd.get(), "authorized_keys",
                            O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (!keys_fd.valid() && errno != ENOENT) {
      *err = "Failed to open \"" + outcome->authorized_keys +
             "\" (it must be a regular file): " + Errno(errno);
      return false;
    }
    if (keys_fd.valid()) {
      if (fstat(keys_fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        *err = "\"" + outcome->authorized_keys + "\" is not a regular file";
        return false;
      }
      std::string read_err;
      if (!ReadAllFd(keys_fd.get(), kMaxAuthorizedKeysSize, &existing, &read_err)) {
        *err = "Failed to read \"" + outcome->authorized_keys + "\": " + read_err;
        return false;
      }
      mode = st.st_mode & 0644;
      file_uid = st.st_uid;
      file_gid = st.st_gid;
    } else {
      outcome->created_file = true;
    }
  } else {
    outcome->created_file = true;
  }

  MergeResult merged = MergeAuthorizedKey(existing, key, outcome->line);
  outcome->action = merged.action;
  outcome->removed_duplicates = merged.removed_duplicates;
  AuthorizedKey old_line;
  if (FindKeyLine(existing, key, &old_line)) outcome->loosened = LooseningOf(old_line, built);
  if (merged.text == existing && !outcome->created_file) return true;
  if (request.dry_run) {
    outcome->diff = UnifiedDiff(outcome->authorized_keys, existing, merged.text);
    return true;
  }

  // Write a sibling and rename it over the file: sshd never sees a half-written file, and a
  // crash leaves the old one in place.
  std::string tmp_name;
  UniqueFd tmp_fd;
  for (int attempt = 0; attempt < 5 && !tmp_fd.valid(); ++attempt) {
    tmp_name = "authorized_keys.rrsync-admin." + RandomSuffix();
    tmp_fd.Reset(openat(ssh_fd.get(), tmp_name.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!tmp_fd.valid() && errno != EEXIST) break;
  }
  if (!tmp_fd.valid()) {
    *err = "Failed to create a temporary file in \"" + ssh_path + "\": " + Errno(errno);
    return false;
  }
  bool ok = fchown(tmp_fd.get(), file_uid, file_gid) == 0 && fchmod(tmp_fd.get(), mode) == 0 &&
            WriteAllFd(tmp_fd.get(), merged.text) && fsync(tmp_fd.get()) == 0;
  int saved = errno;
  tmp_fd.Reset();
  if (ok && renameat(ssh_fd.get(), tmp_name.c_str(), ssh_fd.get(), "authorized_keys") != 0) {
    saved = errno;
    ok = false;
  }
  if (!ok) {
    unlinkat(ssh_fd.get(), tmp_name.c_str(), 0);
    *err = "Failed to write \"" + outcome->authorized_keys + "\": " + Errno(saved);
    return false;
  }
  fsync(ssh_fd.get());
  outcome->wrote = true;
  return true;
}

}  // namespace rrsync
