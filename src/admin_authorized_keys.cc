#include "admin_authorized_keys.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "base64.h"

namespace rrsync {

namespace {

constexpr std::array<std::string_view, 8> kKeyTypes = {
    "ssh-ed25519",
    "ssh-rsa",
    "ssh-dss",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
};

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimLineEnd(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  return line;
}

std::string_view NextWord(std::string_view* rest) {
  size_t start = 0;
  while (start < rest->size() && IsBlank((*rest)[start])) ++start;
  size_t end = start;
  while (end < rest->size() && !IsBlank((*rest)[end])) ++end;
  std::string_view word = rest->substr(start, end - start);
  rest->remove_prefix(end);
  return word;
}

// The blob starts with the algorithm name as an SSH string; it must match the type word, or
// the line was mangled (or the words were swapped).
bool BlobMatchesType(std::string_view type, std::string_view blob) {
  std::string bytes;
  if (!DecodeBase64(blob, &bytes) || bytes.size() < 4) return false;
  uint32_t len = (static_cast<uint8_t>(bytes[0]) << 24) | (static_cast<uint8_t>(bytes[1]) << 16) |
                 (static_cast<uint8_t>(bytes[2]) << 8) | static_cast<uint8_t>(bytes[3]);
  if (len > bytes.size() - 4) return false;
  return std::string_view(bytes).substr(4, len) == type;
}

bool ParseKeyWords(std::string_view rest, PublicKey* key, std::string* err) {
  std::string_view type = NextWord(&rest);
  std::string_view blob = NextWord(&rest);
  if (!IsKnownKeyType(type)) {
    *err = "unknown key type \"" + std::string(type.substr(0, 64)) + "\"";
    return false;
  }
  if (blob.empty() || !BlobMatchesType(type, blob)) {
    *err = "the key data is not valid base64 for a " + std::string(type) + " key";
    return false;
  }
  while (!rest.empty() && IsBlank(rest.front())) rest.remove_prefix(1);
  while (!rest.empty() && IsBlank(rest.back())) rest.remove_suffix(1);
  key->type = std::string(type);
  key->blob = std::string(blob);
  key->comment = std::string(rest);
  return true;
}

// Reads the option list at the start of `*rest` as sshd's auth-options.c does: names, an
// optional ="value" in which only \" is an escape, separated by commas, ended by a blank.
bool ParseOptions(std::string_view* rest, std::vector<KeyOption>* options, std::string* err) {
  std::string_view s = *rest;
  size_t i = 0;
  while (true) {
    KeyOption opt;
    size_t name_start = i;
    while (i < s.size() && s[i] != '=' && s[i] != ',' && !IsBlank(s[i])) ++i;
    if (i == name_start) {
      *err = "empty key option";
      return false;
    }
    opt.name = std::string(s.substr(name_start, i - name_start));
    std::transform(opt.name.begin(), opt.name.end(), opt.name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (i < s.size() && s[i] == '=') {
      ++i;
      if (i >= s.size() || s[i] != '"') {
        *err = "option " + opt.name + " needs a double-quoted value";
        return false;
      }
      ++i;
      opt.has_value = true;
      bool closed = false;
      while (i < s.size()) {
        if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == '"') {
          opt.value.push_back('"');
          i += 2;
        } else if (s[i] == '"') {
          ++i;
          closed = true;
          break;
        } else {
          opt.value.push_back(s[i++]);
        }
      }
      if (!closed) {
        *err = "option " + opt.name + " has an unterminated quoted value";
        return false;
      }
    }
    options->push_back(std::move(opt));
    if (i < s.size() && s[i] == ',') {
      ++i;
      continue;
    }
    if (i < s.size() && !IsBlank(s[i])) {
      *err = "unexpected character after option " + options->back().name;
      return false;
    }
    break;
  }
  rest->remove_prefix(i);
  return true;
}

}  // namespace

const KeyOption* AuthorizedKey::Find(std::string_view name) const {
  for (const KeyOption& o : options) {
    if (o.name == name) return &o;
  }
  return nullptr;
}

bool IsKnownKeyType(std::string_view type) {
  constexpr std::string_view kCert = "-cert-v01@openssh.com";
  for (std::string_view t : kKeyTypes) {
    if (type == t) return true;
    // Certificate types put the suffix before the @openssh.com of the sk- names.
    std::string cert(t);
    size_t at = cert.find('@');
    if (at != std::string::npos) cert.erase(at);
    cert += kCert;
    if (type == cert) return true;
  }
  return false;
}

bool IsBlankOrComment(std::string_view line) {
  line = TrimLineEnd(line);
  size_t i = 0;
  while (i < line.size() && IsBlank(line[i])) ++i;
  return i == line.size() || line[i] == '#';
}

bool ParseAuthorizedKeyLine(std::string_view line, AuthorizedKey* key, std::string* err) {
  *key = AuthorizedKey();
  std::string_view rest = TrimLineEnd(line);
  while (!rest.empty() && IsBlank(rest.front())) rest.remove_prefix(1);
  std::string_view probe = rest;
  if (IsKnownKeyType(NextWord(&probe))) return ParseKeyWords(rest, &key->key, err);
  if (!ParseOptions(&rest, &key->options, err)) return false;
  return ParseKeyWords(rest, &key->key, err);
}

bool ParsePublicKeyText(std::string_view text, PublicKey* key, std::string* err) {
  std::string_view line;
  int lines = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view l = text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (IsBlankOrComment(l)) continue;
    line = l;
    ++lines;
  }
  if (text.find("PRIVATE KEY") != std::string_view::npos) {
    *err = "this is a private key; pass the .pub file";
    return false;
  }
  if (lines != 1) {
    *err = lines == 0 ? "no public key found" : "more than one key line";
    return false;
  }
  std::string_view first = TrimLineEnd(line);
  while (!first.empty() && IsBlank(first.front())) first.remove_prefix(1);
  std::string_view probe = first;
  if (!IsKnownKeyType(NextWord(&probe))) {
    AuthorizedKey with_options;
    std::string ignored;
    if (ParseAuthorizedKeyLine(first, &with_options, &ignored)) {
      *err = "the key line carries options; pass a plain public key";
    } else {
      *err = "not a public key";
    }
    return false;
  }
  return ParseKeyWords(first, key, err);
}

