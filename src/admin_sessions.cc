#include "admin_sessions.h"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>

#include "escape.h"

namespace rrsync {

namespace {

bool IsDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// "YYYY-MM-DD HH:MM:SS" at the start of `s` (a 'T' instead of the blank too).
bool ReadIsoTime(std::string_view s, std::string* out) {
  if (s.size() < 19 || !IsDigits(s.substr(0, 4)) || s[4] != '-' || s[7] != '-' ||
      (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':')
    return false;
  *out = std::string(s.substr(0, 10)) + " " + std::string(s.substr(11, 8));
  return true;
}

// syslog's "Dec  2 04:00:00" (no year) at the start of `s`.
bool ReadBsdTime(std::string_view s, int year, std::string* out) {
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() < 15 || s[3] != ' ' || s[6] != ' ') return false;
  for (int m = 0; m < 12; ++m) {
    if (s.substr(0, 3) != kMonths[m]) continue;
    const int day = std::atoi(std::string(s.substr(4, 2)).c_str());
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d ", year, m + 1, day);
    *out = buf + std::string(s.substr(7, 8));
    return true;
  }
  return false;
}

// A value of the text format at text[*pos]: a bare token, a Python-quoted string ('...' or
// "..."), or a [...] list of them. Quoted values keep their escapes, without the quotes.
std::string ReadValue(std::string_view text, size_t* pos) {
  std::string out;
  if (*pos >= text.size()) return out;
  const char first = text[*pos];
  if (first == '\'' || first == '"') {
    for (++*pos; *pos < text.size() && text[*pos] != first; ++*pos) {
      if (text[*pos] == '\\' && *pos + 1 < text.size()) {
        const char next = text[*pos + 1];
        if (next == first || next == '\\') {
          out += next;
          ++*pos;
          continue;
        }
      }
      out += text[*pos];
    }
    if (*pos < text.size()) ++*pos;  // the closing quote
    return out;
  }
  if (first == '[') {
    ++*pos;
    while (*pos < text.size() && text[*pos] != ']') {
      if (text[*pos] == ' ' || text[*pos] == ',') {
        ++*pos;
        continue;
      }
      if (!out.empty()) out += ' ';
      out += ReadValue(text, pos);
    }
    if (*pos < text.size()) ++*pos;
    return out;
  }
  while (*pos < text.size() && text[*pos] != ' ') out += text[(*pos)++];
  return out;
}

// "k=v k2='v 2' ..." into a map.
std::map<std::string, std::string> ReadFields(std::string_view text) {
  std::map<std::string, std::string> fields;
  size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && text[pos] == ' ') ++pos;
    const size_t eq = text.find('=', pos);
    if (eq == std::string_view::npos) break;
    std::string name(text.substr(pos, eq - pos));
    pos = eq + 1;
    fields[name] = ReadValue(text, &pos);
  }
  return fields;
}

// "pull ARGS" or "push ARGS" from rsync's server argv: --sender means the server sends.
std::string WhatFromArgv(const std::vector<std::string>& argv) {
  bool sender = false;
  size_t dot = argv.size();
  for (size_t i = 0; i < argv.size(); ++i) {
    if (argv[i] == "--sender") sender = true;
    if (argv[i] == "." && dot == argv.size()) dot = i;
  }
  std::string what = sender ? "pull" : "push";
  for (size_t i = dot + 1; i < argv.size(); ++i) {
    // rrsync hands rsync the paths it pinned as /proc/self/fd/N/...: shown relative to DIR.
    std::string arg = argv[i];
    static constexpr std::string_view kPinned = "/proc/self/fd/";
    if (arg.compare(0, kPinned.size(), kPinned) == 0) {
      size_t end = kPinned.size();
      while (end < arg.size() && arg[end] >= '0' && arg[end] <= '9') ++end;
      if (end > kPinned.size() && (end == arg.size() || arg[end] == '/')) {
        arg = arg.substr(end == arg.size() ? end : end + 1);
        if (arg.empty()) arg = ".";
      }
    }
    what += " " + arg;
  }
  return what;
}

std::vector<std::string> SplitWords(const std::string& joined) {
  std::vector<std::string> words;
  size_t pos = 0;
  while (pos < joined.size()) {
    size_t space = joined.find(' ', pos);
    if (space == std::string::npos) space = joined.size();
    words.push_back(joined.substr(pos, space - pos));
    pos = space + 1;
  }
  return words;
}

std::string Shown(std::string_view text, size_t max = 300) { return EscapeUntrusted(text, max); }

