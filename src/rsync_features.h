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
// are in its option table). Returns false when it cannot tell (the file cannot be read, or it is
// no ELF binary: a wrapper script), with *err saying why and *features left as they were. The
// caller then adds every option, as for rsync 3.5.0: an option is left out only when the binary
// is known to lack it.
bool DetectRsyncFeatures(const std::string& rsync_path, RsyncFeatures* features, std::string* err);

}  // namespace rrsync

#endif  // RRSYNC_RSYNC_FEATURES_H_
