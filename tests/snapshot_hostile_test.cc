// Snapshot mode against a hijacked rsync, as root: through the real rrsync -snapshots, the
// hostile stand-in (tests/tools/hostile_rsync.cc, "snapshot-attacks") changes everything it can
// reach in the push's view. At the overlay level nothing of the earlier snapshots changes, not
// their files' content, mode, owner, times or xattrs, not their names, not `latest`; the
// stand-in's changes are in the new snapshot. The -sandbox=off control (the link-dest level)
// shows the attempt on latest getting through there, so the overlay is what stops it. On a
// btrfs loop image whose snapshots are read-only subvolumes (the btrfs-subvolume level) the
// same, plus btrfs's own ioctls, which the system-call filter refuses.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/btrfs.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "sandbox_test_support.h"

namespace rrsync {
namespace {

namespace fs = std::filesystem;
using sandbox_test::ParseHostile;
using sandbox_test::ReadFile;
using sandbox_test::RunResult;
using sandbox_test::TempDir;
using sandbox_test::WriteFile;

// Every entry beneath `root`: inode, type, mode, owner, size, mtime, content, link target and
// every xattr. Equal maps: the same inodes holding the same things.
std::map<std::string, std::string> TreeState(const std::string& root) {
  std::map<std::string, std::string> tree;
  std::function<void(const std::string&)> walk = [&](const std::string& rel) {
    const std::string path = rel.empty() ? root : root + "/" + rel;
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) return;
    std::ostringstream d;
    d << "ino " << st.st_ino << " mode " << std::oct << st.st_mode << std::dec << " " << st.st_uid
      << ":" << st.st_gid << " size " << st.st_size << " mtime " << st.st_mtim.tv_sec << "."
      << st.st_mtim.tv_nsec;
    if (S_ISREG(st.st_mode)) d << " content " << std::hash<std::string>()(ReadFile(path));
    if (S_ISLNK(st.st_mode)) d << " -> " << fs::read_symlink(path).string();
    char names[4096];
    ssize_t n = llistxattr(path.c_str(), names, sizeof names);
    for (ssize_t at = 0; at < n;) {
      std::string name(names + at);
      at += static_cast<ssize_t>(name.size()) + 1;
      char value[256];
      ssize_t size = lgetxattr(path.c_str(), name.c_str(), value, sizeof value);
      d << " " << name << "=" << std::string(value, size > 0 ? static_cast<size_t>(size) : 0);
    }
    tree[rel.empty() ? "." : rel] = d.str();
    if (!S_ISDIR(st.st_mode)) return;
    for (const auto& entry : fs::directory_iterator(path)) {
      const std::string name = entry.path().filename().string();
      walk(rel.empty() ? name : rel + "/" + name);
    }
  };
  walk("");
  return tree;
}

// Appends a line to `path`: 0 when the write went through, else errno.
int AppendTo(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return errno;
  int error = write(fd, "x\n", 2) == 2 ? 0 : errno;
  close(fd);
  return error;
}

std::string Diff(const std::map<std::string, std::string>& want,
                 const std::map<std::string, std::string>& got) {
  std::string diff;
  for (const auto& [path, desc] : want) {
    auto it = got.find(path);
    if (it == got.end()) {
      diff += "missing " + path + "\n";
    } else if (it->second != desc) {
      diff += "changed " + path + ": want " + desc + ", got " + it->second + "\n";
    }
  }
  for (const auto& [path, desc] : got)
    if (!want.count(path)) diff += "unexpected " + path + "\n";
  return diff;
}

// DIR with two earlier snapshots made by hand, as rrsync leaves them, and latest -> the newer.
class SnapshotHostile : public testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "the overlay level is root's (the mount view)";
    if (!sandbox_test::RrsyncHasSandboxFlags(RRSYNC_BINARY))
      GTEST_SKIP() << "rrsync lacks -rsync= and -sandbox=";
    dir_ = tmp_ / "data";
    log_ = tmp_ / "rrsync.log";
    WriteFile(log_, "");
    fs::create_directory(dir_);
    MountDir();
    if (IsSkipped() || HasFatalFailure()) return;
    for (const std::string name : {kOlder, kLatest}) {
      const std::string s = dir_ + "/" + name;
      MakeSnapshotRoot(s);
      if (HasFatalFailure()) return;
      fs::create_directories(s + "/sub");
      fs::create_directories(s + "/emptydir");
      WriteFile(s + "/inside.txt", "inside " + name + "\n");
      WriteFile(s + "/trunc.txt", "truncate me\n");
      WriteFile(s + "/deleteme", "delete me\n");
      WriteFile(s + "/renameme", "rename me\n");
      ASSERT_EQ(setxattr((s + "/inside.txt").c_str(), "user.keep", "1", 1, 0), 0);
      WriteFile(s + "/.hostile-plan", "dir .\noutside /nonexistent\nsnapshot-attacks yes\nolder " +
                                          dir_ + "/" + kOlder + "\n" + PlanExtra());
      const timespec times[2] = {{1500000000, 0}, {1500000000, 0}};
      for (const char* entry : {"", "/sub", "/emptydir", "/inside.txt", "/trunc.txt"})
        utimensat(AT_FDCWD, (s + entry).c_str(), times, AT_SYMLINK_NOFOLLOW);
      SealSnapshotRoot(s);
      if (HasFatalFailure()) return;
    }
    ASSERT_EQ(symlink(kLatest, (dir_ + "/latest").c_str()), 0);
    older_ = TreeState(dir_ + "/" + kOlder);
    latest_ = TreeState(dir_ + "/" + kLatest);
  }

  // Where DIR lives: the temp dir's filesystem, or (SnapshotOnBtrfs) a btrfs of its own.
  virtual void MountDir() {}
  // How an earlier snapshot is made: a plain directory, or (SnapshotOnBtrfsSubvolumes) a
  // subvolume sealed read-only, as rrsync leaves them at each level.
  virtual void MakeSnapshotRoot(const std::string&) {}
  virtual void SealSnapshotRoot(const std::string&) {}
  virtual std::string PlanExtra() const { return ""; }
  void CheckOverlayLevel();

  RunResult Push(const std::vector<std::string>& extra) {
    std::vector<std::string> flags = {std::string("-rsync=") + HOSTILE_RSYNC, "-log=" + log_,
                                      "-snapshots"};
    flags.insert(flags.end(), extra.begin(), extra.end());
    return sandbox_test::RunRrsync(RRSYNC_BINARY, flags, dir_, /*push=*/true);
  }

  std::string NewSnapshot() const {
    for (const auto& entry : fs::directory_iterator(dir_)) {
      const std::string name = entry.path().filename().string();
      if (name != kOlder && name != kLatest && name.size() == 18 && name[10] == 'T') return name;
    }
    return "";
  }

  static constexpr char kOlder[] = "2020-01-01T000000Z";
  static constexpr char kLatest[] = "2020-01-02T000000Z";
  TempDir tmp_;
  std::string dir_, log_;
  std::map<std::string, std::string> older_, latest_;
};

