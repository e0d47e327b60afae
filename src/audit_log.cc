#include "audit_log.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "base64.h"
#include "escape.h"
#include "session_log.h"
#include "sha256.h"

namespace rrsync {

namespace {

// A hostile client can send megabytes; a log line quotes at most this much of any one value.
constexpr size_t kMaxLoggedValue = 4096;
constexpr size_t kMaxAuthInfoBytes = 64 * 1024;

std::string EncodeBase64NoPadding(const uint8_t* data, size_t size) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < size; ++i) {
    acc = (acc << 8) | data[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
  return out;
}

// A value that needs no quoting in a text line: nothing that could be read as a separator.
bool IsBareToken(std::string_view v) {
  if (v.empty()) return false;
  for (char c : v) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::strchr("._:/@+=,-", c) != nullptr;
    if (!ok) return false;
  }
  return true;
}

std::string TextValue(const std::string& escaped) {
  return IsBareToken(escaped) ? escaped : PythonRepr(escaped);
}

std::string LocalTime(const char* format) {
  time_t t = time(nullptr);
  struct tm tm;
  localtime_r(&t, &tm);
  char buf[64];
  strftime(buf, sizeof(buf), format, &tm);
  return buf;
}

}  // namespace

void ParseSshConnection(const char* ssh_connection, std::string* address, std::string* port) {
  *address = "unknown";
  port->clear();
  if (ssh_connection == nullptr) return;
  *address = EscapeUntrusted(ClientHost(ssh_connection), 64);
  std::string_view v = ssh_connection;
  size_t space = v.find(' ');
  if (space != std::string_view::npos) {
    std::string_view after = v.substr(space + 1);
    *port = EscapeUntrusted(after.substr(0, after.find(' ')), 16);
  }
}

std::string Sha256Fingerprint(std::string_view base64_blob) {
  std::string blob;
  if (!DecodeBase64(base64_blob, &blob)) return "";
  std::array<uint8_t, 32> digest = Sha256(blob);
  return "SHA256:" + EncodeBase64NoPadding(digest.data(), digest.size());
}

std::vector<std::string> KeyFingerprints(std::string_view auth_info) {
  std::vector<std::string> keys;
  size_t pos = 0;
  while (pos < auth_info.size() && keys.size() < 8) {
    size_t nl = auth_info.find('\n', pos);
    if (nl == std::string_view::npos) nl = auth_info.size();
    std::string_view line = auth_info.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.starts_with("publickey ")) continue;
    line.remove_prefix(10);
    size_t space = line.find(' ');
    if (space == std::string_view::npos) continue;
    std::string_view type = line.substr(0, space);
    std::string_view blob = line.substr(space + 1);
    blob = blob.substr(0, blob.find_first_of(" \r"));
    std::string fingerprint = Sha256Fingerprint(blob);
    if (fingerprint.empty()) continue;
    keys.push_back(EscapeUntrusted(type, 64) + " " + fingerprint);
  }
  return keys;
}

