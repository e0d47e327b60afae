#include "config.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "unique_fd.h"

namespace rrsync {

namespace {

// A config file is a few kilobytes; anything this large is not one.
constexpr size_t kMaxConfigBytes = 1 << 20;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string_view Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// "read   only" and "Read Only" name the same key, as in rsyncd.conf.
std::string NormalizeKey(std::string_view key) {
  std::string out;
  bool space = false;
  for (char c : Lower(key)) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

bool ParseBool(std::string_view value, bool* out) {
  std::string v = Lower(value);
  if (v == "yes" || v == "true" || v == "1") {
    *out = true;
    return true;
  }
  if (v == "no" || v == "false" || v == "0") {
    *out = false;
    return true;
  }
  return false;
}

std::vector<std::string> SplitList(std::string_view value) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < value.size()) {
    size_t b = value.find_first_not_of(" \t,", pos);
    if (b == std::string_view::npos) break;
    size_t e = value.find_first_of(" \t,", b);
    if (e == std::string_view::npos) e = value.size();
    out.emplace_back(value.substr(b, e - b));
    pos = e;
  }
  return out;
}

// A match term of refuse/allow options: an option name without dashes, a letter, or a pattern.
bool IsOptionTerm(std::string_view term) {
  if (term.empty() || term[0] == '-') return false;
  for (char c : term) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '*' || c == '?' || c == '@';
    if (!ok) return false;
  }
  return true;
}

// Module keys, allowed in a [module] and, as defaults, in the global section. "munge
// symlinks" is rsyncd.conf's name for "munge links".
bool IsModuleFlagKey(const std::string& key) {
  return key == "read only" || key == "write only" || key == "no delete" || key == "no overwrite" ||
         key == "munge links" || key == "munge symlinks" || key == "absolute" ||
         key == "snapshots" || key == "refuse options" || key == "allow options";
}

// rsyncd.conf(5)'s keys that mean nothing here (a daemon's, or rsync's own module settings that
// a forced command does not apply): named in a warning, not fatal, so that a module copied from
// an rsyncd.conf works. What would loosen or widen a module (uid, gid, hosts allow) is ignored
// the same way: rrsync's restrictions are its own keys and flags.
bool IsIgnoredRsyncdKey(const std::string& key) {
  static const char* const kKeys[] = {
      "address", "auth users", "charset", "daemon chroot", "daemon gid", "daemon uid",
      "dont compress", "exclude", "exclude from", "fake super", "filter", "forward lookup",
      "gid", "hosts allow", "hosts deny", "ignore errors", "ignore nonreadable", "include",
      "include from", "incoming chmod", "list", "listen backlog", "lock file", "max connections",
      "max verbosity", "motd file", "name converter", "numeric ids", "outgoing chmod", "pid file",
      "port", "post-xfer exec", "pre-xfer exec", "reverse lookup", "secrets file",
      "socket options", "strict modes", "syslog tag", "temp dir", "timeout", "transfer logging",
      "uid", "use chroot", "early exec", "open noatime", "daemon syslog facility", "proxy protocol"};
  for (const char* k : kKeys)
    if (key == k) return true;
  return false;
}

bool IsGlobalKey(const std::string& key) {
  return key == "rsync" || key == "wrapper exec" || key == "wrapper read" ||
         key == "wrapper write" || key == "log file" ||
         key == "syslog facility" || key == "log format" ||
         key == "sandbox" || key == "lock" || key == "syslog socket";
}

}  // namespace

bool ModuleIsReadOnly(const ModuleFlags& module, const ModuleFlags& defaults,
                      bool write_only_given) {
  const std::optional<bool> read_only = module.read_only ? module.read_only : defaults.read_only;
  if (read_only) return *read_only;
  // rsyncd.conf(5): "The default is for all modules to be read only". A module that is write
  // only (by its own key or the key's -wo) would then allow nothing: it means upload only.
  return !(write_only_given || module.write_only.value_or(defaults.write_only.value_or(false)));
}

namespace {

class Parser {
 public:
  Parser(const std::string& file, Config* config, std::string* err)
      : file_(file), config_(config), err_(err) {}

  bool Fail(int line, const std::string& reason) {
    *err_ = file_ + ":" + std::to_string(line) + ": " + reason;
    return false;
  }

