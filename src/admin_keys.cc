#include "admin_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>

#include "admin_key_blob.h"
#include "escape.h"
#include "unique_fd.h"

namespace rrsync {

namespace {

std::string Errno(int e) { return strerror(e); }

std::string OptionsText(const AuthorizedKey& key) {
  AuthorizedKey options_only;
  options_only.options = key.options;
  std::string line = FormatAuthorizedKeyLine(options_only);
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return EscapeUntrusted(line, 600);
}

std::string KeySummary(const PublicKey& key) {
  const int bits = KeyBits(key);
  return (bits > 0 ? std::to_string(bits) + " " : std::string()) + KeyFingerprint(key) + " " +
         (key.comment.empty() ? "no comment" : EscapeUntrusted(key.comment, 200)) + " (" +
         KeyAlgorithmName(key) + ")";
}

std::string RandomSuffix() {
  std::random_device rd;
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string s;
  for (int i = 0; i < 10; ++i) s += kChars[rd() % (sizeof kChars - 1)];
  return s;
}

// Rewrites `name` in `dir_fd` with `text`: a temporary sibling with the old file's mode and
// owner, synced, renamed over it, so sshd never reads half a file.
bool ReplaceFile(int dir_fd, const std::string& name, const std::string& shown,
                 const struct stat& old, const std::string& text, std::string* err) {
  std::string tmp_name;
  UniqueFd tmp;
  for (int attempt = 0; attempt < 5 && !tmp.valid(); ++attempt) {
    tmp_name = name + ".rrsync-admin." + RandomSuffix();
    tmp.Reset(openat(dir_fd, tmp_name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                     0600));
    if (!tmp.valid() && errno != EEXIST) break;
  }
  if (!tmp.valid()) {
    *err = "Failed to create a temporary file beside \"" + shown + "\": " + Errno(errno);
    return false;
  }
  bool ok = fchown(tmp.get(), old.st_uid, old.st_gid) == 0 &&
            fchmod(tmp.get(), old.st_mode & 07777) == 0 && WriteAllFd(tmp.get(), text) &&
            fsync(tmp.get()) == 0;
  int saved = errno;
  tmp.Reset();
  if (ok && renameat(dir_fd, tmp_name.c_str(), dir_fd, name.c_str()) != 0) {
    saved = errno;
    ok = false;
  }
  if (!ok) {
    unlinkat(dir_fd, tmp_name.c_str(), 0);
    *err = "Failed to write \"" + shown + "\": " + Errno(saved);
    return false;
  }
  fsync(dir_fd);
  return true;
}

}  // namespace

std::string FormatKeysText(const std::string& user, const std::vector<AccountKeyLine>& lines,
                           const std::vector<AuditFinding>& account) {
  std::string out;
  for (const AccountKeyLine& l : lines) {
    out += l.file + " line " + std::to_string(l.line) + "\n";
    auto problems = [&] {
      if (l.problems.empty()) out += "  problems: none\n";
      // Messages quote what the account's file says: escaped once more for the terminal.
      for (const AuditFinding& f : l.problems)
        out += std::string("  problem:  ") + AuditStatusName(f.status) + " " + f.check + ": " +
               EscapeUntrusted(f.message, 1000) + "\n";
    };
    if (!l.parsed) {
      problems();
      continue;
    }
    out += "  key:      " + KeySummary(l.key.key) + "\n";
    out +=
        "  options:  " + (l.key.options.empty() ? std::string("none") : OptionsText(l.key)) + "\n";
    out += "  mode:     " + l.mode + "\n";
    if (!l.dir.empty()) out += (l.mode == "other" ? "  command:  " : "  dir:      ") + l.dir + "\n";
    problems();
  }
  if (lines.empty()) out += "no authorized keys for " + user + "\n";
  for (const AuditFinding& f : account)
    out += std::string("account:    ") + AuditStatusName(f.status) + " " + f.check + ": " +
           EscapeUntrusted(f.message, 1000) + "\n";
  return out;
}

std::string FormatKeysJson(const std::string& user, const std::vector<AccountKeyLine>& lines,
                           const std::vector<AuditFinding>& account) {
  auto finding_json = [](const AuditFinding& f) {
    return nlohmann::json{
        {"status", AuditStatusName(f.status)}, {"check", f.check}, {"message", f.message}};
  };
  nlohmann::json keys = nlohmann::json::array();
  for (const AccountKeyLine& l : lines) {
    nlohmann::json j = {{"file", l.file}, {"line", l.line}, {"parsed", l.parsed}};
    if (!l.parsed) {
      j["error"] = l.parse_error;
    } else {
      nlohmann::json options = nlohmann::json::array();
      for (const KeyOption& o : l.key.options) {
        options.push_back(o.has_value ? nlohmann::json{{"name", o.name}, {"value", o.value}}
                                      : nlohmann::json{{"name", o.name}});
      }
      j["type"] = l.key.key.type;
      j["bits"] = KeyBits(l.key.key);
      j["fingerprint"] = KeyFingerprint(l.key.key);
      j["comment"] = l.key.key.comment;
      j["options"] = options;
      j["mode"] = l.mode;
      j["dir"] = l.dir;
    }
    nlohmann::json problems = nlohmann::json::array();
    for (const AuditFinding& f : l.problems) problems.push_back(finding_json(f));
    j["problems"] = problems;
    keys.push_back(j);
  }
  nlohmann::json problems = nlohmann::json::array();
  for (const AuditFinding& f : account) problems.push_back(finding_json(f));
  nlohmann::json out = {{"user", user}, {"keys", keys}, {"problems", problems}};
  return out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

bool Revoke(const RevokeRequest& request, std::vector<RevokedLine>* removed, std::string* err) {
  removed->clear();
  if (request.fingerprint.empty() == request.key_file.empty()) {
    *err = "revoke needs exactly one of --fingerprint and --key";
    return false;
  }
  PublicKey wanted;
  if (!request.key_file.empty()) {
    UniqueFd fd(open(request.key_file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    std::string text, read_err;
    if (!fd.valid() || !ReadAllFd(fd.get(), kMaxAuthorizedKeysSize, &text, &read_err)) {
      *err =
          "Failed to read \"" + request.key_file + "\": " + (fd.valid() ? read_err : Errno(errno));
      return false;
    }
    std::string parse_err;
    if (!ParsePublicKeyText(text, &wanted, &parse_err)) {
      *err = "\"" + request.key_file + "\" is not usable: " + parse_err;
      return false;
    }
  } else if (request.fingerprint.rfind("SHA256:", 0) != 0) {
    *err = "--fingerprint must be a SHA256:... fingerprint, as ssh-keygen -l prints it";
    return false;
  }
  auto matches = [&](const PublicKey& key) {
    if (!request.key_file.empty()) return key.type == wanted.type && key.blob == wanted.blob;
    return KeyFingerprint(key) == request.fingerprint;
  };

  AuditOptions options = request.audit;
  std::vector<AccountKeyLine> lines;
  std::vector<AuditFinding> account;
  if (!ListAccountKeys(options, request.user, &lines, &account, err)) return false;
  std::vector<std::string> files;
  for (const AccountKeyLine& l : lines)
    if (std::find(files.begin(), files.end(), l.file) == files.end()) files.push_back(l.file);

  struct Edit {
    UniqueFd dir_fd;
    std::string name, shown, text;
    struct stat st;
  };
  std::vector<Edit> edits;
  for (const std::string& file : files) {
    const size_t slash = file.rfind('/');
    if (slash == std::string::npos) continue;
    const std::string parent = slash == 0 ? "/" : file.substr(0, slash);
    Edit edit;
    edit.name = file.substr(slash + 1);
    edit.shown = file;
    // The file's directory may be the account's own ~/.ssh: neither it nor the file is opened
    // through a symlink the account could have planted.
    edit.dir_fd.Reset(open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!edit.dir_fd.valid()) {
      *err = "Failed to open \"" + parent + "\" (it must be a real directory): " + Errno(errno);
      return false;
    }
    UniqueFd fd(openat(edit.dir_fd.get(), edit.name.c_str(),
                       O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    std::string text, read_err;
    if (!fd.valid() || fstat(fd.get(), &edit.st) != 0 || !S_ISREG(edit.st.st_mode) ||
        !ReadAllFd(fd.get(), kMaxAuthorizedKeysSize, &text, &read_err)) {
      *err =
          "Failed to read \"" + file + "\" (it must be a regular file)" +
          (read_err.empty() ? (fd.valid() ? std::string() : ": " + Errno(errno)) : ": " + read_err);
      return false;
    }
    size_t pos = 0;
    int line_no = 0;
    bool changed = false;
    while (pos < text.size()) {
      const size_t nl = text.find('\n', pos);
      const size_t end = nl == std::string::npos ? text.size() : nl + 1;
      std::string_view line(text.data() + pos, (nl == std::string::npos ? text.size() : nl) - pos);
      ++line_no;
      AuthorizedKey key;
      std::string ignored;
      if (!IsBlankOrComment(line) && ParseAuthorizedKeyLine(line, &key, &ignored) &&
          matches(key.key)) {
        removed->push_back(
            {file, line_no, KeyFingerprint(key.key), EscapeUntrusted(key.key.comment, 200)});
        changed = true;
      } else {
        edit.text.append(text, pos, end - pos);
      }
      pos = end;
    }
    if (changed) edits.push_back(std::move(edit));
  }
  if (removed->empty()) {
    std::string list;
    for (const std::string& f : files) list += (list.empty() ? "" : ", ") + f;
    *err = "no key matches " +
           (request.key_file.empty() ? request.fingerprint : "\"" + request.key_file + "\"") +
           " in the files sshd reads for " + request.user +
           (list.empty() ? std::string(" (none exists)") : " (" + list + ")");
    return false;
  }
  if (request.dry_run) return true;
  for (Edit& edit : edits) {
    if (!ReplaceFile(edit.dir_fd.get(), edit.name, edit.shown, edit.st, edit.text, err))
      return false;
  }
  return true;
}

}  // namespace rrsync
