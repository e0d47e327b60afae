#include "command_line.h"

#include <algorithm>
#include <string_view>

namespace rrsync {

namespace {

// Splits "-name=value" into name and value; `has_value` tells whether there was an "=".
void SplitFlag(std::string_view arg, std::string_view* name, std::string_view* value,
               bool* has_value) {
  size_t eq = arg.find('=');
  *has_value = eq != std::string_view::npos;
  *name = arg.substr(0, eq);
  *value = *has_value ? arg.substr(eq + 1) : std::string_view();
}

}  // namespace

bool ParseWrapperExec(std::string_view list, std::vector<std::string>* paths, std::string* err) {
  paths->clear();
  size_t at = 0;
  while (at < list.size()) {
    const size_t end = std::min(list.find_first_of(", \t", at), list.size());
    if (end > at) {
      std::string path(list.substr(at, end - at));
      if (path[0] != '/') {
        *err = "the programs a wrapper runs must be absolute paths: " + path;
        return false;
      }
      paths->push_back(std::move(path));
    }
    at = end + 1;
  }
  if (paths->empty()) {
    *err = "expected one or more absolute paths";
    return false;
  }
  return true;
}

namespace {

// Whether `path` is `top` or lies beneath it (both in normal form).
bool Beneath(std::string_view path, std::string_view top) {
  return path == top || (path.starts_with(top) && path.size() > top.size() &&
                         path[top.size()] == '/');
}

}  // namespace

bool ParseWrapperGrants(std::string_view list, bool write, std::vector<std::string>* paths,
                        std::string* err) {
  if (!ParseWrapperExec(list, paths, err)) {
    if (err->starts_with("the programs a wrapper runs"))
      *err = "a wrapper's grants must be absolute paths: " + err->substr(err->find(": ") + 2);
    return false;
  }
  for (const std::string& path : *paths) {
    if (path == "/") {
      *err = "a wrapper may never be granted \"/\" (it holds DIR and the whole system)";
      return false;
    }
    if (path.back() == '/' || path.find("//") != std::string::npos ||
        path.find("/./") != std::string::npos || path.find("/../") != std::string::npos ||
        path.ends_with("/.") || path.ends_with("/..")) {
      *err = "a wrapper's grant must be a path in normal form (no \".\", \"..\", \"//\" or "
             "trailing \"/\"): " + path;
      return false;
    }
    for (const char* system : {"/proc", "/sys", "/dev"})
      if (Beneath(path, system)) {
        *err = std::string("a wrapper may not be granted anything in ") + system + ": " + path;
        return false;
      }
    if (!write) continue;
    // The system's programs, libraries and configuration: a wrapper that may change them
    // changes what every later session (and root) runs.
    for (const char* system : {"/etc", "/usr", "/boot", "/bin", "/sbin", "/lib", "/lib32",
                               "/lib64", "/libx32"})
      if (Beneath(path, system)) {
        *err = std::string("a wrapper may not be granted writing in ") + system + ": " + path;
        return false;
      }
  }
  return true;
}

bool IsModuleName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name[0] == '.' || name[0] == '-') return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

const char* AccessName(Access access) {
  switch (access) {
    case Access::kReadOnly:
      return "read-only";
    case Access::kWriteOnly:
      return "write-only";
    case Access::kReadWrite:
      break;
  }
  return "read-write";
}

