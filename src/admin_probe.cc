#include "admin_probe.h"

#include <algorithm>
#include <random>

#include "admin_process.h"

namespace rrsync {

namespace {

constexpr std::string_view kMarkerPrefix = "rrsync-probe-shell-";
constexpr std::string_view kAnswerPrefix = "rrsync-probe ok ";

std::string Escape(std::string_view s, size_t max = 160) {
  std::string out;
  for (char c : s.substr(0, max)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (u < 0x20 || u == 0x7f) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
  }
  return lines;
}

bool IsVersionText(std::string_view v) {
  if (v.empty() || v.size() > 40) return false;
  for (char c : v) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+' || c == '~')) {
      return false;
    }
  }
  return true;
}

// Parses `rrsync-probe ok version=V mode=M` exactly; anything else is not our answer.
bool ParseAnswer(std::string_view line, ProbeResult* result) {
  if (line.substr(0, kAnswerPrefix.size()) != kAnswerPrefix) return false;
  line.remove_prefix(kAnswerPrefix.size());
  size_t space = line.find(' ');
  if (space == std::string_view::npos) return false;
  std::string_view version = line.substr(0, space);
  std::string_view mode = line.substr(space + 1);
  if (version.substr(0, 8) != "version=" || mode.substr(0, 5) != "mode=") return false;
  version.remove_prefix(8);
  mode.remove_prefix(5);
  if (!IsVersionText(version)) return false;
  if (mode != "read-only" && mode != "write-only" && mode != "read-write") return false;
  result->version = std::string(version);
  result->mode = std::string(mode);
  return true;
}

}  // namespace

std::string ProbeCommand(std::string_view nonce) {
  // rrsync answers the first word and never runs the rest. A shell finds no `rrsync-probe`
  // program (harmless), then runs the echo, whose output proves the login is unrestricted.
  return "rrsync-probe v1; echo " + std::string(kMarkerPrefix) + std::string(nonce);
}

std::string MakeProbeNonce() {
  std::random_device rd;
  static const char kHex[] = "0123456789abcdef";
  std::string nonce;
  for (int i = 0; i < 24; ++i) nonce += kHex[rd() % 16];
  return nonce;
}

ProbeResult ClassifyProbe(std::string_view nonce, int ssh_exit_code, std::string_view out,
                          std::string_view err) {
  ProbeResult result;
  const std::string marker = std::string(kMarkerPrefix) + std::string(nonce);
  std::vector<std::string_view> out_lines = Lines(out);
  for (std::string_view line : out_lines) {
    if (line == marker) {
      result.verdict = ProbeVerdict::kShell;
      result.detail = "a shell ran the probe's echo";
      return result;
    }
  }
  if (ssh_exit_code == 255) {
    result.verdict = ProbeVerdict::kUnreachable;
    std::vector<std::string_view> err_lines = Lines(err);
    result.detail = err_lines.empty() ? "ssh exited 255" : Escape(err_lines.back());
    return result;
  }
  if (ssh_exit_code == 0 && out_lines.size() == 1 && ParseAnswer(out_lines[0], &result)) {
    result.verdict = ProbeVerdict::kOurs;
    return result;
  }
  // Upstream rrsync refuses anything that does not start with `rsync`, naming itself first.
  if (err.find(" error: SSH_ORIGINAL_COMMAND does not run rsync") != std::string_view::npos) {
    result.verdict = ProbeVerdict::kOtherRrsync;
    result.detail = "it refused the probe as upstream rrsync does";
    return result;
  }
  result.verdict = ProbeVerdict::kUnknown;
  std::string seen = out.empty() ? std::string(err) : std::string(out);
  result.detail = "exit " + std::to_string(ssh_exit_code) +
                  (seen.empty() ? std::string(", no output") : ", said \"" + Escape(seen) + "\"");
  return result;
}

std::vector<std::string> ProbeSshArgv(const std::string& ssh, const std::string& host,
                                      const std::vector<std::string>& ssh_options,
                                      const std::string& command, int connect_timeout) {
  // ssh keeps the first value it sees for an option, so these come before the caller's: a
  // probe must never prompt, forward an agent or X11, or open forwarded ports.
  std::vector<std::string> argv = {ssh, "-T", "-o", "BatchMode=yes", "-o", "ForwardAgent=no", "-o",
                                   "ForwardX11=no", "-o", "ClearAllForwardings=yes", "-o",
                                   "PermitLocalCommand=no",
                                   // Never through a master another key opened: the answer
                                   // must come from this login.
                                   "-o", "ControlMaster=no", "-o", "ControlPath=none"};
  argv.insert(argv.end(), ssh_options.begin(), ssh_options.end());
  // ...and this one after them, so the caller can set a different ConnectTimeout.
  argv.push_back("-o");
  argv.push_back("ConnectTimeout=" + std::to_string(connect_timeout));
  argv.push_back("--");
  argv.push_back(host);
  argv.push_back(command);
  return argv;
}

bool RunProbe(const std::string& ssh, const std::string& host,
              const std::vector<std::string>& ssh_options, int timeout_seconds, ProbeResult* result,
              std::string* err) {
  const std::string nonce = MakeProbeNonce();
  int connect_timeout = timeout_seconds > 0 ? std::min(timeout_seconds, 15) : 15;
  ProcessResult run;
  if (!RunProcess(ProbeSshArgv(ssh, host, ssh_options, ProbeCommand(nonce), connect_timeout),
                  timeout_seconds, &run, err)) {
    return false;
  }
  if (run.timed_out) {
    *result = ProbeResult();
    result->verdict = ProbeVerdict::kUnknown;
    result->detail = "no answer within " + std::to_string(timeout_seconds) + " seconds";
    return true;
  }
  *result = ClassifyProbe(nonce, run.exit_code, run.out, run.err);
  return true;
}

std::string DescribeProbe(const std::string& host, const ProbeResult& result) {
  const std::string h = Escape(host, 100);
  switch (result.verdict) {
    case ProbeVerdict::kOurs:
      return "OK " + h + ": restricted by rrsync " + result.version + " (" + result.mode + ")";
    case ProbeVerdict::kModeMismatch:
      return "FAIL " + h + ": restricted by rrsync " + result.version + " but " + result.mode +
             ", not the expected mode";
    case ProbeVerdict::kShell:
      return "FAIL " + h + ": NOT restricted: " + result.detail;
    case ProbeVerdict::kUnreachable:
      return "FAIL " + h + ": unreachable or authentication failed: " + result.detail;
    case ProbeVerdict::kOtherRrsync:
      return "WARN " + h + ": restricted by another rrsync: " + result.detail;
    case ProbeVerdict::kUnknown:
    case ProbeVerdict::kUsage:
      break;
  }
  return "WARN " + h + ": restricted by an unknown forced command: " + result.detail;
}

}  // namespace rrsync