TEST_F(SnapshotHostile, OverlayLevelKeepsEveryEarlierSnapshotAsItWas) { CheckOverlayLevel(); }

// The stand-in at the overlay level: its changes in the new snapshot, the earlier ones intact.
void SnapshotHostile::CheckOverlayLevel() {
  RunResult run = Push({});
  ASSERT_EQ(run.status, 0) << run.out << run.err << ReadFile(log_);
  EXPECT_NE(ReadFile(log_).find("snapshots=overlay"), std::string::npos) << ReadFile(log_);
  std::map<std::string, std::string> got = ParseHostile(run.out);
  // The changes rsync may make, made in its view; the overlay's own controls refused.
  for (const char* name : {"snap-append", "snap-truncate", "snap-chmod", "snap-chown",
                           "snap-utimens", "snap-setxattr-user", "snap-removexattr-user",
                           "snap-unlink", "snap-rmdir", "snap-rename-file", "snap-link"})
    EXPECT_EQ(got[name], "ALLOWED") << name << "\n" << run.out;
  for (const char* name :
       {"snap-setxattr-overlay-opaque", "snap-setxattr-overlay-redirect", "snap-mknod-whiteout",
        "snap-umount", "snap-immutable", "snap-append-older"})
    EXPECT_EQ(got[name], "DENIED") << name << "\n" << run.out;
  EXPECT_EQ(got.count("snap-append-link-dest"), 0u) << run.out;

  EXPECT_EQ(Diff(older_, TreeState(dir_ + "/" + kOlder)), "");
  EXPECT_EQ(Diff(latest_, TreeState(dir_ + "/" + kLatest)), "");
  // What the stand-in did is the new snapshot, and latest moved to it.
  const std::string made = NewSnapshot();
  ASSERT_FALSE(made.empty());
  EXPECT_EQ(fs::read_symlink(dir_ + "/latest").string(), made);
  const std::string s = dir_ + "/" + made;
  EXPECT_EQ(ReadFile(s + "/inside.txt"), std::string("inside ") + kLatest + "\nhostile\n");
  EXPECT_EQ(ReadFile(s + "/trunc.txt"), "t");
  EXPECT_FALSE(fs::exists(s + "/deleteme"));
  EXPECT_FALSE(fs::exists(s + "/emptydir"));
  EXPECT_FALSE(fs::exists(s + "/renameme"));
  EXPECT_EQ(ReadFile(s + "/sub/renamed"), "rename me\n");
  struct stat st;
  ASSERT_EQ(stat((s + "/inside.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, 65534u);
  EXPECT_EQ(st.st_nlink, 2u);  // itself and sub/hostile-link, both new
  ASSERT_EQ(stat((s + "/sub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1000000000);
  char value[8];
  EXPECT_EQ(getxattr((s + "/sub").c_str(), "user.snap", value, sizeof value), 1);
  EXPECT_LT(getxattr((s + "/inside.txt").c_str(), "user.keep", value, sizeof value), 0);
  // No overlayfs attribute survives into the snapshot.
  for (const auto& [path, desc] : TreeState(s))
    EXPECT_EQ(desc.find("trusted.overlay."), std::string::npos) << path << ": " << desc;
  // The untouched file is latest's inode.
  struct stat a, b;
  ASSERT_EQ(stat((s + "/.hostile-plan").c_str(), &a), 0);
  ASSERT_EQ(stat((dir_ + "/" + kLatest + "/.hostile-plan").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
}

// The control: without the mount view (the link-dest level) the same stand-in writes into latest
// through the path rsync's --link-dest hands it, so the denial above is the overlay's.
TEST_F(SnapshotHostile, SandboxOffLinkDestLevelLetsTheAttemptReachLatest) {
  RunResult run = Push({"-sandbox=off"});
  ASSERT_EQ(run.status, 0) << run.out << run.err << ReadFile(log_);
  EXPECT_NE(ReadFile(log_).find("snapshots=link-dest"), std::string::npos) << ReadFile(log_);
  std::map<std::string, std::string> got = ParseHostile(run.out);
  EXPECT_EQ(got["snap-append-link-dest"], "ALLOWED") << run.out;
  EXPECT_EQ(got["snap-append-older"], "ALLOWED") << run.out;
  EXPECT_NE(Diff(latest_, TreeState(dir_ + "/" + kLatest)), "");
  EXPECT_EQ(ReadFile(dir_ + "/" + kLatest + "/inside.txt"),
            std::string("inside ") + kLatest + "\nhostile\n");
  EXPECT_NE(Diff(older_, TreeState(dir_ + "/" + kOlder)), "");
}

// The same on btrfs: DIR on a loop-mounted btrfs image of the test's own (mkfs.btrfs from
// btrfs-progs), so the overlay level is shown there too, then three pushes by the real rsync.
class SnapshotOnBtrfs : public SnapshotHostile {
 protected:
  void MountDir() override {
    if (access("/usr/sbin/mkfs.btrfs", X_OK) != 0 && access("/sbin/mkfs.btrfs", X_OK) != 0)
      GTEST_SKIP() << "mkfs.btrfs is missing (btrfs-progs)";
    if (access("/dev/loop-control", F_OK) != 0)
      GTEST_SKIP() << "no loop devices (/dev/loop-control)";
    const std::string image = tmp_ / "btrfs.img";
    RunResult made = sandbox_test::RunProgram({"/usr/bin/truncate", "-s", "256M", image});
    ASSERT_EQ(made.status, 0) << made.err;
    const std::string mkfs =
        access("/usr/sbin/mkfs.btrfs", X_OK) == 0 ? "/usr/sbin/mkfs.btrfs" : "/sbin/mkfs.btrfs";
    made = sandbox_test::RunProgram({mkfs, "-q", image});
    ASSERT_EQ(made.status, 0) << made.out << made.err;
    RunResult mounted =
        sandbox_test::RunProgram({"/usr/bin/mount", "-t", "btrfs", "-o", "loop", image, dir_});
    if (mounted.status != 0)
      GTEST_SKIP() << "cannot loop-mount a btrfs image here: " << mounted.err;
    mounted_ = true;
  }
  void TearDown() override {
    if (mounted_) sandbox_test::RunProgram({"/usr/bin/umount", dir_});
  }

  // Three pushes by the real rsync of src/ (big, and sub/changes in three versions), each of
  // which must succeed and send only the changed file after the first; `made` gets latest's
  // name after each. rsync's remote shell runs rrsync as sshd would (SSH_ORIGINAL_COMMAND).
  void PushThreeVersions(std::string* big, std::vector<std::string>* made) {
    const std::string rsh = tmp_ / "rsh";
    WriteFile(rsh, "#!/bin/sh\nshift\nSSH_ORIGINAL_COMMAND=\"$*\" exec " +
                       std::string(RRSYNC_BINARY) + " -log=" + log_ + " -snapshots " + dir_ + "\n");
    ASSERT_EQ(chmod(rsh.c_str(), 0755), 0);
    const std::string src = tmp_ / "src";
    fs::create_directories(src + "/sub");
    big->assign(300 * 1024, '\0');
    for (size_t i = 0; i < big->size(); ++i) (*big)[i] = static_cast<char>(i * 7919 % 251);
    WriteFile(src + "/big", *big);
    for (const char* version : {"one\n", "two, longer\n", "three, longer still\n"}) {
      WriteFile(src + "/sub/changes", version);
      RunResult r = sandbox_test::RunProgram(
          {"/usr/bin/rsync", "-a", "--delete", "--stats", "-e", rsh, src + "/", "host:/"});
      ASSERT_EQ(r.status, 0) << r.out << r.err << ReadFile(log_);
      made->push_back(fs::read_symlink(dir_ + "/latest").string());
      if (made->size() > 1) {
        const size_t at = r.out.find("Literal data: ");
        ASSERT_NE(at, std::string::npos) << r.out;
        EXPECT_LT(std::stol(r.out.substr(at + 14)), 1024) << r.out;
      }
    }
    ASSERT_EQ(made->size(), 3u);
  }

  bool mounted_ = false;
};

TEST_F(SnapshotOnBtrfs, OverlayLevelKeepsEveryEarlierSnapshotAsItWas) { CheckOverlayLevel(); }

TEST_F(SnapshotOnBtrfs, RealRsyncPushesShareInodesAndSendOnlyChanges) {
  std::string big;
  std::vector<std::string> made;
  PushThreeVersions(&big, &made);
  if (HasFatalFailure()) return;
  EXPECT_NE(made[0], made[1]);
  struct stat a, b;
  ASSERT_EQ(stat((dir_ + "/" + made[0] + "/big").c_str(), &a), 0);
  ASSERT_EQ(stat((dir_ + "/" + made[2] + "/big").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(ReadFile(dir_ + "/" + made[0] + "/sub/changes"), "one\n");
  EXPECT_EQ(ReadFile(dir_ + "/" + made[2] + "/sub/changes"), "three, longer still\n");
  EXPECT_NE(ReadFile(log_).find("snapshots=overlay"), std::string::npos);
  EXPECT_EQ(Diff(older_, TreeState(dir_ + "/" + kOlder)), "");
}

// The btrfs-subvolume level: the earlier snapshots are read-only subvolumes (made here with
// btrfs-progs, as rrsync makes them with its ioctls), so rrsync snapshots latest for the push.
class SnapshotOnBtrfsSubvolumes : public SnapshotOnBtrfs {
 protected:
  void MakeSnapshotRoot(const std::string& path) override {
    RunResult made = sandbox_test::RunProgram({Btrfs(), "-q", "subvolume", "create", path});
    ASSERT_EQ(made.status, 0) << made.out << made.err;
  }
  void SealSnapshotRoot(const std::string& path) override {
    RunResult sealed =
        sandbox_test::RunProgram({Btrfs(), "property", "set", "-ts", path, "ro", "true"});
    ASSERT_EQ(sealed.status, 0) << sealed.out << sealed.err;
  }
  std::string PlanExtra() const override { return "btrfs yes\n"; }
  static std::string Btrfs() {
    return access("/usr/bin/btrfs", X_OK) == 0 ? "/usr/bin/btrfs" : "/bin/btrfs";
  }
};

// Whether `path` is a read-only btrfs subvolume (its root, BTRFS_IOC_SUBVOL_GETFLAGS).
bool IsReadOnlySubvolume(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  uint64_t flags = 0;
  const bool ok =
      fstat(fd, &st) == 0 && st.st_ino == 256 && ioctl(fd, BTRFS_IOC_SUBVOL_GETFLAGS, &flags) == 0;
  close(fd);
  return ok && (flags & BTRFS_SUBVOL_RDONLY) != 0;
}

// The physical address of the first extent of `path` (FIEMAP): two files with the same one
// share their data on disk.
uint64_t FirstExtent(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  alignas(struct fiemap) char buf[sizeof(struct fiemap) + sizeof(struct fiemap_extent)] = {};
  auto* map = reinterpret_cast<struct fiemap*>(buf);
  map->fm_length = ~0ULL;
  map->fm_flags = FIEMAP_FLAG_SYNC;
  map->fm_extent_count = 1;
  const bool ok = ioctl(fd, FS_IOC_FIEMAP, map) == 0 && map->fm_mapped_extents == 1;
  close(fd);
  return ok ? map->fm_extents[0].fe_physical : 0;
}

// The stand-in at the btrfs level: what it may change lands in the new subvolume, which is
// sealed read-only; btrfs's own ioctls are refused by the system-call filter (EPERM), so it
// cannot make, snapshot, unseal or destroy a subvolume; the earlier snapshots are intact.
TEST_F(SnapshotOnBtrfsSubvolumes, BtrfsLevelKeepsEveryEarlierSnapshotAsItWas) {
  RunResult run = Push({});
  ASSERT_EQ(run.status, 0) << run.out << run.err << ReadFile(log_);
  EXPECT_NE(ReadFile(log_).find("snapshots=btrfs-subvolume snapshot="), std::string::npos)
      << ReadFile(log_);
  std::map<std::string, std::string> got = ParseHostile(run.out);
  for (const char* name : {"snap-append", "snap-truncate", "snap-chmod", "snap-chown",
                           "snap-utimens", "snap-setxattr-user", "snap-removexattr-user",
                           "snap-unlink", "snap-rmdir", "snap-rename-file", "snap-link"})
    EXPECT_EQ(got[name], "ALLOWED") << name << "\n" << run.out;
  for (const char* name : {"snap-setxattr-overlay-opaque", "snap-mknod-whiteout", "snap-umount",
                           "snap-immutable", "snap-append-older"})
    EXPECT_EQ(got[name], "DENIED") << name << "\n" << run.out;
  // The system-call filter's answer (EPERM), not btrfs's own checks.
  for (const char* name :
       {"snap-btrfs-subvol-create", "snap-btrfs-snap-create", "snap-btrfs-setflags",
        "snap-btrfs-destroy-by-id", "snap-btrfs-defrag", "snap-btrfs-balance-progress"})
    EXPECT_NE(run.out.find(std::string(name) + " DENIED EPERM"), std::string::npos) << name << "\n"
                                                                                    << run.out;

  EXPECT_EQ(Diff(older_, TreeState(dir_ + "/" + kOlder)), "");
  EXPECT_EQ(Diff(latest_, TreeState(dir_ + "/" + kLatest)), "");
  EXPECT_TRUE(IsReadOnlySubvolume(dir_ + "/" + kOlder));
  EXPECT_TRUE(IsReadOnlySubvolume(dir_ + "/" + kLatest));
  const std::string made = NewSnapshot();
  ASSERT_FALSE(made.empty());
  EXPECT_EQ(fs::read_symlink(dir_ + "/latest").string(), made);
  const std::string s = dir_ + "/" + made;
  EXPECT_TRUE(IsReadOnlySubvolume(s));
  EXPECT_EQ(ReadFile(s + "/inside.txt"), std::string("inside ") + kLatest + "\nhostile\n");
  EXPECT_EQ(ReadFile(s + "/trunc.txt"), "t");
  EXPECT_FALSE(fs::exists(s + "/deleteme"));
  EXPECT_FALSE(fs::exists(s + "/hostile-subvolume"));
  EXPECT_FALSE(fs::exists(s + "/hostile-snapshot"));
  EXPECT_EQ(ReadFile(s + "/sub/renamed"), "rename me\n");
  // Sealed: not even root's own write gets in.
  EXPECT_EQ(AppendTo(s + "/trunc.txt"), EROFS);
}

// Three pushes by the real rsync from an empty btrfs DIR: three read-only subvolumes sharing
// the unchanged file's extent, only the change sent; a failed push leaves no snapshot and no
// incoming tree; prune destroys the read-only subvolumes it does not keep.
TEST_F(SnapshotOnBtrfsSubvolumes, RealRsyncPushesMakeReadOnlySubvolumesAndPruneRemovesThem) {
  for (const char* name : {kOlder, kLatest}) {
    RunResult gone =
        sandbox_test::RunProgram({Btrfs(), "-q", "subvolume", "delete", dir_ + "/" + name});
    ASSERT_EQ(gone.status, 0) << gone.err;
  }
  ASSERT_EQ(unlink((dir_ + "/latest").c_str()), 0);
  std::string big;
  std::vector<std::string> made;
  PushThreeVersions(&big, &made);
  if (HasFatalFailure()) return;
  EXPECT_NE(made[0], made[1]);
  EXPECT_NE(made[1], made[2]);
  for (const std::string& name : made) {
    EXPECT_TRUE(IsReadOnlySubvolume(dir_ + "/" + name)) << name;
    EXPECT_EQ(ReadFile(dir_ + "/" + name + "/big"), big) << name;
  }
  const uint64_t extent = FirstExtent(dir_ + "/" + made[0] + "/big");
  EXPECT_NE(extent, 0u);
  EXPECT_EQ(FirstExtent(dir_ + "/" + made[1] + "/big"), extent);
  EXPECT_EQ(FirstExtent(dir_ + "/" + made[2] + "/big"), extent);
  EXPECT_EQ(ReadFile(dir_ + "/" + made[0] + "/sub/changes"), "one\n");
  EXPECT_EQ(ReadFile(dir_ + "/" + made[2] + "/sub/changes"), "three, longer still\n");
  const std::string log = ReadFile(log_);
  EXPECT_NE(log.find("snapshot made " + made[2] + " snapshots=btrfs-subvolume"), std::string::npos)
      << log;

  // A failed push: the client killed mid-transfer (a slow new file), so the server's rsync
  // sees the connection end and exits non-zero; rrsync (--foreground: not in the kill)
  // then removes the incoming subvolume. Waited for until DIR holds no incoming tree.
  const std::string rsh = tmp_ / "rsh", src = tmp_ / "src";
  std::string slow(2 << 20, '\0');
  for (size_t i = 0; i < slow.size(); ++i) slow[i] = static_cast<char>(i * 104729 % 253);
  WriteFile(src + "/slow", slow);
  RunResult failed = sandbox_test::RunProgram({"/usr/bin/timeout", "--foreground", "-s", "KILL",
                                               "2", "/usr/bin/rsync", "-a", "--delete",
                                               "--bwlimit=64", "-e", rsh, src + "/", "host:/"});
  EXPECT_NE(failed.status, 0) << failed.out << failed.err;
  for (int i = 0; i < 200 && ReadFile(log_).find("not made") == std::string::npos; ++i)
    usleep(50 * 1000);
  std::vector<std::string> entries;
  for (const auto& entry : fs::directory_iterator(dir_))
    entries.push_back(entry.path().filename().string());
  std::sort(entries.begin(), entries.end());
  EXPECT_EQ(entries, (std::vector<std::string>{made[0], made[1], made[2], "latest"}));
  EXPECT_NE(ReadFile(log_).find("snapshot not made (rsync exited with status"), std::string::npos)
      << ReadFile(log_);

#ifndef RRSYNC_ADMIN_BINARY
  GTEST_SKIP() << "rrsync-admin is not built here: prune not checked";
#else
  RunResult pruned =
      sandbox_test::RunProgram({RRSYNC_ADMIN_BINARY, "prune", dir_, "--keep-last", "1"});
  ASSERT_EQ(pruned.status, 0) << pruned.out << pruned.err;
  EXPECT_FALSE(fs::exists(dir_ + "/" + made[0]));
  EXPECT_FALSE(fs::exists(dir_ + "/" + made[1]));
  EXPECT_TRUE(IsReadOnlySubvolume(dir_ + "/" + made[2]));
  RunResult listed = sandbox_test::RunProgram({Btrfs(), "subvolume", "list", dir_});
  EXPECT_EQ(listed.out.find(made[0]), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find(made[2]), std::string::npos) << listed.out;
#endif
}

}  // namespace
}  // namespace rrsync
