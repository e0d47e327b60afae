// Each cap on untrusted input, at its limit and one over: an off-by-one in either direction
// fails here.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "escape.h"
#include "filesystem.h"
#include "path_resolution.h"
#include "test_support.h"

namespace rrsync {
namespace {

using testing::MakeDirs;
using testing::TempDir;
using testing::WriteFile;

// The glob pattern cap (PATH_MAX): a pattern of exactly 4096 bytes is expanded, 4097 refused.
TEST(GlobCaps, PatternLengthAtTheLimitAndOneOver) {
  TempDir tmp;
  std::string root = NormalizePath(tmp.path());
  RealFilesystem fs;
  std::vector<std::string> paths;
  std::string err;
  const size_t limit = GlobLimits().max_pattern_bytes;
  ASSERT_EQ(limit, 4096u);
  const std::string at_limit = "*" + std::string(limit - 1, 'x');
  EXPECT_TRUE(GlobPaths(fs, root, at_limit, &paths, &err)) << err;
  EXPECT_TRUE(paths.empty());
  EXPECT_FALSE(GlobPaths(fs, root, at_limit + "x", &paths, &err));
  EXPECT_EQ(err, "glob pattern too long");
}

// The budget of directory entries examined: each directory costs its entries plus one.
TEST(GlobCaps, EntriesAtTheLimitAndOneOver) {
  TempDir tmp;
  std::string root = NormalizePath(tmp.path());
  MakeDirs(root + "/d");
  for (const char* name : {"a", "b", "c"}) WriteFile(root + "/d/" + name, name);
  RealFilesystem fs;
  std::vector<std::string> paths;
  std::string err;
  GlobLimits limits;
  limits.max_entries = 4;  // d's three entries, plus one
  EXPECT_TRUE(GlobPaths(fs, root, "d/*", &paths, &err, limits)) << err;
  EXPECT_EQ(paths.size(), 3u);
  limits.max_entries = 3;
  EXPECT_FALSE(GlobPaths(fs, root, "d/*", &paths, &err, limits));
  EXPECT_EQ(err, "glob matches too many paths");
  EXPECT_TRUE(paths.empty());
}

// The budget of paths produced.
TEST(GlobCaps, ResultsAtTheLimitAndOneOver) {
  TempDir tmp;
  std::string root = NormalizePath(tmp.path());
  MakeDirs(root + "/d");
  for (const char* name : {"a", "b", "c"}) WriteFile(root + "/d/" + name, name);
  RealFilesystem fs;
  std::vector<std::string> paths;
  std::string err;
  GlobLimits limits;
  limits.max_results = 3;
  EXPECT_TRUE(GlobPaths(fs, root, "d/*", &paths, &err, limits)) << err;
  EXPECT_EQ(paths.size(), 3u);
  limits.max_results = 2;
  EXPECT_FALSE(GlobPaths(fs, root, "d/*", &paths, &err, limits));
  EXPECT_EQ(err, "glob matches too many paths");
}

// Untrusted text in a message: at most max_bytes of it, then "...".
TEST(EscapeCaps, UntrustedTextAtTheLimitAndOneOver) {
  EXPECT_EQ(EscapeUntrusted(std::string(10, 'a'), 10), std::string(10, 'a'));
  EXPECT_EQ(EscapeUntrusted(std::string(11, 'a'), 10), std::string(10, 'a') + "...");
  // The default cap, which every refusal uses.
  ASSERT_EQ(kMaxPrintedBytes, 2048u);
  EXPECT_EQ(EscapeUntrusted(std::string(2048, 'a')), std::string(2048, 'a'));
  EXPECT_EQ(EscapeUntrusted(std::string(2049, 'a')), std::string(2048, 'a') + "...");
  // The cap counts escaped bytes: "\x0a" is four.
  EXPECT_EQ(EscapeUntrusted("aaaaaa\n", 10), "aaaaaa\\x0a");
  EXPECT_EQ(EscapeUntrusted("aaaaaa\nb", 10), "aaaaaa\\x0a...");
}

// A message shortened in the middle keeps its start and its end (where the reason is).
TEST(EscapeCaps, ShortenedTextAtTheLimitAndOneOver) {
  const std::string at_limit = std::string(99, 'a') + "z";
  EXPECT_EQ(EscapeAndShorten(at_limit, 100), at_limit);
  const std::string over = std::string(100, 'a') + "z";
  const std::string cut = EscapeAndShorten(over, 100);
  EXPECT_EQ(cut, std::string(75, 'a') + "..." + std::string(24, 'a') + "z");
  EXPECT_EQ(EscapeAndShorten(std::string(kMaxPrintedBytes, 'a')),
            std::string(kMaxPrintedBytes, 'a'));
  EXPECT_NE(EscapeAndShorten(std::string(kMaxPrintedBytes + 1, 'a')).find("..."),
            std::string::npos);
}

}  // namespace
}  // namespace rrsync
