#include "admin_diff.h"

#include <vector>

#include "escape.h"

namespace rrsync {

namespace {

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return lines;
}

// diff(1)'s range: "START,COUNT", where an empty range starts at the line before it.
std::string Range(size_t start, size_t count) {
  return std::to_string(count == 0 ? start : start + 1) + "," + std::to_string(count);
}

}  // namespace

std::string UnifiedDiff(const std::string& path, std::string_view before, std::string_view after) {
  if (before == after) return "";
  const std::vector<std::string_view> a = Lines(before), b = Lines(after);
  size_t prefix = 0;
  while (prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) ++prefix;
  size_t suffix = 0;
  while (suffix < a.size() - prefix && suffix < b.size() - prefix &&
         a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix])
    ++suffix;
  const size_t removed = a.size() - prefix - suffix, added = b.size() - prefix - suffix;
  std::string out = "--- " + path + "\n+++ " + path + " (after)\n@@ -" + Range(prefix, removed) +
                    " +" + Range(prefix, added) + " @@\n";
  for (size_t i = prefix; i < prefix + removed; ++i) out += "-" + EscapeUntrusted(a[i]) + "\n";
  for (size_t i = prefix; i < prefix + added; ++i) out += "+" + EscapeUntrusted(b[i]) + "\n";
  return out;
}

}  // namespace rrsync
