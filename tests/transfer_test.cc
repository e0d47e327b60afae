// Real transfers: the real rsync client talks to a real rsync server started through rrsync.
// A stand-in for ssh (`rsync -e`) sets SSH_ORIGINAL_COMMAND the way sshd does and runs rrsync.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include <gtest/gtest.h>

#include "path_resolution.h"
#include "test_support.h"

namespace rrsync {
namespace {

namespace fs = std::filesystem;
using testing::MakeDirs;
using testing::ReadFile;
using testing::RunProgram;
using testing::RunResult;
using testing::WriteFile;

// Every path below `root` with its kind and content (or symlink target), sorted.
std::string Tree(const std::string& root) {
  std::vector<std::string> entries;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    std::string rel = it->path().lexically_relative(root).string();
    if (it->is_symlink()) {
      entries.push_back(rel + " -> " + fs::read_symlink(it->path()).string());
    } else if (it->is_directory()) {
      entries.push_back(rel + "/");
    } else {
      entries.push_back(rel + " = " + ReadFile(it->path()));
    }
  }
  std::sort(entries.begin(), entries.end());
  std::string out;
  for (const std::string& e : entries) out += e + "\n";
  return out;
}

class TransferTest : public ::testing::Test {
 protected:
  TransferTest() {
    home_ = NormalizePath(tmp_ / "home");
    dir_ = home_ + "/dir";
    MakeDirs(dir_ + "/docs/deep");
    WriteFile(dir_ + "/top.txt", "top");
    WriteFile(dir_ + "/docs/a b.txt", "with space");
    WriteFile(dir_ + "/docs/deep/z", "deep");
    symlink("docs/deep/z", (dir_ + "/link_in").c_str());
    WriteFile(home_ + "/secret", "SECRET");
    MakeDirs(tmp_ / "local");
  }

  // Writes the ssh stand-in for rrsync FLAGS DIR, and returns rsync's -e argument.
  std::string FakeSsh(const std::string& flags) {
    std::string script = tmp_ / ("ssh-" + std::to_string(ssh_count_++));
    WriteFile(script,
              "#!/bin/sh\n"
              "# Called by rsync as: HOST COMMAND...; ssh joins the command words with spaces.\n"
              "shift\n"
              "cd '" + home_ + "' || exit 255\n"
              "exec env -i SSH_ORIGINAL_COMMAND=\"$*\" SSH_CONNECTION='127.0.0.1 40000 127.0.0.1 22' "
              "'" RRSYNC_BINARY "' " + flags + "\n");
    chmod(script.c_str(), 0755);
    return script;
  }

  RunResult Rsync(const std::string& flags, std::vector<std::string> args) {
    std::vector<std::string> argv{"/usr/bin/rsync", "-e", FakeSsh(flags)};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProgram(argv, {{"PATH", "/usr/bin:/bin"}}, tmp_.path());
  }