class Pairing {
 public:
  void Start(SessionRecord record) {
    sessions_.push_back(std::move(record));
    open_.push_back(sessions_.size() - 1);
  }
  void Refused(SessionRecord record) {
    record.outcome = "refused";
    sessions_.push_back(std::move(record));
  }
  // Closes the open session of `pid`, or without one the oldest open one from `client`.
  void Finish(const std::string& pid, const std::string& client, int status, double seconds) {
    for (auto it = open_.begin(); it != open_.end(); ++it) {
      SessionRecord& s = sessions_[*it];
      if (pid.empty() ? (s.pid.empty() && s.client == client) : s.pid == pid) {
        s.status = status;
        s.seconds = seconds;
        s.outcome = status == 0 ? "ok" : "failed";
        open_.erase(it);
        return;
      }
    }
  }
  std::vector<SessionRecord> Take() { return std::move(sessions_); }

 private:
  std::vector<SessionRecord> sessions_;
  std::vector<size_t> open_;
};

void ParseJsonLine(std::string_view line, Pairing* pairing) {
  nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (!j.is_object() || !j.contains("event") || !j["event"].is_string()) return;
  auto get = [&](const char* name) {
    return j.contains(name) && j[name].is_string() ? j[name].get<std::string>() : std::string();
  };
  SessionRecord r;
  std::string time = get("time");
  if (!ReadIsoTime(time, &r.start)) return;
  r.pid =
      j.contains("pid") && j["pid"].is_number_integer() ? std::to_string(j["pid"].get<long>()) : "";
  r.client = Shown(get("client"), 64);
  r.user = Shown(get("user"), 64);
  r.module = Shown(get("module"), 64);
  r.mode = Shown(get("mode"), 64);
  if (j.contains("keys") && j["keys"].is_array() && !j["keys"].empty() && j["keys"][0].is_string())
    r.key = Shown(j["keys"][0].get<std::string>(), 120);
  const std::string event = j["event"];
  if (event == "accepted") {
    std::vector<std::string> argv;
    if (j.contains("argv") && j["argv"].is_array())
      for (const auto& a : j["argv"])
        if (a.is_string()) argv.push_back(a.get<std::string>());
    r.what = Shown(WhatFromArgv(argv));
    r.outcome = "unfinished";
    pairing->Start(std::move(r));
  } else if (event == "refused") {
    r.what = Shown(get("command"));
    r.reason = Shown(get("reason"));
    pairing->Refused(std::move(r));
  } else if (event == "finished") {
    const int status =
        j.contains("status") && j["status"].is_number_integer() ? j["status"].get<int>() : -1;
    const double seconds =
        j.contains("seconds") && j["seconds"].is_number() ? j["seconds"].get<double>() : -1;
    pairing->Finish(r.pid, r.client, status, seconds);
  }
}

// The audit log's text ("accepted k=v ...") after "rrsync[PID]: ".
void ParseEventText(const std::string& start, const std::string& pid, std::string_view text,
                    Pairing* pairing) {
  const size_t space = text.find(' ');
  const std::string event(text.substr(0, space));
  const auto fields = ReadFields(space == std::string_view::npos ? "" : text.substr(space + 1));
  auto get = [&](const char* name) {
    auto it = fields.find(name);
    return it == fields.end() ? std::string() : it->second;
  };
  SessionRecord r;
  r.start = start;
  r.pid = pid;
  r.client = Shown(get("client"), 64);
  r.user = Shown(get("user"), 64);
  r.module = Shown(get("module"), 64);
  r.mode = Shown(get("mode"), 64);
  const std::vector<std::string> keys = SplitWords(get("keys"));
  if (keys.size() >= 2) r.key = Shown(keys[0] + " " + keys[1], 120);
  if (event == "accepted") {
    r.what = Shown(WhatFromArgv(SplitWords(get("argv"))));
    r.outcome = "unfinished";
    pairing->Start(std::move(r));
  } else if (event == "refused") {
    r.what = Shown(get("command"));
    r.reason = Shown(get("reason"));
    pairing->Refused(std::move(r));
  } else if (event == "finished") {
    pairing->Finish(pid, r.client, std::atoi(get("status").c_str()),
                    get("seconds").empty() ? -1 : std::atof(get("seconds").c_str()));
  }
}

// The -log=FILE format: "DATE TIME HOST run [...]", "... refused 'R' command 'C'", "... finished
// status=N seconds=S".
void ParseSessionLine(const std::string& start, std::string_view rest, Pairing* pairing) {
  const size_t space = rest.find(' ');
  if (space == std::string_view::npos) return;
  SessionRecord r;
  r.start = start;
  r.client = Shown(rest.substr(0, space), 64);
  std::string_view tail = rest.substr(space + 1);
  if (tail.substr(0, 4) == "run ") {
    size_t pos = 4;
    r.what = Shown(WhatFromArgv(SplitWords(ReadValue(tail, &pos))));
    r.outcome = "unfinished";
    pairing->Start(std::move(r));
  } else if (tail.substr(0, 8) == "refused ") {
    size_t pos = 8;
    r.reason = Shown(ReadValue(tail, &pos));
    if (tail.substr(pos, 9) == " command ") {
      pos += 9;
      r.what = Shown(ReadValue(tail, &pos));
    }
    pairing->Refused(std::move(r));
  } else if (tail.substr(0, 9) == "finished ") {
    const auto fields = ReadFields(tail.substr(9));
    auto status = fields.find("status");
    auto seconds = fields.find("seconds");
    pairing->Finish("", r.client, status == fields.end() ? -1 : std::atoi(status->second.c_str()),
                    seconds == fields.end() ? -1 : std::atof(seconds->second.c_str()));
  }
}

}  // namespace

