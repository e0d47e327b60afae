// rrsync's configuration file (-config=FILE): rsyncd.conf syntax, global settings and [module]
// sections, each module a restricted directory with its own flags and option lists.
#ifndef RRSYNC_CONFIG_H_
#define RRSYNC_CONFIG_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "command_line.h"
#include "sandbox.h"

namespace rrsync {

enum class LogFormat { kText, kJson };

// The per-module settings. In the global section they are the defaults of every module.
struct ModuleFlags {
  std::optional<bool> read_only;
  std::optional<bool> write_only;
  std::optional<bool> no_delete;
  std::optional<bool> no_overwrite;
  std::optional<bool> munge_links;
  std::optional<bool> absolute;
  std::optional<bool> snapshots;  // snapshots = yes: -snapshots for this module
  // rsyncd.conf-style match terms: a long option name ("delete"), a letter ("z"), or a pattern
  // with * and ? ("compress*"). A refused option may be taken back by `allow options`.
  std::vector<std::string> refuse_options;
  std::vector<std::string> allow_options;
};

struct ModuleConfig {
  std::string name;
  int line = 0;      // where its [name] header is, for messages
  std::string path;  // absolute
  ModuleFlags flags;
};

struct Config {
  std::string file;                           // the file name, for messages
  std::string rsync_path = "/usr/bin/rsync";  // rsync = PATH
  std::vector<std::string> wrapper_exec;      // wrapper exec = PATH PATH (what a wrapper runs)
  std::vector<std::string> wrapper_read;      // wrapper read = PATH PATH (what it may read)
  std::vector<std::string> wrapper_write;     // wrapper write = PATH PATH (what it may write)
  std::string log_file;                       // log file = FILE ("" = no file log)
  int syslog_facility;                        // syslog facility = NAME (default auth)
  LogFormat log_format = LogFormat::kText;    // log format = text|json
  SandboxMode sandbox = SandboxMode::kAuto;   // sandbox = auto|require|off
  bool lock = true;                           // lock = yes|no
  std::string syslog_socket = "/dev/log";     // syslog socket = PATH (for tests; see CONFIG.md)
  ModuleFlags defaults;                       // module settings given in the global section
  std::vector<ModuleConfig> modules;
  std::vector<std::string> warnings;  // "FILE:LINE: ..." for rsyncd.conf keys that do nothing here

  Config();
  // The module called `name`, or nullptr.
  const ModuleConfig* FindModule(std::string_view name) const;
};

// Whether a module is read only: its own "read only", else the global one, else yes (as
// rsyncd.conf(5)), except for a module that is write only ("write only", or -wo on the key's
// line: `write_only_given`) and says nothing of "read only".
bool ModuleIsReadOnly(const ModuleFlags& module, const ModuleFlags& defaults,
                      bool write_only_given = false);

// Parses the text of a config file. `file` names it in messages, which read
// "FILE:LINE: reason". Pure: touches nothing outside its arguments.
bool ParseConfig(std::string_view text, const std::string& file, Config* config, std::string* err);

// Reads and parses `path`, refusing a file that is not a regular file owned by root, or that
// group or others may write: whoever can change it decides what every key may do.
bool LoadConfig(const std::string& path, Config* config, std::string* err);

// The names of long options and letters that no config can allow (see CONFIG.md): rsync options
// that take the server out of DIR, run a daemon, or hide the real arguments.
const std::vector<std::string>& NeverAllowedOptions();

// The settings for one session of `module`: the command line's restrictions and the module's
// combined (see CONFIG.md, "How the command line and the config combine"). Fills *refuse and
// *allow with the module's option lists. Returns false with *err set when they contradict each
// other (read only and write only).
bool SettingsForModule(const Settings& command_line, const Config& config,
                       const ModuleConfig& module, Settings* settings,
                       std::vector<std::string>* refuse, std::vector<std::string>* allow,
                       std::string* err);

// The name of syslog facility `value` ("auth", "local3", ...) as a LOG_* value, or -1.
int SyslogFacilityByName(std::string_view name);

}  // namespace rrsync

#endif  // RRSYNC_CONFIG_H_
