#include "admin_snapshots.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin_test_util.h"
#include "runner.h"
#include "unique_fd.h"

namespace rrsync {
namespace {

using admin_test::ReadFile;
using admin_test::RunCommand;
using admin_test::ScratchDir;
using admin_test::Shell;
using admin_test::WriteFile;

// A -snapshots DIR as rrsync leaves it: four snapshots sharing a hard-linked file, each with a
// file of its own, `latest` to the newest, an unfinished push, and client-written symlinks that
// lead out of DIR (to a file and to a directory the test owns outside it).
class SnapshotsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = scratch_.path() + "/backup";
    outside_ = scratch_.path() + "/outside";
    ASSERT_EQ(mkdir(dir_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir(outside_.c_str(), 0755), 0);
    WriteFile(outside_ + "/precious", "keep me\n");
    const char* names[] = {"2026-11-28T020000Z", "2026-11-29T020000Z", "2026-11-30T020000Z",
                           "2026-12-01T020000Z"};
    for (int i = 0; i < 4; ++i) {
      const std::string snap = dir_ + "/" + names[i];
      ASSERT_EQ(mkdir(snap.c_str(), 0755), 0);
      ASSERT_EQ(mkdir((snap + "/sub").c_str(), 0755), 0);
      if (i == 0) {
        WriteFile(snap + "/shared", std::string(1000, 's'));
      } else {
        ASSERT_EQ(link((dir_ + "/" + names[0] + "/shared").c_str(), (snap + "/shared").c_str()), 0);
      }
      WriteFile(snap + "/sub/own", std::string(100 * (i + 1), 'o'));
      // Two names for one inode inside the snapshot: counted once, and only here.
      ASSERT_EQ(link((snap + "/sub/own").c_str(), (snap + "/own-again").c_str()), 0);
      ASSERT_EQ(symlink((outside_ + "/precious").c_str(), (snap + "/to-file").c_str()), 0);
      ASSERT_EQ(symlink(outside_.c_str(), (snap + "/to-dir").c_str()), 0);
    }
    ASSERT_EQ(symlink("2026-12-01T020000Z", (dir_ + "/latest").c_str()), 0);
    const std::string incoming = dir_ + "/.rrsync-incoming-20261202T020000Z";
    ASSERT_EQ(mkdir(incoming.c_str(), 0700), 0);
    WriteFile(incoming + "/partial", std::string(10, 'p'));
  }