std::string UsageText() {
  return "usage: rrsync [-ro|-wo] [-munge] [-absolute] [-no-del] [-no-lock] [-no-overwrite]\n"
         "              [-snapshots]\n"
         "              [-rsync=PATH] [-wrapper-exec=PATH,...] [-log=FILE]\n"
         "              [-wrapper-read=PATH,...] [-wrapper-write=PATH,...]\n"
         "              [-sandbox=auto|require|off] [-help] DIR\n"
         "       rrsync [FLAGS] -config=FILE -module=NAME\n"
         "       rrsync [FLAGS] -config=FILE -modules=NAME,NAME...\n"
         "       rrsync --version\n"
         "       rrsync --list-options   (the long-option table, in upstream's format)\n"
         "\n"
         "Use \"man rrsync\" to learn how to restrict ssh users to using a restricted rsync "
         "command.\n"
         "\n"
         "positional arguments:\n"
         "  DIR              The restricted directory to use.\n"
         "\n"
         "options:\n"
         "  -ro              Allow only reading from the DIR. Implies -no-del and -no-lock.\n"
         "  -wo              Allow only writing to the DIR.\n"
         "  -munge           Enable rsync's --munge-links on the server side.\n"
         "  -absolute        Allow transfer args to use absolute server paths under DIR.\n"
         "  -no-del          Disable rsync's --delete* and --remove* options.\n"
         "  -no-lock         Avoid the single-run (per-user) lock check.\n"
         "  -no-overwrite    Prevent overwriting existing files by enforcing --ignore-existing\n"
         "  -snapshots       Every push makes a new snapshot DIR/YYYY-MM-DDTHHMMSSZ and moves the\n"
         "                   link DIR/latest; nothing the key sends changes an earlier one.\n"
         "  -rsync=PATH      The rsync to run (absolute path; default /usr/bin/rsync): an\n"
         "                   ELF binary or a #! wrapper script.\n"
         "  -wrapper-exec=PATH,...\n"
         "                   What a wrapper script given as -rsync may run besides\n"
         "                   /usr/bin/rsync (absolute paths, e.g. /usr/bin/nice).\n"
         "  -wrapper-read=PATH,...\n"
         "                   Files or directories outside DIR that such a wrapper may read\n"
         "                   (absolute real paths, e.g. a Python's /usr/lib/python3.11).\n"
         "  -wrapper-write=PATH,...\n"
         "                   Files or directories outside DIR that such a wrapper may read and\n"
         "                   write (e.g. its own log). Both widen what a hijacked rsync\n"
         "                   reaches; never /, /proc, /sys, /dev, nor DIR or inside it.\n"
         "  -log=FILE        Log file, appended to only if it exists and is a regular file\n"
         "                   (default rrsync.log in the login directory).\n"
         "  -sandbox=MODE    Kernel confinement of rsync (mount view, capabilities, seccomp,\n"
         "                   Landlock): auto (default), require or off.\n"
         "  -config=FILE     Serve the modules of this config file (rsyncd.conf syntax; owned by\n"
         "                   root, writable by nobody else) instead of DIR.\n"
         "  -module=NAME     With -config: serve module NAME; paths are inside its path.\n"
         "  -modules=A,B     With -config: serve these modules; the first component of every\n"
         "                   path names the module (host:A/file); `rsync host:` lists them.\n"
         "  -help, -h        Output this help message and exit.\n";
}