std::string ReadUserAuthFile(const char* path) {
  if (path == nullptr || path[0] != '/') return "";
  UniqueFd fd(open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  struct stat st;
  if (!fd.valid() || fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return "";
  std::string text;
  char buf[4096];
  while (text.size() < kMaxAuthInfoBytes) {
    ssize_t n = read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  return text.substr(0, kMaxAuthInfoBytes);
}

std::string UserName(uid_t uid, const char* passwd_file) {
  UniqueFd fd(open(passwd_file, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  struct stat st;
  if (fd.valid() && fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size < (4 << 20)) {
    std::string text;
    char buf[16384];
    ssize_t n;
    while ((n = read(fd.get(), buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
      if (n > 0) text.append(buf, static_cast<size_t>(n));
    const std::string wanted = std::to_string(uid);
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      std::string_view line(text.data() + pos, end - pos);
      pos = end + 1;
      // name:password:uid:...; "+" and "-" lines belong to NSS compat mode: leave those to it.
      size_t first = line.find(':');
      size_t second = first == std::string_view::npos ? first : line.find(':', first + 1);
      size_t third = second == std::string_view::npos ? second : line.find(':', second + 1);
      if (third == std::string_view::npos || first == 0 || line[0] == '+' || line[0] == '-')
        continue;
      if (line.substr(second + 1, third - second - 1) == wanted)
        return std::string(line.substr(0, first));
    }
  }
  const struct passwd* pw = getpwuid(uid);
  return pw != nullptr ? pw->pw_name : "";
}

std::string JsonString(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

AuditLog::AuditLog(AuditLogOptions options) : options_(std::move(options)) {
  if (options_.facility < 0) options_.facility = LOG_AUTH;
  ConnectSyslog();
  if (options_.file.empty()) return;
  // O_NOFOLLOW: a symlink planted at the log's name must not redirect rrsync's writes; with
  // O_CREAT it also refuses a dangling one. 0600: the log names clients and their keys.
  UniqueFd fd(open(options_.file.c_str(),
                   O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
                   0600));
  struct stat st;
  if (!fd.valid()) {
    ReportOnce(&file_reported_, "cannot open log file " + options_.file + ": " + strerror(errno));
    return;
  }
  if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    ReportOnce(&file_reported_, "log file " + options_.file + " is not a regular file");
    return;
  }
  file_ = std::move(fd);
}

void AuditLog::ReportOnce(bool* reported, const std::string& what) {
  if (*reported) return;
  *reported = true;
  std::string line = "rrsync warning: " + EscapeUntrusted(what) + "\n";
  ssize_t n = write(STDERR_FILENO, line.data(), line.size());
  (void)n;
}

namespace {

bool SyslogAddress(const std::string& path, sockaddr_un* addr) {
  *addr = {};
  addr->sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr->sun_path)) return false;
  std::memcpy(addr->sun_path, path.c_str(), path.size() + 1);
  return true;
}

}  // namespace

void AuditLog::ConnectSyslog() {
  sockaddr_un addr;
  if (syslog_.valid() || !SyslogAddress(options_.syslog_socket, &addr)) return;
  UniqueFd sock(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (sock.valid() &&
      connect(sock.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) {
    syslog_ = std::move(sock);
    return;
  }
  // Said here, once, before the session forks: the sandbox may hide the socket later anyway.
  if (options_.report_syslog_failure)
    ReportOnce(&syslog_reported_,
               "cannot log to syslog at " + options_.syslog_socket + ": " + strerror(errno));
}

void AuditLog::SendSyslog(int priority, const std::string& message) {
  // rrsync speaks the syslog datagram protocol itself (the format glibc's syslog(3) sends) so
  // that a test can point it at a socket of its own through the root-owned config file, and so
  // that no descriptor of syslog's outlives this call into rsync.
  std::string datagram = "<" + std::to_string(options_.facility | priority) + ">" +
                         LocalTime("%b %e %H:%M:%S") + " rrsync[" + std::to_string(getpid()) +
                         "]: " + message;
  // MSG_DONTWAIT: a stalled syslog daemon must not hold up the session.
  if (syslog_.valid() && send(syslog_.get(), datagram.data(), datagram.size(),
                              MSG_DONTWAIT | MSG_NOSIGNAL) == static_cast<ssize_t>(datagram.size()))
    return;
  sockaddr_un addr;
  bool fits = SyslogAddress(options_.syslog_socket, &addr);
  UniqueFd sock(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (sock.valid() && fits &&
      sendto(sock.get(), datagram.data(), datagram.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
             reinterpret_cast<const sockaddr*>(&addr),
             sizeof(addr)) == static_cast<ssize_t>(datagram.size()))
    return;
  int error = errno;
  // No syslog daemon at all is what syslog(3) passes over in silence too.
  if (!options_.report_syslog_failure) return;
  ReportOnce(&syslog_reported_,
             "cannot log to syslog at " + options_.syslog_socket + ": " + strerror(error));
}

std::vector<AuditLog::Field> AuditLog::FactFields() const {
  std::vector<Field> fields;
  fields.push_back({"client", facts_.client_address});
  if (!facts_.client_port.empty()) fields.push_back({"port", facts_.client_port});
  if (!facts_.user.empty()) fields.push_back({"user", EscapeUntrusted(facts_.user, 256)});
  if (!facts_.keys.empty()) {
    Field keys{"keys", ""};
    keys.is_list = true;
    keys.list = facts_.keys;
    fields.push_back(keys);
  }
  if (!facts_.module.empty()) fields.push_back({"module", facts_.module});
  return fields;
}

void AuditLog::Emit(int priority, const std::string& event, const std::vector<Field>& fields) {
  std::string text = event;
  for (const Field& f : fields) {
    text += " " + f.name + "=";
    if (f.is_list) {
      std::string list = "[";
      for (size_t i = 0; i < f.list.size(); ++i) list += (i ? ", " : "") + PythonRepr(f.list[i]);
      text += list + "]";
    } else if (f.is_number) {
      text += f.value;
    } else {
      text += TextValue(f.value);
    }
  }
  SendSyslog(priority, text);
  if (!file_.valid()) return;
  std::string line;
  if (options_.format == LogFormat::kJson) {
    line = "{\"time\":" + JsonString(LocalTime("%Y-%m-%dT%H:%M:%S%z")) +
           ",\"pid\":" + std::to_string(getpid()) + ",\"event\":" + JsonString(event);
    for (const Field& f : fields) {
      line += "," + JsonString(f.name) + ":";
      if (f.is_list) {
        line += "[";
        for (size_t i = 0; i < f.list.size(); ++i) line += (i ? "," : "") + JsonString(f.list[i]);
        line += "]";
      } else if (f.is_number) {
        line += f.value;
      } else {
        line += JsonString(f.value);
      }
    }
    line += "}\n";
  } else {
    line = LocalTime("%Y-%m-%d %H:%M:%S") + " rrsync[" + std::to_string(getpid()) + "]: " + text +
           "\n";
  }
  // One write() per line, so concurrent sessions' lines never interleave (O_APPEND).
  if (write(file_.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size()))
    ReportOnce(&file_reported_, "cannot write log file " + options_.file + ": " + strerror(errno));
}

void AuditLog::Accepted(const std::string& mode, const std::string& sandbox,
                        const std::string& notes, const std::vector<std::string>& argv) {
  std::vector<Field> fields = FactFields();
  fields.push_back({"mode", mode});
  fields.push_back({"sandbox", EscapeUntrusted(sandbox)});
  if (!notes.empty()) fields.push_back({"notes", EscapeUntrusted(notes)});
  Field args{"argv", ""};
  args.is_list = true;
  size_t budget = kMaxLoggedValue;
  for (const std::string& a : argv) {
    std::string escaped = EscapeUntrusted(a, budget);
    budget = escaped.size() >= budget ? 0 : budget - escaped.size();
    args.list.push_back(escaped);
    if (budget == 0) {
      args.list.push_back("...");
      break;
    }
  }
  fields.push_back(args);
  Emit(LOG_INFO, "accepted", fields);
}

void AuditLog::Refused(const std::string& reason, const std::string& command) {
  std::vector<Field> fields = FactFields();
  fields.push_back({"reason", EscapeUntrusted(reason)});
  fields.push_back({"command", EscapeUntrusted(command, kMaxLoggedValue)});
  Emit(LOG_WARNING, "refused", fields);
}

void AuditLog::Finished(int status, double seconds, const SnapshotOutcome* snapshot) {
  std::vector<Field> fields = FactFields();
  Field s{"status", std::to_string(status)};
  s.is_number = true;
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", seconds);
  Field d{"seconds", buf};
  d.is_number = true;
  fields.push_back(s);
  fields.push_back(d);
  if (snapshot != nullptr) {
    fields.push_back({"snapshot", snapshot->made.empty() ? "none" : snapshot->made});
    fields.push_back({"snapshot_level", snapshot->level});
    // The why may quote a path rsync chose (a merge failure names it): escaped and capped.
    if (snapshot->made.empty())
      fields.push_back({"snapshot_why", EscapeUntrusted(snapshot->why, kMaxLoggedValue)});
  }
  Emit(status == 0 ? LOG_INFO : LOG_WARNING, "finished", fields);
}

}  // namespace rrsync