std::string ShellQuote(std::string_view word) {
  bool plain = !word.empty();
  for (char c : word) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '.' || c == '_' ||
          c == '-' || c == '+' || c == ':' || c == '@' || c == ',' || c == '=' || c == '%')) {
      plain = false;
    }
  }
  if (plain) return std::string(word);
  return "'" + std::string(word) + "'";
}

bool SplitShellWords(std::string_view command, std::vector<std::string>* words, std::string* err) {
  words->clear();
  std::string word;
  bool in_word = false;
  size_t i = 0;
  while (i < command.size()) {
    char c = command[i];
    if (IsBlank(c) || c == '\n') {
      if (in_word) words->push_back(word);
      word.clear();
      in_word = false;
      ++i;
    } else if (c == '\'') {
      size_t end = command.find('\'', i + 1);
      if (end == std::string_view::npos) {
        *err = "unbalanced single quote";
        return false;
      }
      word.append(command.substr(i + 1, end - i - 1));
      in_word = true;
      i = end + 1;
    } else if (c == '"') {
      ++i;
      bool closed = false;
      while (i < command.size()) {
        char d = command[i];
        if (d == '"') {
          closed = true;
          ++i;
          break;
        }
        if (d == '$' || d == '`') {
          *err = "shell expansion inside double quotes";
          return false;
        }
        if (d == '\\' && i + 1 < command.size() &&
            (command[i + 1] == '"' || command[i + 1] == '\\' || command[i + 1] == '$' ||
             command[i + 1] == '`')) {
          word.push_back(command[i + 1]);
          i += 2;
          continue;
        }
        word.push_back(d);
        ++i;
      }
      if (!closed) {
        *err = "unbalanced double quote";
        return false;
      }
      in_word = true;
    } else if (c == '\\') {
      if (i + 1 < command.size()) word.push_back(command[i + 1]);
      in_word = true;
      i += 2;
    } else if (std::string_view(";|&$`<>(){}*?[~#").find(c) != std::string_view::npos &&
               !(c == '#' && in_word) && !(c == '~' && in_word)) {
      *err = std::string("shell syntax '") + c + "' in the command";
      return false;
    } else {
      word.push_back(c);
      in_word = true;
      ++i;
    }
  }
  if (in_word) words->push_back(word);
  return true;
}

std::string FormatAuthorizedKeyLine(const AuthorizedKey& key) {
  std::string line;
  for (const KeyOption& o : key.options) {
    if (!line.empty()) line += ',';
    line += o.name;
    if (o.has_value) {
      line += "=\"";
      for (char c : o.value) {
        // sshd only unescapes \" inside a value, so a backslash stays as it is.
        if (c == '"') line += '\\';
        line += c;
      }
      line += '"';
    }
  }
  if (!line.empty()) line += ' ';
  line += key.key.type + ' ' + key.key.blob;
  if (!key.key.comment.empty()) line += ' ' + key.key.comment;
  return line;
}

MergeResult MergeAuthorizedKey(std::string_view existing, const PublicKey& key,
                               const std::string& new_line) {
  MergeResult result;
  bool placed = false;
  size_t pos = 0;
  while (pos < existing.size()) {
    size_t nl = existing.find('\n', pos);
    size_t end = nl == std::string_view::npos ? existing.size() : nl + 1;
    std::string_view raw = existing.substr(pos, end - pos);
    pos = end;
    AuthorizedKey parsed;
    std::string ignored;
    bool same_key = !IsBlankOrComment(raw) && ParseAuthorizedKeyLine(raw, &parsed, &ignored) &&
                    parsed.key.type == key.type && parsed.key.blob == key.blob;
    if (!same_key) {
      result.text.append(raw);
      if (nl == std::string_view::npos) result.text.push_back('\n');
      continue;
    }
    if (placed) {
      ++result.removed_duplicates;
      continue;
    }
    placed = true;
    result.action = TrimLineEnd(raw) == new_line ? MergeAction::kUnchanged : MergeAction::kReplaced;
    result.text += new_line + "\n";
  }
  if (!placed) {
    result.action = MergeAction::kAdded;
    result.text += new_line + "\n";
  }
  return result;
}

bool ReadAllFd(int fd, size_t limit, std::string* text, std::string* err) {
  text->clear();
  char buf[8192];
  while (true) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *err = std::strerror(errno);
      return false;
    }
    if (n == 0) return true;
    text->append(buf, static_cast<size_t>(n));
    if (text->size() > limit) {
      *err = "file is larger than " + std::to_string(limit) + " bytes";
      return false;
    }
  }
}

bool WriteAllFd(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace rrsync
