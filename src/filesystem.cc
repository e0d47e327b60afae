#include "filesystem.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>

namespace rrsync {

FileKind RealFilesystem::LinkKind(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return FileKind::kMissing;
  if (S_ISREG(st.st_mode)) return FileKind::kRegular;
  if (S_ISDIR(st.st_mode)) return FileKind::kDirectory;
  if (S_ISLNK(st.st_mode)) return FileKind::kSymlink;
  return FileKind::kOther;
}

bool RealFilesystem::IsDirectory(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool RealFilesystem::ReadLink(const std::string& path, std::string* target) {
  std::string buf(4096, '\0');
  while (true) {
    ssize_t n = readlink(path.c_str(), buf.data(), buf.size());
    if (n < 0) return false;
    if (static_cast<size_t>(n) < buf.size()) {
      buf.resize(static_cast<size_t>(n));
      *target = std::move(buf);
      return true;
    }
    buf.resize(buf.size() * 2);
  }
}

bool RealFilesystem::ListDirectory(const std::string& path, bool dirs_only,
                                   std::vector<std::string>* names) {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(opendir(path.c_str()), closedir);
  if (!dir) return false;
  while (struct dirent* entry = readdir(dir.get())) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    if (dirs_only) {
      bool is_dir = entry->d_type == DT_DIR;
      if (entry->d_type == DT_LNK || entry->d_type == DT_UNKNOWN) {
        struct stat st;
        is_dir = fstatat(dirfd(dir.get()), entry->d_name, &st, 0) == 0 && S_ISDIR(st.st_mode);
      }
      if (!is_dir) continue;
    }
    names->push_back(std::move(name));
  }
  return true;
}

}  // namespace rrsync