  bool Parse(std::string_view text) {
    if (text.find('\0') != std::string_view::npos) return Fail(1, "the file contains a NUL byte");
    int line_no = 0;
    size_t pos = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string_view::npos) nl = text.size();
      std::string_view line = Trim(text.substr(pos, nl - pos));
      pos = nl + 1;
      ++line_no;
      if (line.empty() || line[0] == '#' || line[0] == ';') continue;
      if (line[0] == '[') {
        if (!Section(line, line_no)) return false;
        continue;
      }
      size_t eq = line.find('=');
      if (eq == std::string_view::npos)
        return Fail(line_no, "expected 'key = value' or '[module]'");
      std::string key = NormalizeKey(line.substr(0, eq));
      std::string_view value = Trim(line.substr(eq + 1));
      if (!Setting(key, value, line_no)) return false;
    }
    return Finish();
  }

 private:
  bool Section(std::string_view line, int line_no) {
    if (line.back() != ']') return Fail(line_no, "a section header must end with ']'");
    std::string name(Trim(line.substr(1, line.size() - 2)));
    if (name == "global") {
      // rsyncd.conf's [global] reopens the global section.
      if (!config_->modules.empty())
        return Fail(line_no, "[global] must come before the first module");
      module_ = nullptr;
      return true;
    }
    if (!IsModuleName(name))
      return Fail(line_no,
                  "invalid module name '" + name +
                      "' (letters, digits, '.', '_' and '-'; not starting with '.' or '-')");
    if (const ModuleConfig* first = config_->FindModule(name))
      return Fail(line_no, "duplicate module [" + name + "] (first at line " +
                               std::to_string(first->line) + ")");
    config_->modules.push_back({});
    module_ = &config_->modules.back();
    module_->name = name;
    module_->line = line_no;
    keys_seen_.clear();
    return true;
  }

  bool Setting(const std::string& key, std::string_view value, int line_no) {
    std::string where = module_ ? "[" + module_->name + "]" : "the global section";
    if (!keys_seen_.insert_if_new(key))
      return Fail(line_no, "duplicate key '" + key + "' in " + where);
    std::string v(value);
    if (key == "path") {
      if (!module_) return Fail(line_no, "'path' belongs in a [module] section");
      if (v.empty() || v[0] != '/') return Fail(line_no, "path must be absolute: '" + v + "'");
      module_->path = v;
      return true;
    }
    if (IsModuleFlagKey(key))
      return ModuleFlag(module_ ? &module_->flags : &config_->defaults, key, v, line_no);
    if (key == "comment") return true;  // rsyncd.conf's description of a module
    if (IsIgnoredRsyncdKey(key)) {
      config_->warnings.push_back(file_ + ":" + std::to_string(line_no) + ": rsyncd.conf key '" +
                                  key + "' has no effect here (ignored)");
      return true;
    }
    if (!IsGlobalKey(key)) return Fail(line_no, "unknown key '" + key + "'");
    if (module_) return Fail(line_no, "'" + key + "' is a global setting, not a module one");
    if (key == "rsync" || key == "log file" || key == "syslog socket") {
      if (v.empty() || v[0] != '/')
        return Fail(line_no, key + " must be an absolute path: '" + v + "'");
      if (key == "rsync") config_->rsync_path = v;
      if (key == "log file") config_->log_file = v;
      if (key == "syslog socket") config_->syslog_socket = v;
      return true;
    }
    if (key == "wrapper exec") {
      std::string why;
      if (!ParseWrapperExec(v, &config_->wrapper_exec, &why))
        return Fail(line_no, "wrapper exec: " + why);
      return true;
    }
    if (key == "wrapper read" || key == "wrapper write") {
      std::string why;
      const bool write = key == "wrapper write";
      if (!ParseWrapperGrants(v, write, write ? &config_->wrapper_write : &config_->wrapper_read,
                              &why))
        return Fail(line_no, key + ": " + why);
      return true;
    }
    if (key == "syslog facility") {
      int facility = SyslogFacilityByName(Lower(v));
      if (facility < 0) return Fail(line_no, "unknown syslog facility '" + v + "'");
      config_->syslog_facility = facility;
      return true;
    }
    if (key == "log format") {
      std::string f = Lower(v);
      if (f == "text") {
        config_->log_format = LogFormat::kText;
      } else if (f == "json") {
        config_->log_format = LogFormat::kJson;
      } else {
        return Fail(line_no, "log format must be text or json, not '" + v +
                                 "' (rsyncd.conf's format strings have no meaning here)");
      }
      return true;
    }
    if (key == "sandbox") {
      if (!ParseSandboxMode(Lower(v), &config_->sandbox))
        return Fail(line_no, "sandbox must be auto, require or off, not '" + v + "'");
      return true;
    }
    // lock
    if (!ParseBool(v, &config_->lock))
      return Fail(line_no, "lock must be yes or no, not '" + v + "'");
    return true;
  }

  bool ModuleFlag(ModuleFlags* flags, const std::string& key, const std::string& v, int line_no) {
    if (key == "refuse options" || key == "allow options") {
      std::vector<std::string> terms = SplitList(v);
      for (const std::string& term : terms) {
        if (!IsOptionTerm(term))
          return Fail(line_no, "invalid option name '" + term + "' in " + key +
                                   " (write names without dashes: delete, z, compress*)");
      }
      if (key == "allow options") {
        // Allowing takes back only what refuse options refused, so these could never take
        // effect; saying so beats a config that looks more permissive than it is.
        for (const std::string& term : terms) {
          for (const std::string& never : NeverAllowedOptions()) {
            if (fnmatch(term.c_str(), never.c_str(), 0) == 0)
              return Fail(line_no, "option '" + never + "' can never be allowed (matched by '" +
                                       term + "')");
          }
        }
        flags->allow_options = terms;
      } else {
        flags->refuse_options = terms;
      }
      return true;
    }
    bool b;
    if (!ParseBool(v, &b)) return Fail(line_no, key + " must be yes or no, not '" + v + "'");
    if (key == "read only") flags->read_only = b;
    if (key == "write only") flags->write_only = b;
    if (key == "no delete") flags->no_delete = b;
    if (key == "no overwrite") flags->no_overwrite = b;
    if (key == "munge links" || key == "munge symlinks") {
      if (flags->munge_links.has_value())
        return Fail(line_no, "munge links and munge symlinks are the same key: give one");
      flags->munge_links = b;
    }
    if (key == "absolute") flags->absolute = b;
    if (key == "snapshots") flags->snapshots = b;
    return true;
  }

  bool Finish() {
    for (const ModuleConfig& m : config_->modules) {
      if (m.path.empty()) return Fail(m.line, "module [" + m.name + "] has no path");
      bool ro = ModuleIsReadOnly(m.flags, config_->defaults);
      bool wo = m.flags.write_only.value_or(config_->defaults.write_only.value_or(false));
      if (ro && wo) return Fail(m.line, "module [" + m.name + "] is both read only and write only");
    }
    return true;
  }

  // The keys of the current section, to catch a key given twice.
  struct KeySet {
    std::vector<std::string> keys;
    bool insert_if_new(const std::string& k) {
      for (const std::string& have : keys)
        if (have == k) return false;
      keys.push_back(k);
      return true;
    }
    void clear() { keys.clear(); }
  };

  const std::string& file_;
  Config* config_;
  std::string* err_;
  ModuleConfig* module_ = nullptr;
  KeySet keys_seen_;
};

}  // namespace