  // Every name, type, mode, link count, size, time and symlink target below DIR and outside it,
  // and every file's content.
  std::string TreeState() {
    ProcessResult r = Shell("cd '" + scratch_.path() +
                            "' && find . -printf '%p %y %m %n %s %T@ %l\\n' | sort && "
                            "find . -type f -exec sha256sum {} + | sort");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  std::string Entries() { return Shell("cd '" + dir_ + "' && ls -A | tr '\\n' ' '").out; }

  ScratchDir scratch_;
  std::string dir_;
  std::string outside_;
};

TEST_F(SnapshotsTest, ListsSizesOnlyHereAndLatest) {
  SnapshotListing listing;
  std::string err;
  ASSERT_TRUE(ListSnapshots(dir_, true, &listing, &err)) << err;
  EXPECT_EQ(listing.latest, "2026-12-01T020000Z");
  ASSERT_EQ(listing.snapshots.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    const SnapshotTree& t = listing.snapshots[i];
    const uint64_t own = 100 * (i + 1);
    const uint64_t links = (outside_ + "/precious").size() + outside_.size();
    EXPECT_EQ(t.bytes, 1000 + own + links) << t.name;
    EXPECT_EQ(t.unique_bytes, own + links) << t.name;  // the shared file has links elsewhere
    EXPECT_EQ(t.files, 4u) << t.name;                  // shared, own, two symlinks
    EXPECT_EQ(t.latest, i == 3) << t.name;
    EXPECT_TRUE(t.notes.empty()) << t.notes[0];
  }
  ASSERT_EQ(listing.incomplete.size(), 1u);
  EXPECT_EQ(listing.incomplete[0].name, ".rrsync-incoming-20261202T020000Z");
  EXPECT_EQ(listing.incomplete[0].bytes, 10u);
  EXPECT_FALSE(listing.incomplete[0].complete);

  const std::string text = FormatSnapshotsText(listing);
  EXPECT_NE(text.find("2026-12-01T020000Z   2026-12-01 02:00:00 UTC "), std::string::npos) << text;
  EXPECT_NE(text.find("  latest\n"), std::string::npos) << text;
  EXPECT_NE(text.find(".rrsync-incoming-20261202T020000Z  10 B, 10 B only here, 1 files: "
                      "incomplete (a push that did not finish)\n"),
            std::string::npos)
      << text;
  const std::string json = FormatSnapshotsJson(listing);
  EXPECT_NE(json.find("\"latest\": \"2026-12-01T020000Z\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"time\": \"2026-11-28T02:00:00Z\""), std::string::npos) << json;
}

TEST_F(SnapshotsTest, TheCommandPrintsTheTable) {
  ProcessResult r = RunCommand({RRSYNC_ADMIN_BINARY, "snapshots", dir_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const size_t links = (outside_ + "/precious").size() + outside_.size();
  EXPECT_EQ(r.out.substr(0, r.out.find('\n') + 1),
            "SNAPSHOT             DATE                          SIZE  ONLY HERE    FILES\n");
  // 1000 shared bytes + 100 of its own + the symlinks' targets; only the last two are its own.
  EXPECT_NE(r.out.find("\n2026-11-28T020000Z   2026-11-28 02:00:00 UTC    1.2 KiB      " +
                       std::to_string(100 + links) + " B        4\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\n2026-12-01T020000Z   2026-12-01 02:00:00 UTC    1.4 KiB      " +
                       std::to_string(400 + links) + " B        4  latest\n"),
            std::string::npos)
      << r.out;
}

TEST_F(SnapshotsTest, LatestThatIsNotASnapshotIsRefused) {
  ASSERT_EQ(unlink((dir_ + "/latest").c_str()), 0);
  ASSERT_EQ(symlink("/etc", (dir_ + "/latest").c_str()), 0);
  SnapshotListing listing;
  std::string err;
  EXPECT_FALSE(ListSnapshots(dir_, false, &listing, &err));
  EXPECT_EQ(err, "\"" + dir_ + "/latest\" points to \"/etc\", not to a snapshot in DIR");
  PruneRequest request;
  request.dir = dir_;
  request.policy.last = 1;
  PruneOutcome outcome;
  const std::string before = TreeState();
  EXPECT_FALSE(Prune(request, &outcome, &err));
  EXPECT_EQ(TreeState(), before);
}

TEST_F(SnapshotsTest, DryRunChangesNothing) {
  const std::string before = TreeState();
  ProcessResult r =
      RunCommand({RRSYNC_ADMIN_BINARY, "prune", dir_, "--keep-last", "1", "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "remove 2026-11-28T020000Z  (no rule keeps it)\n"
            "remove 2026-11-29T020000Z  (no rule keeps it)\n"
            "remove 2026-11-30T020000Z  (no rule keeps it)\n"
            "keep   2026-12-01T020000Z  (latest, last 1)\n"
            "dry run: would keep 1 and remove 3 snapshot(s); nothing was changed\n");
  EXPECT_EQ(TreeState(), before);
}

TEST_F(SnapshotsTest, PruneRemovesExactlyTheOthers) {
  ProcessResult r = RunCommand({RRSYNC_ADMIN_BINARY, "prune", dir_, "--keep-daily", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "remove 2026-11-28T020000Z  (no rule keeps it)\n"
            "remove 2026-11-29T020000Z  (no rule keeps it)\n"
            "keep   2026-11-30T020000Z  (daily 2026-11-30)\n"
            "keep   2026-12-01T020000Z  (latest, daily 2026-12-01)\n"
            "removed 2026-11-28T020000Z\n"
            "removed 2026-11-29T020000Z\n"
            "kept 2, removed 2 of 2 snapshot(s)\n");
  EXPECT_EQ(Entries(),
            ".rrsync-incoming-20261202T020000Z 2026-11-30T020000Z 2026-12-01T020000Z latest ");
  // The kept snapshots are whole, and nothing the symlinks pointed to was touched.
  EXPECT_EQ(ReadFile(dir_ + "/2026-11-30T020000Z/shared"), std::string(1000, 's'));
  EXPECT_EQ(ReadFile(dir_ + "/2026-12-01T020000Z/sub/own"), std::string(400, 'o'));
  EXPECT_EQ(ReadFile(outside_ + "/precious"), "keep me\n");
  EXPECT_EQ(Shell("ls -A '" + outside_ + "'").out, "precious\n");
}

TEST_F(SnapshotsTest, PruneNeverRemovesLatest) {
  ASSERT_EQ(unlink((dir_ + "/latest").c_str()), 0);
  ASSERT_EQ(symlink("./2026-11-28T020000Z/", (dir_ + "/latest").c_str()), 0);
  ProcessResult r = RunCommand({RRSYNC_ADMIN_BINARY, "prune", dir_, "--keep-last", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Entries(),
            ".rrsync-incoming-20261202T020000Z 2026-11-28T020000Z 2026-12-01T020000Z latest ");
}

TEST_F(SnapshotsTest, PruneRefusesWithoutAKeepRule) {
  const std::string before = TreeState();
  ProcessResult r = RunCommand({RRSYNC_ADMIN_BINARY, "prune", dir_});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "rrsync-admin error: prune needs at least one --keep-last, --keep-daily, "
            "--keep-weekly or --keep-monthly above 0\n");
  r = RunCommand({RRSYNC_ADMIN_BINARY, "prune", dir_, "--keep-daily", "0", "--keep-last", "0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(TreeState(), before);
}

TEST_F(SnapshotsTest, AMissingDirIsNamed) {
  ProcessResult r =
      RunCommand({RRSYNC_ADMIN_BINARY, "prune", dir_ + "/nowhere", "--keep-last", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "rrsync-admin error: Failed to open \"" + dir_ +
                       "/nowhere\": No such file or directory\n");
  r = RunCommand({RRSYNC_ADMIN_BINARY, "snapshots", dir_ + "/nowhere"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "rrsync-admin error: Failed to open \"" + dir_ +
                       "/nowhere\": No such file or directory\n");
}

TEST_F(SnapshotsTest, PruneSaysBusyWhileAPushHoldsTheLock) {
  UniqueFd lock;
  ASSERT_EQ(LockDirectory(dir_, &lock), LockResult::kLocked);
  const std::string before = TreeState();
  ProcessResult r = RunCommand({RRSYNC_ADMIN_BINARY, "prune", dir_, "--keep-last", "1"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "rrsync-admin error: \"" + dir_ +
                       "\" is busy: a push holds rrsync's lock; try again later\n");
  EXPECT_EQ(TreeState(), before);
}

// An immutable file stops the removal with its name; the snapshot is already out of the
// snapshot names, and the next prune, once the file can go, finishes the job.
TEST_F(SnapshotsTest, PruneStopsAtAFileItCannotRemove) {
  const std::string stuck = dir_ + "/2026-11-29T020000Z/sub/stuck";
  WriteFile(stuck, "x");
  UniqueFd fd(open(stuck.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  int flags = 0;
  if (ioctl(fd.get(), FS_IOC_GETFLAGS, &flags) != 0) GTEST_SKIP() << "no FS_IOC_GETFLAGS here";
  int immutable = flags | FS_IMMUTABLE_FL;
  if (ioctl(fd.get(), FS_IOC_SETFLAGS, &immutable) != 0)
    GTEST_SKIP() << "cannot set the immutable flag here (needs CAP_LINUX_IMMUTABLE)";
  struct Unset {
    int fd, flags;
    ~Unset() { ioctl(fd, FS_IOC_SETFLAGS, &flags); }
  } unset{fd.get(), flags};

  ProcessResult r = RunCommand({RRSYNC_ADMIN_BINARY, "prune", dir_, "--keep-last", "2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "rrsync-admin error: Failed to remove \"" + dir_ +
                       "/.rrsync-pruning-2026-11-29T020000Z/sub/stuck\": Operation not permitted "
                       "(immutable or append-only? see lsattr; prune clears no attribute)\n");
  EXPECT_NE(r.out.find("removed 2026-11-28T020000Z\nkept 2, removed 1 of 2 snapshot(s)\n"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(Entries(),
            ".rrsync-incoming-20261202T020000Z .rrsync-pruning-2026-11-29T020000Z "
            "2026-11-30T020000Z 2026-12-01T020000Z latest ");

  ioctl(fd.get(), FS_IOC_SETFLAGS, &flags);
  r = RunCommand({RRSYNC_ADMIN_BINARY, "prune", dir_, "--keep-last", "2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("removed .rrsync-pruning-2026-11-29T020000Z (left by an earlier prune)\n"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(Entries(),
            ".rrsync-incoming-20261202T020000Z 2026-11-30T020000Z 2026-12-01T020000Z latest ");
}

// A filesystem mounted inside a snapshot is not the snapshot's: prune stops there. The mount
// lives in a private mount namespace of the test's own (unshare -m), never on the host.
TEST_F(SnapshotsTest, PruneNeverCrossesAMountPoint) {
  const std::string mount_point = dir_ + "/2026-11-28T020000Z/sub";
  ProcessResult r =
      Shell("unshare -m sh -c 'mount -t tmpfs rrsync-test \"" + mount_point +
            "\" && echo inside > \"" + mount_point + "/mounted\" && \"" + RRSYNC_ADMIN_BINARY +
            "\" prune \"" + dir_ + "\" --keep-last 3; echo \"status=$?\"; cat \"" + dir_ +
            "/.rrsync-pruning-2026-11-28T020000Z/sub/mounted\"' 2>&1");
  if (r.out.find("status=") == std::string::npos)
    GTEST_SKIP() << "no private mount namespace here: " << r.out;
  EXPECT_EQ(r.out,
            "remove 2026-11-28T020000Z  (no rule keeps it)\n"
            "keep   2026-11-29T020000Z  (last 3)\n"
            "keep   2026-11-30T020000Z  (last 2)\n"
            "keep   2026-12-01T020000Z  (latest, last 1)\n"
            "kept 3, removed 0 of 1 snapshot(s)\n"
            "rrsync-admin error: refusing to remove \"" +
                dir_ +
                "/.rrsync-pruning-2026-11-28T020000Z/sub\": it is a mount point\n"
                "status=1\n"
                "inside\n");
}

}  // namespace
}  // namespace rrsync
