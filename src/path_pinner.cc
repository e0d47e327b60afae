#include "path_pinner.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "path_resolution.h"

namespace rrsync {

namespace {

std::string FdPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

bool ReadFdLink(int fd, std::string* target) {
  char buf[4096];
  ssize_t n = readlink(FdPath(fd).c_str(), buf, sizeof(buf));
  if (n < 0 || static_cast<size_t>(n) >= sizeof(buf)) return false;
  target->assign(buf, static_cast<size_t>(n));
  return true;
}

// Where rsync must not lose what it needs: --backup-dir and --partial-dir are created by rsync
// on demand, so rrsync creates and pins them first (0700 for partial files, as rsync does).
bool CreatedDirMode(const std::string& option, mode_t* mode) {
  if (option == "--backup-dir") {
    *mode = 0777;
    return true;
  }
  if (option == "--partial-dir") {
    *mode = 0700;
    return true;
  }
  return false;
}

// Basis directories are only read: a missing one is the first run, stood in for by an empty one.
bool IsBasisOption(const std::string& option) {
  return option == "--link-dest" || option == "--compare-dest" || option == "--copy-dest";
}

// Whether this process may open any file for reading whatever its permissions (root's usual
// CAP_DAC_READ_SEARCH), so that an open() for reading cannot fail with EACCES.
bool ReadsEverything() {
  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  return (data[CAP_TO_INDEX(CAP_DAC_READ_SEARCH)].effective & CAP_TO_MASK(CAP_DAC_READ_SEARCH)) != 0;
}

// How a sender argument is best pinned (see SenderSpelling).
enum class SenderPin { kKeepLeaf, kUnusable, kSpelled };

}  // namespace

bool ProcSelfFdWorks() {
  UniqueFd fd(open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  std::string target;
  return fd.valid() && ReadFdLink(fd.get(), &target) && target == "/";
}

PathPinner::PathPinner(std::string dir, const Request& request, bool have_proc_fd)
    : dir_(std::move(dir)), dir_slash_(dir_ + "/"), request_(request), have_proc_fd_(have_proc_fd) {}

bool PathPinner::Fail(std::string message) {
  refusal_ = std::move(message);
  return false;
}

int PathPinner::Keep(UniqueFd fd) {
  int raw = fd.get();
  kept_.push_back(std::move(fd));
  return raw;
}

std::vector<int> PathPinner::InheritedFds() const {
  std::vector<int> fds;
  for (const UniqueFd& fd : kept_) fds.push_back(fd.get());
  return fds;
}

std::vector<int> PathPinner::ReleaseFds() {
  std::vector<int> fds;
  for (UniqueFd& fd : kept_) fds.push_back(fd.Release());
  kept_.clear();
  return fds;
}

bool PathPinner::Pin(std::vector<std::string>* argv, std::string* refusal) {
  for (const ServerWord& word : request_.words) {
    if (!word.pin) {
      argv->push_back(word.text);
      continue;
    }
    std::string spelled;
    if (!PinOne(*word.pin, &spelled)) {
      *refusal = refusal_;
      return false;
    }
    argv->push_back(word.text + spelled);
  }
  return true;
}

bool PathPinner::CheckInTree(int fd, const PathPin& pin) {
  std::string target;
  if (!ReadFdLink(fd, &target))
    return Fail("post-pin readlink failed (race?): " + pin.original + " " + strerror(errno));
  if (target != dir_ && !target.starts_with(dir_slash_))
    return Fail("post-pin path escaped tree (race?): " + pin.original + " " + target);
  return true;
}

bool PathPinner::PinDirectory(const std::string& path, const PathPin& pin, int* fd) {
  // Many arguments below one directory (a glob, a long file list) name it the same way: reuse
  // the descriptor. That is as safe as the first pin, which was checked to be inside DIR; each
  // leaf is still checked below it against the inode that was validated.
  auto known = pinned_anchors_.find(path);
  if (known != pinned_anchors_.end()) {
    *fd = known->second;
    return true;
  }
  // O_PATH: reaching a known name below needs only search permission on the directory.
  UniqueFd dfd(open(path.empty() ? "." : path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dfd.valid())
    return Fail("unable to pin sender path: " + pin.original + " " + strerror(errno));
  struct stat st;
  if (fstat(dfd.get(), &st) != 0)
    return Fail("post-pin readlink failed (race?): " + pin.original + " " + strerror(errno));
  if (!CheckInTree(dfd.get(), pin)) return false;
  // A glob or several arguments below one directory share one descriptor.
  auto key = std::make_pair(st.st_dev, st.st_ino);
  auto it = pinned_dirs_.find(key);
  if (it != pinned_dirs_.end()) {
    *fd = it->second;
  } else {
    *fd = Keep(std::move(dfd));
    pinned_dirs_[key] = *fd;
  }
  pinned_anchors_[path] = *fd;
  return true;
}

bool PathPinner::CreatePinnedDirectory(const PathPin& pin, mode_t mode, std::string* spelled) {
  // Walk down from DIR one component at a time, creating what is missing, never following a
  // symlink: rsync would otherwise create the directory wherever a planted symlink pointed.
  UniqueFd fd(open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  std::string rel = pin.real_path.starts_with(dir_slash_) ? pin.real_path.substr(dir_slash_.size())
                                                          : ".";
  size_t pos = 0;
  while (pos <= rel.size()) {
    size_t slash = rel.find('/', pos);
    if (slash == std::string::npos) slash = rel.size();
    std::string comp = rel.substr(pos, slash - pos);
    pos = slash + 1;
    if (comp.empty() || comp == "." || comp == "..")
      return Fail("bad receiver option path: " + pin.original);
    const int flags = O_RDONLY | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC;
    UniqueFd next(openat(fd.get(), comp.c_str(), flags));
    if (!next.valid() && errno == ENOENT) {
      if (mkdirat(fd.get(), comp.c_str(), mode) != 0 && errno != EEXIST)
        return Fail("unable to create receiver option dir: " + pin.original + " " +
                    strerror(errno));
      next.Reset(openat(fd.get(), comp.c_str(), flags));
    }
    if (!next.valid())
      return Fail("receiver option path is not a usable directory: " + pin.original + " " +
                  strerror(errno));
    fd = std::move(next);
  }
  if (!CheckInTree(fd.get(), pin)) return false;
  *spelled = FdPath(Keep(std::move(fd)));
  return true;
}

bool PathPinner::PinEmptyPlaceholder(const PathPin& pin, std::string* spelled) {
  // Make a directory, hold it, and unlink it: rsync gets an empty directory that has no name a
  // client could reach or fill in the meantime.
  std::string name = ".rrsync-empty-basis." + std::to_string(getpid());
  UniqueFd root(open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (mkdirat(root.get(), name.c_str(), 0700) != 0 && errno != EEXIST)
    return Fail("unable to create basis placeholder: " + pin.original + " " + strerror(errno));
  UniqueFd fd(openat(root.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid())
    return Fail("unable to pin basis placeholder: " + pin.original + " " + strerror(errno));
  if (unlinkat(root.get(), name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    return Fail("unable to detach basis placeholder: " + pin.original + " " + strerror(errno));
  // Check emptiness through a second descriptor, so the pinned one keeps its offset at 0.
  int list_fd = openat(fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (DIR* d = list_fd >= 0 ? fdopendir(list_fd) : nullptr) {
    bool empty = true;
    while (struct dirent* e = readdir(d)) {
      if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) empty = false;
    }
    closedir(d);
    if (!empty) return Fail("basis placeholder is not empty: " + pin.original);
  } else if (list_fd >= 0) {
    close(list_fd);
  }
  *spelled = FdPath(Keep(std::move(fd)));
  return true;
}

bool PathPinner::PinSenderLeaf(const PathPin& pin, const std::string& logical,
                               std::string* spelled) {
  size_t slash = logical.rfind('/');
  const std::string leaf = slash == std::string::npos ? logical : logical.substr(slash + 1);
  if (leaf.empty() || leaf == "." || leaf == "..") return false;
  int dfd;
  if (!PinDirectory(slash == std::string::npos ? "" : logical.substr(0, slash), pin, &dfd)) {
    refusal_.clear();
    return false;
  }
  // The name directly below a held directory that is inside DIR: whatever it is, it is inside
  // DIR, and rsync reaches it through the held directory. A symlink is sent as a symlink, a
  // special file is never opened (a FIFO would block): the same spelling as the long way.
  struct stat st;
  if (fstatat(dfd, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return false;
  if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
    // The long way opens it for reading, and refuses it if that fails: so must this one.
    if (reads_everything_ < 0) reads_everything_ = ReadsEverything() ? 1 : 0;
    if (reads_everything_ == 0 && faccessat(dfd, leaf.c_str(), R_OK, AT_EACCESS) != 0)
      return false;
  }
  *spelled = FdPath(dfd) + "/" + leaf;
  return true;
}

bool PathPinner::PinOne(const PathPin& pin, std::string* spelled) {
  const bool sender_arg = request_.sender && pin.option == "arg";
  // A pull of a plain name (the usual long file list): two system calls per name at most
  // instead of seven. Anything unusual or failing takes the long way below, which words each
  // refusal as upstream does.
  if (sender_arg && have_proc_fd_ && !request_.relative && pin.trailer.empty()) {
    std::string logical = pin.path;
    if (pin.absolute_form) {
      if (logical == dir_) {
        logical.clear();
      } else if (logical.starts_with(dir_slash_)) {
        logical.erase(0, dir_slash_.size());
      }
    }
    if (PinSenderLeaf(pin, logical, spelled)) return true;
  }
  std::string arg = pin.path;
  // A sender lstat()s a plain argument and sends a symlink, device, FIFO or socket as what it
  // is: such a leaf is never opened here (a FIFO would block), only named below a pinned dir.
  bool leaf_unopened = false;
  if (sender_arg && pin.trailer.empty()) {
    struct stat st;
    if (lstat(arg.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
      leaf_unopened = true;
  }
  UniqueFd fd;
  if (!leaf_unopened) {
    // O_NOFOLLOW: a symlink raced in since the realpath check is refused at the leaf.
    // O_NONBLOCK: a FIFO raced in cannot block rrsync.
    fd.Reset(open(pin.real_path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd.valid()) {
      if (errno != ENOENT)
        return Fail("post-realpath open failed (race detected): " + pin.original + " " +
                    strerror(errno));
      if (request_.sender)
        return Fail("post-realpath open failed (race detected): " + pin.original +
                    " No such file or directory");
      if (pin.option == "--temp-dir")
        return Fail("receiver option path does not exist: " + pin.original);
      // A new destination: pin its parent and spell the leaf below it.
      const auto [parent, leaf] = SplitPath(pin.real_path);
      mode_t mode;
      const bool created = CreatedDirMode(pin.option, &mode);
      if (created || IsBasisOption(pin.option)) {
        // Only an inode is safe to hand over for these; without /proc magic links, refuse.
        if (!have_proc_fd_) return Fail("receiver option path does not exist: " + pin.original);
        if (created) {
          if (leaf.empty() || leaf == "." || leaf == "..")
            return Fail("bad receiver option path: " + pin.original);
          if (!CreatePinnedDirectory(pin, mode, &arg)) return false;
        } else if (!PinEmptyPlaceholder(pin, &arg)) {
          return false;
        }
      } else if (have_proc_fd_ && !leaf.empty() && leaf != "." && leaf != "..") {
        UniqueFd pfd(open(parent.empty() ? "/" : parent.c_str(),
                          O_RDONLY | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC));
        // A parent that does not exist yet (a deeper -R path) is passed by name, as upstream.
        if (pfd.valid()) {
          if (!CheckInTree(pfd.get(), pin)) return false;
          arg = FdPath(Keep(std::move(pfd))) + "/" + leaf;
        }
      }
    }
  }

  std::string logical = arg;
  if (sender_arg && pin.absolute_form) {
    if (logical == dir_) {
      logical.clear();
    } else if (logical.starts_with(dir_slash_)) {
      logical.erase(0, dir_slash_.size());
    }
  }

  // Picks the sender spelling for `logical`: a sender lstat()s its argument and would send a
  // /proc/self/fd/N magic link as a symlink, so only a trailing "/" keeps the leaf pin; other
  // shapes pin the directory the transmitted name starts from.
  auto sender_spelling = [&](int leaf_fd, std::string* out) -> SenderPin {
    std::string anchor, check;
    int dfd;
    if (request_.relative) {
      // Under -R the whole argument is the transmitted name, from the first "/./" if any.
      std::string full = logical + pin.trailer;
      size_t marker = full.find("/./");
      std::string suffix;
      if (marker != std::string::npos) {
        anchor = full.substr(0, marker);
        suffix = full.substr(marker + 3);
        while (!suffix.empty() && suffix.back() == '/') suffix.pop_back();
      } else {
        suffix = logical;
      }
      if (suffix.starts_with("/")) return SenderPin::kUnusable;
      if (!PinDirectory(anchor, pin, &dfd)) return SenderPin::kKeepLeaf;  // refusal_ is set
      if (suffix.empty() || suffix == ".") {
        check = ".";
        *out = FdPath(dfd) + "/.";
      } else {
        check = suffix;
        *out = FdPath(dfd) + "/./" + suffix;
      }
    } else {
      if (!pin.trailer.empty()) return SenderPin::kKeepLeaf;
      size_t slash = logical.rfind('/');
      std::string leaf = slash == std::string::npos ? logical : logical.substr(slash + 1);
      anchor = slash == std::string::npos ? "" : logical.substr(0, slash);
      if (leaf.empty() || leaf == "." || leaf == "..") return SenderPin::kUnusable;
      if (!PinDirectory(anchor, pin, &dfd)) return SenderPin::kKeepLeaf;
      check = leaf;
      *out = FdPath(dfd) + "/" + leaf;
    }
    if (leaf_fd < 0) return SenderPin::kSpelled;
    // The name below the held directory must still reach the inode that was checked.
    struct stat below, held;
    if (fstatat(dfd, check.c_str(), &below, 0) != 0) {
      Fail("post-pin stat failed (race?): " + pin.original + " " + strerror(errno));
      return SenderPin::kKeepLeaf;
    }
    if (fstat(leaf_fd, &held) != 0 || below.st_dev != held.st_dev || below.st_ino != held.st_ino) {
      Fail("post-pin path changed (race?): " + pin.original + " " + check);
      return SenderPin::kKeepLeaf;
    }
    return SenderPin::kSpelled;
  };

  if (!fd.valid() && leaf_unopened) {
    if (have_proc_fd_) {
      std::string pinned;
      SenderPin how = sender_spelling(-1, &pinned);
      if (!refusal_.empty()) return false;
      if (how == SenderPin::kSpelled) arg = pinned;
    }
  } else if (fd.valid()) {
    if (!have_proc_fd_) {
      fd.Reset();  // no magic links: run unpinned, with the checked name
    } else {
      if (!CheckInTree(fd.get(), pin)) return false;
      SenderPin how = SenderPin::kKeepLeaf;
      std::string pinned;
      if (sender_arg) {
        how = sender_spelling(fd.get(), &pinned);
        if (!refusal_.empty()) return false;
      }
      if (how == SenderPin::kKeepLeaf) {
        arg = FdPath(Keep(std::move(fd)));
      } else if (how == SenderPin::kSpelled) {
        arg = pinned;
      }
    }
  }

  arg += pin.trailer;
  if (pin.absolute_form && arg == dir_) {
    arg = ".";
  } else if (pin.option == "arg" && arg.starts_with(dir_slash_)) {
    arg.erase(0, dir_slash_.size());
    if (arg.empty()) arg = ".";
  }
  *spelled = arg;
  return true;
}

}  // namespace rrsync
