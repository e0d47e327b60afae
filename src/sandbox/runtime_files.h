// The runtime-files part of the plan: what the rsync binary itself needs to start and run (its
// program interpreter, its shared libraries, the loader's cache, the name-mapping files), found
// from its ELF headers and /etc/ld.so.cache, never by running it.
#ifndef RRSYNC_SANDBOX_RUNTIME_FILES_H_
#define RRSYNC_SANDBOX_RUNTIME_FILES_H_

#include <cstdint>
#include <string>
#include <vector>

namespace rrsync {

// One path rule of the Landlock ruleset: what may be done beneath `path`, and why it is there.
struct SandboxRule {
  std::string path;
  uint64_t access = 0;  // Landlock filesystem rights (landlock_ruleset.h), before ABI masking
  std::string reason;
};

struct RuntimeFiles {
  std::vector<SandboxRule> rules;          // Landlock rules, DIR's not among them
  std::vector<std::string> files;          // files the mount view binds (rules' files, /dev/null)
  std::vector<std::string> library_dirs;   // directories holding the libraries, bound whole
  std::vector<std::string> library_names;  // the names the loader opens (through symlinks)
};

// Finds what `rsync_path` needs, walking its libraries the way the loader searches (RUNPATH,
// ld.so.cache, the default directories). A "#!" script (a wrapper) needs its interpreter chain
// and the programs it runs: those in `wrapper_exec`, and /usr/bin/rsync. Returns false when a
// program cannot be understood or a library cannot be found: the session is refused rather
// than started broken.
bool FindRuntimeFiles(const std::string& rsync_path, const std::vector<std::string>& wrapper_exec,
                      RuntimeFiles* runtime, std::string* err);

}  // namespace rrsync

#endif  // RRSYNC_SANDBOX_RUNTIME_FILES_H_
