#include "path_resolution.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include "test_support.h"

namespace rrsync {
namespace {

TEST(NormalizePath, AsPosixpath) {
  EXPECT_EQ(NormalizePath(""), ".");
  EXPECT_EQ(NormalizePath("/a//b/./c/"), "/a/b/c");
  EXPECT_EQ(NormalizePath("/a/../../b"), "/b");
  EXPECT_EQ(NormalizePath("a/../../b"), "../b");
  EXPECT_EQ(NormalizePath("//a"), "//a");
  EXPECT_EQ(NormalizePath("///a"), "/a");
}

TEST(NormalizePath, KeepsNormalPaths) {
  for (const char* path : {"/", "/a", "/a/b", "a", "a/b", "..a/b.", "/.a/..b/...", "a b/c"})
    EXPECT_EQ(NormalizePath(path), path);
}

TEST(ResolveRealPath, NormalizesWithoutSymlinks) {
  testing::TempDir tmp;
  std::string root = NormalizePath(tmp.path());
  testing::MakeDirs(root + "/d/sub");
  RealFilesystem fs;
  std::string out, err;
  const std::pair<const char*, std::string> cases[] = {
      {"sub", root + "/d/sub"},
      {"sub/", root + "/d/sub"},
      {"./sub/.", root + "/d/sub"},
      {"sub//x", root + "/d/sub/x"},
      {"sub/../x", root + "/d/x"},
      {"missing/y", root + "/d/missing/y"},
      {"..", root},
      {".", root + "/d"},
      {"/", "/"},
      {"//d", "/d"},
  };
  for (const auto& [path, want] : cases) {
    ASSERT_TRUE(ResolveRealPath(fs, root + "/d", path, &out, &err)) << path;
    EXPECT_EQ(out, want) << path;
  }
  // A cwd that is itself not normal is normalized with the path.
  ASSERT_TRUE(ResolveRealPath(fs, root + "//d/./", "sub", &out, &err));
  EXPECT_EQ(out, root + "/d/sub");
}

TEST(ResolveRealPath, FollowsSymlinksAndKeepsMissingParts) {
  testing::TempDir tmp;
  std::string root = NormalizePath(tmp.path());
  testing::MakeDirs(root + "/d/sub");
  symlink("sub", (root + "/d/in").c_str());
  symlink("../..", (root + "/d/sub/up").c_str());
  symlink("loop", (root + "/d/loop").c_str());
  RealFilesystem fs;
  std::string out, err;
  ASSERT_TRUE(ResolveRealPath(fs, root + "/d", "in/x/y", &out, &err));
  EXPECT_EQ(out, root + "/d/sub/x/y");
  ASSERT_TRUE(ResolveRealPath(fs, root + "/d", "in/up", &out, &err));
  EXPECT_EQ(out, root);
  ASSERT_TRUE(ResolveRealPath(fs, root + "/d", "loop/z", &out, &err));
  EXPECT_EQ(out, root + "/d/loop/z");
  ASSERT_TRUE(ResolveRealPath(fs, root + "/d", "", &out, &err));
  EXPECT_EQ(out, root + "/d");
}

TEST(Glob, HasMagicLikePython) {
  EXPECT_TRUE(HasGlobMagic("a*"));
  EXPECT_TRUE(HasGlobMagic("?"));
  EXPECT_TRUE(HasGlobMagic("x/[ab]"));
  EXPECT_FALSE(HasGlobMagic("a\\b]{c}!"));
  EXPECT_FALSE(HasGlobMagic(""));
}

TEST(Glob, MatchesLikePython) {
  EXPECT_TRUE(MatchesPattern("a.txt", "*.txt"));
  EXPECT_TRUE(MatchesPattern("a.txt", "?.t[xy]t"));
  EXPECT_FALSE(MatchesPattern("a.txt", "[!a]*"));
  EXPECT_TRUE(MatchesPattern("[x", "[x"));
  EXPECT_TRUE(MatchesPattern("]", "[]]"));
  EXPECT_TRUE(MatchesPattern("m", "[a-z]"));
  EXPECT_TRUE(MatchesPattern("\xc3\xa9", "?"));
  EXPECT_FALSE(MatchesPattern("ab", "a"));
}

TEST(Glob, ExpandsInDirectoryOrderWithoutHiddenNames) {
  testing::TempDir tmp;
  std::string root = NormalizePath(tmp.path());
  testing::MakeDirs(root + "/d1/x");
  testing::MakeDirs(root + "/d2/x");
  testing::WriteFile(root + "/f", "");
  testing::WriteFile(root + "/.h", "");
  RealFilesystem fs;
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  auto GlobPaths = [](Filesystem& fs, const std::string& cwd, const std::string& pattern) {
    std::vector<std::string> paths;
    std::string err;
    EXPECT_TRUE(rrsync::GlobPaths(fs, cwd, pattern, &paths, &err)) << err;
    return paths;
  };
  EXPECT_EQ(sorted(GlobPaths(fs, root, "*")), (std::vector<std::string>{"d1", "d2", "f"}));
  EXPECT_EQ(sorted(GlobPaths(fs, root, "d*/x")), (std::vector<std::string>{"d1/x", "d2/x"}));
  EXPECT_EQ(sorted(GlobPaths(fs, root, "*/")), (std::vector<std::string>{"d1/", "d2/"}));
  EXPECT_EQ(GlobPaths(fs, root, ".*"), (std::vector<std::string>{".h"}));
  EXPECT_EQ(sorted(GlobPaths(fs, root, root + "/d?")),
            (std::vector<std::string>{root + "/d1", root + "/d2"}));
  EXPECT_TRUE(GlobPaths(fs, root, "nothing*").empty());
}

TEST(Glob, RefusesExpansionsBeyondItsLimits) {
  testing::TempDir tmp;
  std::string root = NormalizePath(tmp.path());
  // Two symlinks to "." make every "*/" level match twice: 2^levels paths.
  symlink(".", (root + "/l1").c_str());
  symlink(".", (root + "/l2").c_str());
  RealFilesystem fs;
  std::vector<std::string> paths;
  std::string err;
  std::string pattern;
  for (int i = 0; i < 40; ++i) pattern += "*/";
  EXPECT_FALSE(GlobPaths(fs, root, pattern + "a", &paths, &err));
  EXPECT_EQ(err, "glob matches too many paths");
  EXPECT_TRUE(paths.empty());
  GlobLimits small;
  small.max_results = 3;
  EXPECT_FALSE(GlobPaths(fs, root, "*/*", &paths, &err, small));
  EXPECT_TRUE(GlobPaths(fs, root, "*", &paths, &err, small)) << err;
  EXPECT_EQ(paths.size(), 2u);
  EXPECT_FALSE(GlobPaths(fs, root, std::string(5000, '*'), &paths, &err));
  EXPECT_EQ(err, "glob pattern too long");
  // A long literal is no pattern: it is kept, and fails later where the path is opened.
  EXPECT_TRUE(GlobPaths(fs, root, std::string(5000, 'x'), &paths, &err));
  EXPECT_TRUE(paths.empty());
}

}  // namespace
}  // namespace rrsync
