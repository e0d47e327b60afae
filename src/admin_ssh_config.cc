#include "admin_ssh_config.h"

#include <string_view>

namespace rrsync {

namespace {

bool HasControlOrQuote(std::string_view s) {
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '"') return true;
  }
  return false;
}

// A Host pattern or host name: one word, no pattern characters (they would widen the stanza
// to other hosts), nothing ssh_config would read as a comment or a second value.
bool IsPlainName(std::string_view s) {
  if (s.empty() || s.front() == '-') return false;
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return false;
    if (std::string_view("*?!,#\"'=\\").find(c) != std::string_view::npos) return false;
  }
  return true;
}

}  // namespace

bool FormatSshConfigStanza(const SshConfigSpec& spec, std::string* stanza, std::string* err) {
  if (!IsPlainName(spec.alias)) {
    *err = "the alias must be one word without pattern characters";
    return false;
  }
  if (!IsPlainName(spec.host)) {
    *err = "the host must be one word without pattern characters";
    return false;
  }
  if (!spec.user.empty() && !IsPlainName(spec.user)) {
    *err = "the user name must be one word";
    return false;
  }
  if (spec.port < 0 || spec.port > 65535) {
    *err = "the port must be between 1 and 65535";
    return false;
  }
  if (spec.key_file.empty() || HasControlOrQuote(spec.key_file)) {
    *err = "the key file name must not be empty or hold quotes or control characters";
    return false;
  }
  std::string key = spec.key_file;
  if (key.find(' ') != std::string::npos || key.find('\t') != std::string::npos ||
      key.find('#') != std::string::npos) {
    key = "\"" + key + "\"";
  }
  std::string out = "Host " + spec.alias + "\n";
  out += "    HostName " + spec.host + "\n";
  if (!spec.user.empty()) out += "    User " + spec.user + "\n";
  if (spec.port != 0) out += "    Port " + std::to_string(spec.port) + "\n";
  out += "    IdentityFile " + key + "\n";
  out += "    IdentitiesOnly yes\n";
  out += "    ForwardAgent no\n";
  out += "    ForwardX11 no\n";
  out += "    BatchMode yes\n";
  // A master connection another key opened to the same account would carry this alias's
  // sessions: the backup (and the probe) must log in with this key, every time.
  out += "    ControlMaster no\n";
  out += "    ControlPath none\n";
  *stanza = out;
  return true;
}

}  // namespace rrsync