bool ParseCommandLine(const std::vector<std::string>& args, Settings* settings, std::string* err) {
  bool read_only = false;
  bool write_only = false;
  bool no_delete = false;
  bool no_lock = false;
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 2 || arg[0] != '-') {
      positional.push_back(arg);
      continue;
    }
    std::string_view name;
    std::string_view value;
    bool has_value;
    SplitFlag(arg, &name, &value, &has_value);
    // Flags that take a value accept "-flag=VALUE" and "-flag VALUE".
    if (name == "-rsync" || name == "-log" || name == "-sandbox" || name == "-config" ||
        name == "-module" || name == "-modules" || name == "-wrapper-exec" ||
        name == "-wrapper-read" || name == "-wrapper-write") {
      std::string taken;
      if (has_value) {
        taken = std::string(value);
      } else if (i + 1 < args.size()) {
        taken = args[++i];
      } else {
        *err = "argument " + std::string(name) + ": expected one argument";
        return false;
      }
      if (name == "-rsync") {
        if (taken.empty() || taken[0] != '/') {
          *err = "argument -rsync: the rsync path must be absolute: " + taken;
          return false;
        }
        settings->rsync_path = taken;
        settings->rsync_given = true;
      } else if (name == "-wrapper-exec") {
        if (!ParseWrapperExec(taken, &settings->wrapper_exec, err)) {
          *err = "argument -wrapper-exec: " + *err;
          return false;
        }
        settings->wrapper_exec_given = true;
      } else if (name == "-wrapper-read" || name == "-wrapper-write") {
        const bool write = name == "-wrapper-write";
        if (!ParseWrapperGrants(taken, write,
                                write ? &settings->wrapper_write : &settings->wrapper_read, err)) {
          *err = "argument " + std::string(name) + ": " + *err;
          return false;
        }
        (write ? settings->wrapper_write_given : settings->wrapper_read_given) = true;
      } else if (name == "-log") {
        if (taken.empty()) {
          *err = "argument -log: expected a file name";
          return false;
        }
        settings->log_path = taken;
        settings->log_given = true;
      } else if (name == "-config") {
        // Absolute, so that the file that decides every key's rights cannot depend on the
        // login directory.
        if (taken.empty() || taken[0] != '/') {
          *err = "argument -config: the config path must be absolute: " + taken;
          return false;
        }
        settings->config_path = taken;
      } else if (name == "-module") {
        if (!IsModuleName(taken)) {
          *err = "argument -module: invalid module name: '" + taken + "'";
          return false;
        }
        settings->module = taken;
      } else if (name == "-modules") {
        settings->modules.clear();
        size_t start = 0;
        while (true) {
          size_t comma = taken.find(',', start);
          std::string one = taken.substr(start, comma == std::string::npos ? comma : comma - start);
          if (!IsModuleName(one)) {
            *err = "argument -modules: invalid module name: '" + one + "'";
            return false;
          }
          settings->modules.push_back(one);
          if (comma == std::string::npos) break;
          start = comma + 1;
        }
      } else if (ParseSandboxMode(taken, &settings->sandbox)) {
        settings->sandbox_given = true;
      } else {
        *err = "argument -sandbox: invalid choice: '" + taken +
               "' (choose from 'auto', 'require', 'off')";
        return false;
      }
      continue;
    }
    if (has_value) {
      *err = "unrecognized arguments: " + arg;
      return false;
    }
    if (arg == "-ro") {
      read_only = true;
    } else if (arg == "-wo") {
      write_only = true;
    } else if (arg == "-munge") {
      settings->munge_links = true;
    } else if (arg == "-absolute") {
      settings->absolute = true;
    } else if (arg == "-no-del") {
      no_delete = true;
    } else if (arg == "-no-lock") {
      no_lock = true;
    } else if (arg == "-snapshots") {
      settings->snapshots = true;
    } else if (arg == "-no-overwrite") {
      settings->no_overwrite = true;
    } else if (arg == "-help" || arg == "-h") {
      settings->help = true;
    } else {
      *err = "unrecognized arguments: " + arg;
      return false;
    }
  }
  if (settings->help) return true;
  if (read_only && write_only) {
    *err = "argument -wo: not allowed with argument -ro";
    return false;
  }
  // Snapshot mode needs the lock: two pushes must never publish into each other's snapshot, and
  // the leftovers a push removes must not be another push's tree. With -absolute a client would
  // name DIR, which in snapshot mode is not where its files go.
  if (settings->snapshots && no_lock) {
    *err = "argument -snapshots: not allowed with argument -no-lock";
    return false;
  }
  if (settings->snapshots && settings->absolute) {
    *err = "argument -snapshots: not allowed with argument -absolute";
    return false;
  }
  if (!settings->config_path.empty()) {
    // With a config file the modules' paths are the directories: a DIR as well would be
    // ambiguous about which one is meant.
    if (!positional.empty()) {
      *err = "-config takes no DIR (the module's path is the directory): " + positional[0];
      return false;
    }
    if (settings->module.empty() == settings->modules.empty()) {
      *err = "-config needs exactly one of -module=NAME and -modules=A,B";
      return false;
    }
  } else if (!settings->module.empty() || !settings->modules.empty()) {
    *err = "-module and -modules need -config=FILE";
    return false;
  } else if (positional.empty()) {
    *err = "the following arguments are required: DIR";
    return false;
  }
  if (positional.size() > 1) {
    *err = "unrecognized arguments: " + positional[1];
    return false;
  }
  if (!positional.empty()) settings->dir = positional[0];
  settings->access = read_only ? Access::kReadOnly
                     : write_only ? Access::kWriteOnly
                                  : Access::kReadWrite;
  // -ro implies -no-del and -no-lock, as upstream: a reader cannot delete, and readers do not
  // need to exclude each other.
  settings->no_delete = no_delete || read_only;
  settings->no_lock = no_lock || read_only;
  return true;
}

}  // namespace rrsync
