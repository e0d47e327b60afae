#include "rsync_features.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "unique_fd.h"

namespace rrsync {

namespace {

// rsync's option table holds each long option name as a NUL-terminated string; the linker may
// merge "drop-D" into the tail of "no-drop-D", which the search still finds.
bool ContainsOptionName(std::string_view image, std::string_view name) {
  std::string needle(name);
  needle += '\0';
  return image.find(needle) != std::string_view::npos;
}

}  // namespace

bool DetectRsyncFeatures(const std::string& rsync_path, RsyncFeatures* features, std::string* err) {
  // Reading the binary costs well under a millisecond and needs no fork, no cache to trust and
  // no state directory; asking `rsync --help` would fork on every session.
  UniqueFd fd(open(rsync_path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st;
  if (!fd.valid() || fstat(fd.get(), &st) != 0) {
    *err = "unable to read rsync binary " + rsync_path + ": " + strerror(errno);
    return false;
  }
  if (!S_ISREG(st.st_mode) || st.st_size == 0) {
    *err = "rsync binary is not a regular file: " + rsync_path;
    return false;
  }
  // A script (a wrapper) names none of rsync's options: absent names say nothing there.
  char magic[4];
  if (pread(fd.get(), magic, sizeof(magic), 0) != sizeof(magic) || memcmp(magic, "\x7f" "ELF", 4) != 0) {
    *err = rsync_path + " is not an ELF binary";
    return false;
  }
  size_t size = static_cast<size_t>(st.st_size);
  void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (map == MAP_FAILED) {
    *err = "unable to read rsync binary " + rsync_path + ": " + strerror(errno);
    return false;
  }
  std::string_view image(static_cast<const char*>(map), size);
  features->drop_devices = ContainsOptionName(image, "drop-D");
  features->confine_root = ContainsOptionName(image, "confine-root");
  munmap(map, size);
  return true;
}

}  // namespace rrsync
