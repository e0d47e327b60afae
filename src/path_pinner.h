// Pinning approved paths by descriptor, so that rsync reaches exactly the inodes that were
// checked: the approved spellings become /proc/self/fd/N (upstream's CVE-2026-53783 fix).
#ifndef RRSYNC_PATH_PINNER_H_
#define RRSYNC_PATH_PINNER_H_

#include <sys/types.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "decision.h"
#include "unique_fd.h"

namespace rrsync {

// Whether /proc/self/fd/N are Linux magic links that name the open file (false where /proc is
// missing or restricted; then paths are passed by name, as upstream does there).
bool ProcSelfFdWorks();

class PathPinner {
 public:
  // `dir` is DIR's real path and the process's working directory.
  PathPinner(std::string dir, const Request& request, bool have_proc_fd);

  // Spells every word of the request for rsync's argv, opening (and for --partial-dir and
  // --backup-dir creating) what must be pinned. Returns false with *refusal set when a path
  // changed since it was checked or cannot be pinned.
  bool Pin(std::vector<std::string>* argv, std::string* refusal);

  // The descriptors rsync must inherit: the /proc/self/fd/N spellings name them.
  std::vector<int> InheritedFds() const;

  // The same descriptors, given up without being closed: for a child that shares its parent's
  // memory (StartRsyncInView) and execs rsync with them. The parent's descriptor table is not
  // the child's, so the parent must never close those numbers.
  std::vector<int> ReleaseFds();

 private:
  bool PinOne(const PathPin& pin, std::string* spelled);
  bool PinSenderLeaf(const PathPin& pin, const std::string& logical, std::string* spelled);
  bool PinDirectory(const std::string& path, const PathPin& pin, int* fd);
  bool CheckInTree(int fd, const PathPin& pin);
  bool CreatePinnedDirectory(const PathPin& pin, mode_t mode, std::string* spelled);
  bool PinEmptyPlaceholder(const PathPin& pin, std::string* spelled);
  int Keep(UniqueFd fd);
  bool Fail(std::string message);

  const std::string dir_;
  const std::string dir_slash_;
  const Request& request_;
  const bool have_proc_fd_;
  std::vector<UniqueFd> kept_;
  std::map<std::pair<dev_t, ino_t>, int> pinned_dirs_;
  std::map<std::string, int> pinned_anchors_;  // directory spellings already pinned
  int reads_everything_ = -1;  // CAP_DAC_READ_SEARCH is in force: 1, not: 0, not asked yet: -1
  std::string refusal_;
};

}  // namespace rrsync

#endif  // RRSYNC_PATH_PINNER_H_
