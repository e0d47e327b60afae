// Path resolution with the semantics of the Python functions upstream rrsync relies on
// (posixpath.realpath, posixpath.normpath, glob.glob), so that both accept and refuse the same
// paths. Everything is answered through a Filesystem; relative paths are taken from `cwd`.
#ifndef RRSYNC_PATH_RESOLUTION_H_
#define RRSYNC_PATH_RESOLUTION_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "filesystem.h"

namespace rrsync {

// posixpath.split: {head, tail} around the last "/"; the head keeps no trailing slashes unless
// it is all slashes ("a/b" gives {"a", "b"}, "/x" gives {"/", "x"}, "x" gives {"", "x"}).
std::pair<std::string, std::string> SplitPath(const std::string& path);

// posixpath.normpath: folds ".", "..", and repeated slashes lexically.
std::string NormalizePath(const std::string& path);

// posixpath.realpath (not strict): resolves symlinks component by component; components that do
// not exist are kept as they are, and a symlink loop stops resolution. The result is absolute.
// Returns false and fills *err when a symlink cannot be read.
bool ResolveRealPath(Filesystem& fs, const std::string& cwd, const std::string& path,
                     std::string* resolved, std::string* err);

// Bounds on one glob expansion: a client chooses the pattern (and with a read-write key the tree,
// e.g. symlinks to "." that make every "*/" level match again), so work must stay bounded.
struct GlobLimits {
  size_t max_pattern_bytes = 4096;    // PATH_MAX: no real path is longer
  size_t max_entries = 1000000;       // directory entries examined
  size_t max_results = 100000;        // paths produced
};

// glob.glob (not recursive): the paths matching `pattern`, in directory order; names starting
// with "." match only a pattern component that starts with "." too. Relative patterns give
// relative results. Returns false and fills *err when the expansion would exceed `limits`.
bool GlobPaths(Filesystem& fs, const std::string& cwd, const std::string& pattern,
               std::vector<std::string>* paths, std::string* err,
               const GlobLimits& limits = GlobLimits());

// glob.has_magic: whether `pattern` holds "*", "?" or "[". GlobPaths of a pattern without them
// yields the pattern itself or nothing, after testing whether that one path exists.
bool HasGlobMagic(std::string_view pattern);

// fnmatch.fnmatchcase on one name: "*", "?", "[...]" and "[!...]".
bool MatchesPattern(const std::string& name, const std::string& pattern);

}  // namespace rrsync

#endif  // RRSYNC_PATH_RESOLUTION_H_
