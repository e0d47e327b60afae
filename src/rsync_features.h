// What the configured rsync binary supports, learned without running it.
#ifndef RRSYNC_RSYNC_FEATURES_H_
#define RRSYNC_RSYNC_FEATURES_H_

#include <string>

namespace rrsync {

// Server options rrsync adds that older rsync releases (before 3.5.0) lack.
struct RsyncFeatures {
  bool drop_devices = true;  // --drop-D
  bool confine_root = true;  // --confine-root=DIR
};

// Reads the rsync binary at `rsync_path` and reports which of the options it knows (their names
// are in its option table). Returns false and fills *err when the binary cannot be read.
bool DetectRsyncFeatures(const std::string& rsync_path, RsyncFeatures* features, std::string* err);

}  // namespace rrsync

#endif  // RRSYNC_RSYNC_FEATURES_H_