Config::Config() : syslog_facility(LOG_AUTH) {}

const ModuleConfig* Config::FindModule(std::string_view name) const {
  for (const ModuleConfig& m : modules)
    if (m.name == name) return &m;
  return nullptr;
}

int SyslogFacilityByName(std::string_view name) {
  struct Entry {
    std::string_view name;
    int facility;
  };
  static constexpr Entry kFacilities[] = {
      {"auth", LOG_AUTH},     {"authpriv", LOG_AUTHPRIV}, {"daemon", LOG_DAEMON},
      {"user", LOG_USER},     {"local0", LOG_LOCAL0},     {"local1", LOG_LOCAL1},
      {"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3},     {"local4", LOG_LOCAL4},
      {"local5", LOG_LOCAL5}, {"local6", LOG_LOCAL6},     {"local7", LOG_LOCAL7},
  };
  for (const Entry& e : kFacilities)
    if (e.name == name) return e.facility;
  return -1;
}

const std::vector<std::string>& NeverAllowedOptions() {
  // Upstream's disabled options, the symlink followers refused below "/", and the flag-driven
  // refusals: allow options cannot undo them. (-s is not among them: rrsync reads and checks the
  // secluded words like a plain command, so a module may refuse -s or allow it back.)
  static const std::vector<std::string> kNever = {
      "daemon",
      "debug",
      "copy-devices",
      "write-devices",
      "no-munge-links",
      "server",
      "sender",
      "K",
      "L",
      "k",
      "keep-dirlinks",
      "copy-links",
      "copy-dirlinks",
      "copy-unsafe-links",
  };
  return kNever;
}

bool ParseConfig(std::string_view text, const std::string& file, Config* config, std::string* err) {
  config->file = file;
  Parser parser(file, config, err);
  return parser.Parse(text);
}

bool LoadConfig(const std::string& path, Config* config, std::string* err) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd.valid()) {
    *err = path + ": cannot open: " + strerror(errno);
    return false;
  }
  struct stat st;
  if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    *err = path + ": not a regular file";
    return false;
  }
  // Checked on the descriptor read, not the name, so a file swapped in after the check is not
  // the one parsed.
  if (st.st_uid != 0) {
    *err = path + ": must be owned by root";
    return false;
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    *err = path + ": must not be writable by group or others";
    return false;
  }
  if (static_cast<size_t>(st.st_size) > kMaxConfigBytes) {
    *err = path + ": too large for a config file";
    return false;
  }
  std::string text;
  char buf[8192];
  while (true) {
    ssize_t n = read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *err = path + ": cannot read: " + strerror(errno);
      return false;
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxConfigBytes) {
      *err = path + ": too large for a config file";
      return false;
    }
  }
  return ParseConfig(text, path, config, err);
}

