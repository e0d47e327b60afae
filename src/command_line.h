// rrsync's own command line: the flags an admin writes in authorized_keys.
#ifndef RRSYNC_COMMAND_LINE_H_
#define RRSYNC_COMMAND_LINE_H_

#include <string>
#include <string_view>
#include <vector>

#include "sandbox.h"

namespace rrsync {

// Which directions a key may transfer in.
enum class Access { kReadWrite, kReadOnly, kWriteOnly };

// Everything the command line sets. Nothing here comes from the environment.
struct Settings {
  Access access = Access::kReadWrite;
  bool munge_links = false;   // -munge: add --munge-links
  bool absolute = false;      // -absolute: accept DIR's own absolute path in file arguments
  bool no_delete = false;     // -no-del (implied by -ro): refuse --delete* and --remove*
  bool no_lock = false;       // -no-lock (implied by -ro): no single-run lock on DIR
  bool no_overwrite = false;  // -no-overwrite: keep existing files (--ignore-existing)
  bool snapshots = false;     // -snapshots: one snapshot per push, `latest` (snapshot_store.h)
  bool help = false;          // -help / -h
  std::string dir;            // DIR as written; relative to the login directory
  std::string rsync_path = "/usr/bin/rsync";  // -rsync=PATH, always absolute
  // -wrapper-exec=PATH,PATH: what a -rsync that is a wrapper script may exec, besides
  // /usr/bin/rsync (absolute paths).
  std::vector<std::string> wrapper_exec;
  // -wrapper-read=PATH,PATH and -wrapper-write=PATH,PATH: what such a wrapper may read, or read
  // and write, outside DIR (absolute real paths; the sandbox binds and grants them).
  std::vector<std::string> wrapper_read;
  std::vector<std::string> wrapper_write;
  std::string log_path = "rrsync.log";        // -log=FILE; relative to the login directory
  SandboxMode sandbox = SandboxMode::kAuto;   // -sandbox=MODE
  // Whether the command line itself gave -rsync, -log and -sandbox: with -config, what the
  // command line gives wins over the config file.
  bool rsync_given = false;
  bool wrapper_exec_given = false;
  bool wrapper_read_given = false;
  bool wrapper_write_given = false;
  bool log_given = false;
  bool sandbox_given = false;
  std::string config_path;           // -config=FILE: modules instead of DIR
  std::string module;                // -module=NAME: serve this one module
  std::vector<std::string> modules;  // -modules=A,B: the first path component names the module
};

// Parses rrsync's arguments (argv without argv[0]). Returns false and fills *err on a usage
// error; `-help` sets settings->help and needs no DIR.
bool ParseCommandLine(const std::vector<std::string>& args, Settings* settings, std::string* err);

// The usage text printed by -help, and after an error when stdin is a terminal.
std::string UsageText();

// Whether `name` may name a module: letters, digits, ".", "_" and "-", not starting with "." or
// "-", at most 64 bytes (so it is never a glob, a path or an option).
bool IsModuleName(std::string_view name);

// Splits a -wrapper-exec (or `wrapper exec`) list, separated by commas or spaces, into absolute
// paths. Returns false with *err set for an empty list or a relative path.
bool ParseWrapperExec(std::string_view list, std::vector<std::string>* paths, std::string* err);

// Splits a -wrapper-read or -wrapper-write (`wrapper read`, `wrapper write`) list as
// ParseWrapperExec does, and refuses what no wrapper may be granted: a path that is not
// absolute and in normal form (no ".", "..", "//" or trailing "/"), "/", anything in /proc,
// /sys or /dev, and, for `write`, anything in /etc, /usr, /boot, /bin, /sbin or /lib*. Where
// the path lies relative to DIR is checked per session (sandbox.h, CheckWrapperGrants).
bool ParseWrapperGrants(std::string_view list, bool write, std::vector<std::string>* paths,
                        std::string* err);

// "read-only", "write-only" or "read-write".
const char* AccessName(Access access);

}  // namespace rrsync

#endif  // RRSYNC_COMMAND_LINE_H_
