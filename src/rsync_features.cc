#include "rsync_features.h"

#include <fcntl.h>
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
constexpr std::string_view kDropDevices("drop-D\0", 7);
constexpr std::string_view kConfineRoot("confine-root\0", 13);

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
  // Read with pread into one buffer on the stack, not mapped: on a virtual machine each page
  // fault of a mapping and the munmap's TLB flush cost more than copying the file. Each read
  // keeps the last bytes of the one before, so that a name across two reads is still found.
  constexpr size_t kOverlap = kConfineRoot.size() - 1;
  char buf[16384];
  size_t kept = 0;
  uint64_t offset = 0;
  bool drop_devices = false;
  bool confine_root = false;
  bool first = true;
  for (;;) {
    ssize_t n = pread(fd.get(), buf + kept, sizeof(buf) - kept, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *err = "unable to read rsync binary " + rsync_path + ": " + strerror(errno);
      return false;
    }
    if (n == 0) break;
    offset += static_cast<uint64_t>(n);
    const size_t size = kept + static_cast<size_t>(n);
    // A script (a wrapper) names none of rsync's options: absent names say nothing there.
    if (first && (size < 4 || memcmp(buf,
                                     "\x7f"
                                     "ELF",
                                     4) != 0)) {
      *err = rsync_path + " is not an ELF binary";
      return false;
    }
    first = false;
    std::string_view image(buf, size);
    drop_devices = drop_devices || image.find(kDropDevices) != std::string_view::npos;
    confine_root = confine_root || image.find(kConfineRoot) != std::string_view::npos;
    if (drop_devices && confine_root) break;
    kept = size < kOverlap ? size : kOverlap;
    memmove(buf, buf + size - kept, kept);
  }
  if (first) {
    *err = rsync_path + " is not an ELF binary";
    return false;
  }
  features->drop_devices = drop_devices;
  features->confine_root = confine_root;
  return true;
}

}  // namespace rrsync