bool SettingsForModule(const Settings& command_line, const Config& config,
                       const ModuleConfig& module, Settings* settings,
                       std::vector<std::string>* refuse, std::vector<std::string>* allow,
                       std::string* err) {
  const ModuleFlags& m = module.flags;
  const ModuleFlags& d = config.defaults;
  auto flag = [](const std::optional<bool>& own, const std::optional<bool>& def) {
    return own.value_or(def.value_or(false));
  };
  *settings = command_line;
  settings->dir = module.path;
  // Restrictions add up: the command line can only narrow what the module allows.
  bool read_only = command_line.access == Access::kReadOnly ||
                   ModuleIsReadOnly(m, d, command_line.access == Access::kWriteOnly);
  bool write_only = command_line.access == Access::kWriteOnly || flag(m.write_only, d.write_only);
  if (read_only && write_only) {
    *err = "module " + module.name + " is read only and write only at once (" + config.file + ":" +
           std::to_string(module.line) + " and the command line)";
    return false;
  }
  settings->access = read_only    ? Access::kReadOnly
                     : write_only ? Access::kWriteOnly
                                  : Access::kReadWrite;
  settings->no_delete = command_line.no_delete || flag(m.no_delete, d.no_delete) || read_only;
  settings->no_lock = command_line.no_lock || !config.lock || read_only;
  settings->no_overwrite = command_line.no_overwrite || flag(m.no_overwrite, d.no_overwrite);
  settings->munge_links = command_line.munge_links || flag(m.munge_links, d.munge_links);
  settings->absolute = command_line.absolute || flag(m.absolute, d.absolute);
  settings->snapshots = command_line.snapshots || flag(m.snapshots, d.snapshots);
  // As on the command line: snapshot mode needs the lock and names no absolute paths.
  if (settings->snapshots && settings->no_lock && settings->access != Access::kReadOnly) {
    *err = "module " + module.name + ": snapshots = yes needs the lock (lock = no or -no-lock)";
    return false;
  }
  if (settings->snapshots && settings->absolute) {
    *err = "module " + module.name + ": snapshots = yes is not allowed with absolute = yes";
    return false;
  }
  // Values: what the key's own command line says wins over the file.
  if (!command_line.rsync_given) settings->rsync_path = config.rsync_path;
  if (!command_line.wrapper_exec_given) settings->wrapper_exec = config.wrapper_exec;
  if (!command_line.wrapper_read_given) settings->wrapper_read = config.wrapper_read;
  if (!command_line.wrapper_write_given) settings->wrapper_write = config.wrapper_write;
  if (!command_line.sandbox_given) settings->sandbox = config.sandbox;
  if (!command_line.log_given) settings->log_path = config.log_file;
  *refuse = d.refuse_options;
  refuse->insert(refuse->end(), m.refuse_options.begin(), m.refuse_options.end());
  *allow = d.allow_options;
  allow->insert(allow->end(), m.allow_options.begin(), m.allow_options.end());
  return true;
}

}  // namespace rrsync
