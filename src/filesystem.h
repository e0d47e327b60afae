// The few read-only filesystem questions the decision asks, behind an interface so that tests
// can answer them from memory.
#ifndef RRSYNC_FILESYSTEM_H_
#define RRSYNC_FILESYSTEM_H_

#include <string>
#include <vector>

namespace rrsync {

enum class FileKind { kMissing, kRegular, kDirectory, kSymlink, kOther };

class Filesystem {
 public:
  virtual ~Filesystem() = default;
  // The kind of `path` itself (a symlink is not followed); kMissing when lstat fails.
  virtual FileKind LinkKind(const std::string& path) = 0;
  // Whether `path` is a directory, following symlinks.
  virtual bool IsDirectory(const std::string& path) = 0;
  // The target of symlink `path`. Returns false when it cannot be read.
  virtual bool ReadLink(const std::string& path, std::string* target) = 0;
  // The names in directory `path` in the order the filesystem lists them, without "." and "..";
  // with `dirs_only`, only the names that are directories (following symlinks). Returns false
  // when the directory cannot be read.
  virtual bool ListDirectory(const std::string& path, bool dirs_only,
                             std::vector<std::string>* names) = 0;
};

// The real filesystem, through lstat/stat/readlink/opendir.
class RealFilesystem : public Filesystem {
 public:
  FileKind LinkKind(const std::string& path) override;
  bool IsDirectory(const std::string& path) override;
  bool ReadLink(const std::string& path, std::string* target) override;
  bool ListDirectory(const std::string& path, bool dirs_only,
                     std::vector<std::string>* names) override;
};

}  // namespace rrsync

#endif  // RRSYNC_FILESYSTEM_H_