std::vector<SessionRecord> ParseSessionLog(std::string_view text, int current_year) {
  Pairing pairing;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line[0] == '{') {
      ParseJsonLine(line, &pairing);
      continue;
    }
    std::string start;
    const size_t tag = line.find(" rrsync[");
    if (tag != std::string_view::npos) {
      const size_t close = line.find("]: ", tag);
      if (close == std::string_view::npos) continue;
      const std::string pid(line.substr(tag + 8, close - tag - 8));
      if (!IsDigits(pid) || pid.size() > 10) continue;
      if (!ReadIsoTime(line, &start) && !ReadBsdTime(line, current_year, &start)) continue;
      ParseEventText(start, pid, line.substr(close + 3), &pairing);
      continue;
    }
    if (ReadIsoTime(line, &start) && line.size() > 20)
      ParseSessionLine(start, line.substr(20), &pairing);
  }
  return pairing.Take();
}

bool ParseSince(std::string_view since, std::time_t now, std::string* start) {
  if (since.size() >= 2 && IsDigits(since.substr(0, since.size() - 1))) {
    const char unit = since.back();
    const long long n = std::atoll(std::string(since.substr(0, since.size() - 1)).c_str());
    long long scale = unit == 'm' ? 60 : unit == 'h' ? 3600 : unit == 'd' ? 86400 : 0;
    if (scale == 0 || n > 100000) return false;
    const std::time_t when = now - static_cast<std::time_t>(n * scale);
    std::tm tm{};
    localtime_r(&when, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    *start = buf;
    return true;
  }
  std::string padded(since);
  if (padded.size() == 10)
    padded += " 00:00:00";
  else if (padded.size() == 16)
    padded += ":00";
  std::string out;
  if (padded.size() != 19 || !ReadIsoTime(padded, &out)) return false;
  for (size_t i : {5u, 6u, 8u, 9u, 11u, 12u, 14u, 15u, 17u, 18u})
    if (out[i] < '0' || out[i] > '9') return false;
  *start = out;
  return true;
}

std::string FormatSessionsText(const std::vector<SessionRecord>& sessions) {
  std::string out;
  char line[2048];
  std::snprintf(line, sizeof line, "%-19s  %-12s  %-15s  %-10s  %-10s  %8s  %s\n", "START", "USER",
                "CLIENT", "MODE", "OUTCOME", "SECONDS", "WHAT");
  out += line;
  for (const SessionRecord& s : sessions) {
    std::string outcome = s.outcome;
    if (s.outcome == "failed") outcome += " " + std::to_string(s.status);
    char seconds[32] = "-";
    if (s.seconds >= 0) std::snprintf(seconds, sizeof seconds, "%.3f", s.seconds);
    std::string what = s.what;
    if (!s.reason.empty()) what += " (" + s.reason + ")";
    if (!s.module.empty()) what = "[" + s.module + "] " + what;
    std::snprintf(line, sizeof line, "%-19s  %-12s  %-15s  %-10s  %-10s  %8s  %s\n",
                  s.start.c_str(), s.user.empty() ? "-" : s.user.c_str(), s.client.c_str(),
                  s.mode.empty() ? "-" : s.mode.c_str(), outcome.c_str(), seconds, what.c_str());
    out += line;
  }
  return out;
}

std::string FormatSessionsJson(const std::vector<SessionRecord>& sessions) {
  nlohmann::json out = nlohmann::json::array();
  for (const SessionRecord& s : sessions) {
    nlohmann::json j = {{"start", s.start}, {"user", s.user},       {"client", s.client},
                        {"key", s.key},     {"module", s.module},   {"mode", s.mode},
                        {"what", s.what},   {"outcome", s.outcome}, {"reason", s.reason}};
    j["pid"] = s.pid.empty() ? nlohmann::json(nullptr) : nlohmann::json(std::stol(s.pid));
    j["status"] = s.status >= 0 ? nlohmann::json(s.status) : nlohmann::json(nullptr);
    j["seconds"] = s.seconds >= 0 ? nlohmann::json(s.seconds) : nlohmann::json(nullptr);
    out.push_back(j);
  }
  return out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace rrsync
