// Snapshot mode's effects on DIR (src/snapshot_store.h) on real trees: merging an upper layer
// built by hand the way overlayfs leaves one (whiteouts, opaque directories, its xattrs), and
// refusing what the merge does not understand; leftovers removed without following links;
// latest read strictly; names chosen after the newest.
#include "snapshot_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "snapshot_names.h"

namespace rrsync {
namespace {

namespace fs = std::filesystem;

class ScopedDir {
 public:
  ScopedDir() {
    char templ[] = "/tmp/rrsync-snapshot-store.XXXXXX";
    path_ = mkdtemp(templ);
  }
  ~ScopedDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void Put(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

ino_t Inode(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// DIR with latest -> S1 holding keep, gone, d/inner, d/deep/x, hidden/old, and an incoming
// tree (the "upper layer") that the test fills by hand.
class MergeTest : public testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "whiteouts and trusted.* xattrs need root";
    dir_ = tmp_.path();
    const std::string s1 = dir_ + "/" + kS1;
    fs::create_directories(s1 + "/d/deep");
    fs::create_directories(s1 + "/hidden");
    Put(s1 + "/keep", "keep\n");
    Put(s1 + "/gone", "gone\n");
    Put(s1 + "/d/inner", "inner\n");
    Put(s1 + "/d/deep/x", "x\n");
    Put(s1 + "/hidden/old", "old\n");
    ASSERT_EQ(symlink("keep", (s1 + "/link").c_str()), 0);
    ASSERT_EQ(chmod((s1 + "/d").c_str(), 0750), 0);
    ASSERT_EQ(setxattr((s1 + "/d").c_str(), "user.dir", "v", 1, 0), 0);
    const timespec times[2] = {{1400000000, 0}, {1400000000, 0}};
    ASSERT_EQ(utimensat(AT_FDCWD, (s1 + "/d").c_str(), times, 0), 0);
    ASSERT_EQ(symlink(kS1, (dir_ + "/latest").c_str()), 0);
    dir_fd_.Reset(open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    std::optional<std::string> latest;
    std::string err;
    ASSERT_TRUE(ReadLatestSnapshot(dir_fd_.get(), &latest, &err)) << err;
    ASSERT_EQ(latest, std::optional<std::string>(kS1));
    ASSERT_TRUE(
        CreateIncoming(dir_fd_.get(), kS2, latest, SnapshotLevel::kOverlay, &incoming_, &err))
        << err;
    upper_ = dir_ + "/" + incoming_.name + "/tree";
  }

  bool Merge(std::string* err) { return MergeOverlayLayers(incoming_, 64, err); }

  static constexpr char kS1[] = "2026-01-01T000000Z";
  static constexpr char kS2[] = "2026-01-02T000000Z";
  ScopedDir tmp_;
  std::string dir_, upper_;
  UniqueFd dir_fd_;
  IncomingSnapshot incoming_;
};

TEST_F(MergeTest, WhiteoutsOpaqueDirsAndOverlayXattrsBecomeAPlainTree) {
  // What overlayfs leaves for: `gone` deleted, `new` created, `d/inner` changed (copied up with
  // origin, its parent impure), `hidden` replaced by a new directory (opaque), a symlink copied up.
  ASSERT_EQ(mknod((upper_ + "/gone").c_str(), S_IFCHR | 0, makedev(0, 0)), 0);
  Put(upper_ + "/new", "new\n");
  fs::create_directories(upper_ + "/d");
  ASSERT_EQ(chmod((upper_ + "/d").c_str(), 0750), 0);
  Put(upper_ + "/d/inner", "changed\n");
  ASSERT_EQ(setxattr((upper_ + "/d/inner").c_str(), "trusted.overlay.origin", "\x00\x01", 2, 0), 0);
  ASSERT_EQ(setxattr((upper_ + "/d").c_str(), "trusted.overlay.impure", "y", 1, 0), 0);
  fs::create_directories(upper_ + "/hidden");
  Put(upper_ + "/hidden/fresh", "fresh\n");
  ASSERT_EQ(setxattr((upper_ + "/hidden").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
  ASSERT_EQ(symlink("new", (upper_ + "/link").c_str()), 0);
  ASSERT_EQ(lsetxattr((upper_ + "/link").c_str(), "trusted.overlay.origin", "\x00\x02", 2, 0), 0);
  ASSERT_EQ(setxattr(upper_.c_str(), "trusted.overlay.uuid", "0123456789abcdef", 16, 0), 0);

  std::string err;
  ASSERT_TRUE(Merge(&err)) << err;
  ASSERT_TRUE(PublishSnapshot(dir_fd_.get(), &incoming_, kS2, SnapshotLevel::kOverlay, &err))
      << err;
  const std::string s1 = dir_ + "/" + kS1, s2 = dir_ + "/" + kS2;
  EXPECT_EQ(fs::read_symlink(dir_ + "/latest").string(), kS2);
  EXPECT_FALSE(fs::exists(dir_ + "/" + incoming_.name));
  EXPECT_FALSE(fs::exists(s2 + "/gone"));
  EXPECT_EQ(Read(s2 + "/new"), "new\n");
  EXPECT_EQ(Read(s2 + "/d/inner"), "changed\n");
  EXPECT_EQ(Read(s1 + "/d/inner"), "inner\n");
  EXPECT_EQ(Inode(s1 + "/keep"), Inode(s2 + "/keep"));
  EXPECT_EQ(Inode(s1 + "/d/deep/x"), Inode(s2 + "/d/deep/x"));
  EXPECT_FALSE(fs::exists(s2 + "/hidden/old"));
  EXPECT_EQ(Read(s2 + "/hidden/fresh"), "fresh\n");
  EXPECT_EQ(fs::read_symlink(s2 + "/link").string(), "new");
  // The directory rsync never touched is recreated with latest's mode, xattrs and times.
  struct stat st;
  ASSERT_EQ(stat((s2 + "/d/deep").c_str(), &st), 0);
  ASSERT_EQ(stat((s2 + "/d").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  char value[64];
  for (const std::string& path : {s2, s2 + "/d", s2 + "/d/inner", s2 + "/hidden", s2 + "/link"}) {
    char names[256];
    ssize_t n = llistxattr(path.c_str(), names, sizeof names);
    EXPECT_EQ(std::string(names, n > 0 ? static_cast<size_t>(n) : 0).find("trusted.overlay."),
              std::string::npos)
        << path;
  }
  // The earlier snapshot: nothing removed, nothing changed.
  EXPECT_EQ(Read(s1 + "/gone"), "gone\n");
  EXPECT_EQ(Read(s1 + "/hidden/old"), "old\n");
  EXPECT_EQ(getxattr((s1 + "/d").c_str(), "user.dir", value, sizeof value), 1);
  ASSERT_EQ(stat((s1 + "/d").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1400000000);
}

TEST_F(MergeTest, RecreatedDirectoryKeepsLatestsXattrsAndTimes) {
  std::string err;
  ASSERT_TRUE(Merge(&err)) << err;
  const std::string d = upper_ + "/d";
  char value[8];
  EXPECT_EQ(getxattr(d.c_str(), "user.dir", value, sizeof value), 1);
  struct stat st;
  ASSERT_EQ(stat(d.c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1400000000);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
}

// A redirect, a metacopy or any overlayfs attribute the merge does not know fails the snapshot:
// the merge would otherwise make a tree that is not what rsync saw.
TEST_F(MergeTest, RefusesOverlayAttributesItDoesNotUnderstand) {
  for (const char* name : {"trusted.overlay.redirect", "trusted.overlay.metacopy",
                           "trusted.overlay.whiteout", "trusted.overlay.something-new"}) {
    SCOPED_TRACE(name);
    fs::create_directories(upper_ + "/d");
    ASSERT_EQ(setxattr((upper_ + "/d").c_str(), name, "/x", 2, 0), 0);
    std::string err;
    EXPECT_FALSE(Merge(&err));
    EXPECT_EQ(err, std::string("Failed to merge \"d\": it carries ") + name +
                       ", which rrsync does not understand");
    ASSERT_EQ(removexattr((upper_ + "/d").c_str(), name), 0);
  }
  fs::create_directories(upper_ + "/d");
  ASSERT_EQ(setxattr((upper_ + "/d").c_str(), "trusted.overlay.opaque", "x", 1, 0), 0);
  std::string err;
  EXPECT_FALSE(Merge(&err));
  EXPECT_EQ(err,
            "Failed to merge \"d\": overlayfs marks it opaque=x, which rrsync does not understand");
}

TEST(SnapshotStore, RemovesLeftoversWithoutFollowingLinks) {
  ScopedDir tmp;
  const std::string dir = tmp.path() + "/data", outside = tmp.path() + "/outside";
  fs::create_directories(dir + "/.rrsync-incoming-x/tree/sub");
  fs::create_directories(outside);
  Put(outside + "/precious", "precious\n");
  ASSERT_EQ(symlink(outside.c_str(), (dir + "/.rrsync-incoming-x/tree/out").c_str()), 0);
  ASSERT_EQ(symlink(outside.c_str(), (dir + "/.rrsync-incoming-y").c_str()), 0);
  ASSERT_EQ(chmod((dir + "/.rrsync-incoming-x/tree/sub").c_str(), 0500), 0);
  fs::create_directories(dir + "/2026-01-01T000000Z");
  UniqueFd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  std::vector<std::string> removed;
  std::string err;
  ASSERT_TRUE(RemoveIncomingLeftovers(fd.get(), &removed, &err)) << err;
  EXPECT_EQ(removed, (std::vector<std::string>{".rrsync-incoming-x", ".rrsync-incoming-y"}));
  EXPECT_EQ(Read(outside + "/precious"), "precious\n");
  EXPECT_TRUE(fs::exists(dir + "/2026-01-01T000000Z"));
  EXPECT_FALSE(fs::exists(dir + "/.rrsync-incoming-x"));
}

TEST(SnapshotStore, ReadsLatestOnlyWhenItIsALinkToASnapshot) {
  ScopedDir tmp;
  const std::string dir = tmp.path();
  UniqueFd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  std::optional<std::string> latest;
  std::string err;
  EXPECT_TRUE(ReadLatestSnapshot(fd.get(), &latest, &err));
  EXPECT_FALSE(latest);
  ASSERT_EQ(symlink("2026-01-01T000000Z", (dir + "/latest").c_str()), 0);
  EXPECT_FALSE(ReadLatestSnapshot(fd.get(), &latest, &err));
  EXPECT_EQ(err,
            "snapshot mode: latest does not point to a snapshot directory of the restricted dir");
  fs::create_directories(dir + "/2026-01-01T000000Z");
  EXPECT_TRUE(ReadLatestSnapshot(fd.get(), &latest, &err)) << err;
  EXPECT_EQ(latest, std::optional<std::string>("2026-01-01T000000Z"));
  fs::remove(dir + "/latest");
  fs::create_directories(dir + "/latest");
  EXPECT_FALSE(ReadLatestSnapshot(fd.get(), &latest, &err));
  EXPECT_EQ(err, "snapshot mode: latest in the restricted dir is not a symlink");
}

TEST(SnapshotStore, ChoosesANameAfterTheNewest) {
  ScopedDir tmp;
  UniqueFd fd(open(tmp.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  const std::time_t t = *ParseSnapshotName("2026-06-01T120000Z");
  EXPECT_EQ(ChooseSnapshotName(fd.get(), t), "2026-06-01T120000Z");
  fs::create_directories(tmp.path() + "/2026-06-01T120000Z");
  EXPECT_EQ(ChooseSnapshotName(fd.get(), t), "2026-06-01T120001Z");
  // A clock set back still names the new snapshot after the newest.
  fs::create_directories(tmp.path() + "/2027-01-01T000000Z");
  EXPECT_EQ(ChooseSnapshotName(fd.get(), t), "2027-01-01T000001Z");
}

}  // namespace
}  // namespace rrsync