  testing::TempDir tmp_;
  std::string home_;
  std::string dir_;
  int ssh_count_ = 0;
};

TEST_F(TransferTest, ReadOnlyPullOfTheWholeDir) {
  RunResult r = Rsync("-ro dir", {"-a", "host:/", tmp_ / "local/"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(Tree(tmp_ / "local"), Tree(dir_));
  EXPECT_EQ(Tree(tmp_ / "local"),
            "docs/\ndocs/a b.txt = with space\ndocs/deep/\ndocs/deep/z = deep\n"
            "link_in -> docs/deep/z\ntop.txt = top\n");
}

TEST_F(TransferTest, PullOfNamedFilesWithSpacesAndGlobs) {
  RunResult r = Rsync("-ro dir", {"-a", "host:/docs/a b.txt", "host:/t*", tmp_ / "local/"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(Tree(tmp_ / "local"), "a b.txt = with space\ntop.txt = top\n");
}

TEST_F(TransferTest, PushIntoReadWriteAndWriteOnlyDirs) {
  MakeDirs(tmp_ / "src/new");
  WriteFile(tmp_ / "src/new/file", "pushed");
  for (const char* flags : {"dir", "-wo dir"}) {
    fs::remove_all(dir_ + "/new");
    RunResult r = Rsync(flags, {"-a", tmp_ / "src/", "host:/"});
    ASSERT_EQ(r.status, 0) << flags << ": " << r.err;
    EXPECT_EQ(ReadFile(dir_ + "/new/file"), "pushed") << flags;
  }
}

TEST_F(TransferTest, ReadOnlyRefusesPushAndWriteOnlyRefusesPull) {
  MakeDirs(tmp_ / "src");
  WriteFile(tmp_ / "src/evil", "x");
  RunResult push = Rsync("-ro dir", {"-a", tmp_ / "src/", "host:/"});
  EXPECT_NE(push.status, 0);
  EXPECT_NE(push.err.find("rrsync error: sending to read-only server is not allowed"),
            std::string::npos)
      << push.err;
  EXPECT_FALSE(testing::Exists(dir_ + "/evil"));
  RunResult pull = Rsync("-wo dir", {"-a", "host:/", tmp_ / "local/"});
  EXPECT_NE(pull.status, 0);
  EXPECT_NE(pull.err.find("rrsync error: reading from write-only server is not allowed"),
            std::string::npos)
      << pull.err;
  EXPECT_EQ(Tree(tmp_ / "local"), "");
}

TEST_F(TransferTest, NoDelRefusesDelete) {
  MakeDirs(tmp_ / "src");
  RunResult r = Rsync("-no-del dir", {"-a", "--delete", tmp_ / "src/", "host:/"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("rrsync error: option --delete"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("has been disabled on this server."), std::string::npos) << r.err;
  EXPECT_EQ(ReadFile(dir_ + "/top.txt"), "top");
  RunResult allowed = Rsync("dir", {"-a", "--delete", tmp_ / "src/", "host:/docs/"});
  ASSERT_EQ(allowed.status, 0) << allowed.err;
  EXPECT_FALSE(testing::Exists(dir_ + "/docs/a b.txt"));
}

TEST_F(TransferTest, NoOverwriteKeepsExistingFiles) {
  MakeDirs(tmp_ / "src");
  WriteFile(tmp_ / "src/top.txt", "replaced");
  WriteFile(tmp_ / "src/fresh.txt", "fresh");
  RunResult r = Rsync("-no-overwrite dir", {"-a", tmp_ / "src/", "host:/"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(ReadFile(dir_ + "/top.txt"), "top");
  EXPECT_EQ(ReadFile(dir_ + "/fresh.txt"), "fresh");
}

TEST_F(TransferTest, SymlinkLeadingOutIsRefusedAndNothingArrives) {
  symlink("../secret", (dir_ + "/escape").c_str());
  RunResult r = Rsync("-ro dir", {"-a", "host:/escape/", tmp_ / "local/"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("rrsync error: unsafe arg: /escape/ ['" + dir_ + "/escape', '" + home_ +
                       "/secret']"),
            std::string::npos)
      << r.err;
  RunResult dots = Rsync("-ro dir", {"-a", "host:../secret", tmp_ / "local/"});
  EXPECT_NE(dots.err.find("rrsync error: do not use .. in arg"), std::string::npos) << dots.err;
  // A whole pull sends the link itself, never what it points to.
  RunResult all = Rsync("-ro dir", {"-a", "host:/", tmp_ / "local/"});
  ASSERT_EQ(all.status, 0) << all.err;
  EXPECT_EQ(fs::read_symlink(tmp_ / "local/escape").string(), "../secret");
  EXPECT_EQ(Tree(tmp_ / "local").find("SECRET"), std::string::npos);
}

TEST_F(TransferTest, PartialDirBackupDirAndLinkDestSnapshots) {
  MakeDirs(tmp_ / "src");
  WriteFile(tmp_ / "src/f", "v1");
  MakeDirs(dir_ + "/snap");
  // The first snapshot links against a basis that does not exist yet.
  RunResult first = Rsync("dir", {"-a", "--link-dest=/snap/0", "--partial-dir=.partial",
                                  tmp_ / "src/", "host:/snap/1/"});
  ASSERT_EQ(first.status, 0) << first.err;
  RunResult second = Rsync("dir", {"-a", "--link-dest=/snap/1", tmp_ / "src/", "host:/snap/2/"});
  ASSERT_EQ(second.status, 0) << second.err;
  struct stat a, b;
  ASSERT_EQ(stat((dir_ + "/snap/1/f").c_str(), &a), 0);
  ASSERT_EQ(stat((dir_ + "/snap/2/f").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);  // hard-linked, not copied
  WriteFile(tmp_ / "src/f", "v2");
  RunResult backup = Rsync("dir", {"-ac", "-b", "--backup-dir=/old", tmp_ / "src/", "host:/snap/2/"});
  ASSERT_EQ(backup.status, 0) << backup.err;
  EXPECT_EQ(ReadFile(dir_ + "/snap/2/f"), "v2");
  EXPECT_EQ(ReadFile(dir_ + "/old/f"), "v1");
  EXPECT_EQ(ReadFile(dir_ + "/snap/1/f"), "v1");
  // No placeholder is left behind.
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_FALSE(e.path().filename().string().starts_with(".rrsync-empty-basis")) << e.path();
}

TEST_F(TransferTest, RelativePullKeepsThePath) {
  RunResult r = Rsync("-ro dir", {"-aR", "host:/docs/./deep/z", tmp_ / "local/"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(Tree(tmp_ / "local"), "deep/\ndeep/z = deep\n");
}

}  // namespace
}  // namespace rrsync
