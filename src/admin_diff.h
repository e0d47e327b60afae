// A unified-style diff of two texts, for `authorize --dry-run`. Pure.
#ifndef RRSYNC_ADMIN_DIFF_H_
#define RRSYNC_ADMIN_DIFF_H_

#include <string>
#include <string_view>

namespace rrsync {

// "--- PATH\n+++ PATH (after)\n@@ -A,B +C,D @@\n" and the changed lines, '-' for removed and
// '+' for added, with the lines around them that did not change trimmed away (one hunk: the
// lines between the first and the last change). Lines are escaped for the terminal: the file
// belongs to the account. Empty when the texts are equal.
std::string UnifiedDiff(const std::string& path, std::string_view before, std::string_view after);

}  // namespace rrsync

#endif  // RRSYNC_ADMIN_DIFF_H_
