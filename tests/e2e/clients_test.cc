// The clients people run against rrsync (issue 12), end to end: rrsync as the forced command of a
// real sshd on 127.0.0.1 (tests/e2e/sshd_harness.h), driven by the real programs:
//
//   - rsync 3.2.7 (Debian bookworm's, unpacked by scripts/old-rsync, never installed) as the
//     client of rrsync + rsync 3.5.0, and as the server rrsync runs (-rsync=), where rrsync's
//     feature detection must leave out the options 3.2.7 lacks;
//   - rsnapshot (Debian's package) with its default rsync arguments, two runs with rotation;
//   - BackupPC 4's default RsyncArgs, a full and an incremental backup.
//
// Each test runs as root and as an unprivileged account, and checks exit codes, what the server
// side saw (rrsync's log) and the resulting trees: content, mode, owner and times.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "sshd_harness.h"

namespace rrsync::e2e {
namespace {

namespace fs = std::filesystem;

enum class Who { kRoot, kUser };

std::string WhoName(const ::testing::TestParamInfo<Who>& info) {
  return info.param == Who::kRoot ? "AsRoot" : "AsUnprivilegedUser";
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

bool HasLine(const std::string& text, const std::string& line) {
  for (const std::string& l : Lines(text))
    if (l == line) return true;
  return false;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every entry under `root` ("." for root itself) by relative path: type, mode, owners (if
// `owners`), size, mtime, content or link target. Equal snapshots, equal trees.
std::map<std::string, std::string> Snapshot(const std::string& root, bool owners = true) {
  std::map<std::string, std::string> tree;
  std::function<void(const std::string&)> walk = [&](const std::string& rel) {
    const std::string path = rel == "." ? root : root + "/" + rel;
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) {
      tree[rel] = "unreadable";
      return;
    }
    std::ostringstream d;
    d << std::oct << (st.st_mode & 07777) << std::dec;
    if (owners) d << " " << st.st_uid << ":" << st.st_gid;
    if (S_ISREG(st.st_mode)) {
      d << " file mtime " << st.st_mtim.tv_sec << " " << ReadFile(path);
    } else if (S_ISLNK(st.st_mode)) {
      d << " link -> " << fs::read_symlink(path).string();
    } else if (S_ISDIR(st.st_mode)) {
      d << " dir mtime " << st.st_mtim.tv_sec;
    } else {
      d << " special";
    }
    tree[rel] = d.str();
    if (!S_ISDIR(st.st_mode)) return;
    for (const auto& entry : fs::directory_iterator(path)) {
      const std::string name = entry.path().filename().string();
      walk(rel == "." ? name : rel + "/" + name);
    }
  };
  walk(".");
  return tree;
}

// The lines of rrsync's log that record an accepted session: "DATE HOST run [ARGV] NOTES".
std::vector<std::string> RunLines(const std::string& log) {
  std::vector<std::string> runs;
  for (const std::string& line : Lines(log))
    if (line.find(" run [") != std::string::npos) runs.push_back(line);
  return runs;
}

// The argv of such a line: "['/usr/bin/rsync', '--server', ...]".
std::string ArgvOf(const std::string& run_line) {
  const size_t start = run_line.find(" run [");
  const size_t end = run_line.find("] ", start);
  if (start == std::string::npos || end == std::string::npos) return "";
  return run_line.substr(start + 5, end - start - 4);
}

ino_t Inode(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// Each test: its own sshd; DIR = srv/data holds a small tree with modes, owners (as root) and
// times in the past; rrsync logs to srv/rrsync.log, outside DIR.
class ClientsTest : public ::testing::TestWithParam<Who> {
 protected:
  void SetUp() override {
    std::string err;
    sshd_ = SshdHarness::Start({}, &err);
    ASSERT_TRUE(sshd_) << err;
    if (GetParam() == Who::kUser) {
      ASSERT_TRUE(EnsureTestAccount(&account_, &err)) << err;
    } else {
      account_ = RootAccount();
    }
    ASSERT_TRUE(sshd_->AddClient(account_, &err)) << err;
    rrsync_ = sshd_->InstallExecutable(RRSYNC_UNDER_TEST, &err);
    ASSERT_FALSE(rrsync_.empty()) << err;
    root_ = sshd_->dir();
    srv_ = root_ + "/srv";
    data_ = srv_ + "/data";
    dest_ = root_ + "/dest";
    src_ = root_ + "/src";
    log_ = srv_ + "/rrsync.log";
    for (const std::string& d : {srv_, data_, dest_, src_}) MakeDir(d);
    Put(log_, "", 0600);  // rrsync appends only to a log that exists
  }

  bool AsRoot() const { return GetParam() == Who::kRoot; }

  void MakeDir(const std::string& path, mode_t mode = 0755) {
    ASSERT_TRUE(fs::create_directory(path) || fs::is_directory(path)) << path;
    ASSERT_EQ(chmod(path.c_str(), mode), 0) << path;
    ASSERT_EQ(lchown(path.c_str(), account_.uid, account_.gid), 0) << path;
  }
  void Put(const std::string& path, const std::string& content, mode_t mode = 0644) {
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << content;
      ASSERT_TRUE(out.good()) << path;
    }
    ASSERT_EQ(chmod(path.c_str(), mode), 0) << path;
    ASSERT_EQ(lchown(path.c_str(), account_.uid, account_.gid), 0) << path;
  }
  void SetTime(const std::string& path, time_t when) {
    const timespec times[2] = {{when, 0}, {when, 0}};
    ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << path;
  }

  // A tree with what a backup must keep: modes, a symlink, a hard link, a private directory,
  // times in the past and, as root, owners without a name.
  void MakeTree(const std::string& top) {
    MakeDir(top + "/sub");
    MakeDir(top + "/private", 0700);
    Put(top + "/a.txt", "a\n");
    Put(top + "/group.txt", "group\n", 0640);
    Put(top + "/run.sh", "#!/bin/sh\n", 0755);
    Put(top + "/sub/b.txt", "b\n");
    Put(top + "/sub/unchanged.txt", "unchanged\n");
    Put(top + "/private/key", "key\n", 0600);
    ASSERT_EQ(symlink("a.txt", (top + "/link").c_str()), 0);
    ASSERT_EQ(lchown((top + "/link").c_str(), account_.uid, account_.gid), 0);
    ASSERT_EQ(link((top + "/sub/b.txt").c_str(), (top + "/hard-b").c_str()), 0);
    if (AsRoot()) {
      ASSERT_EQ(lchown((top + "/group.txt").c_str(), 4242, 4343), 0);
      ASSERT_EQ(lchown((top + "/sub").c_str(), 1, 1), 0);
    }
    for (const auto& entry : fs::recursive_directory_iterator(top))
      SetTime(entry.path(), 1600000000);
    SetTime(top, 1600000000);
  }

  // authorized_keys: `rrsync -log=LOG FLAGS... DIR`.
  void Authorize(std::vector<std::string> flags) {
    flags.insert(flags.begin(), "-log=" + log_);
    std::string err;
    ASSERT_TRUE(sshd_->AuthorizeRrsync(account_, rrsync_, flags, data_, &err)) << err;
  }

  std::string Remote(const std::string& path) const { return sshd_->Alias() + ":" + path; }
  std::string SshCommand() const { return "ssh -F " + sshd_->ConfigPath(account_); }

  // `CLIENT -e 'ssh -F CONFIG' ARGS...` as the account.
  CommandResult RsyncWith(const std::string& client, const std::vector<std::string>& args,
                          const RunOptions& options = {}) {
    std::vector<std::string> argv = {client, "-e", SshCommand()};
    argv.insert(argv.end(), args.begin(), args.end());
    return e2e::Run(account_, argv, options);
  }

  // The argv rrsync executed in its last accepted session, and that session's notes.
  // `argv` with DIR as "DIR" and a pinned descriptor's number as "N".
  std::string Normalized(std::string argv) const {
    for (size_t at; (at = argv.find(data_)) != std::string::npos;)
      argv.replace(at, data_.size(), "DIR");
    const std::string fd = "/proc/self/fd/";
    for (size_t at = argv.find(fd); at != std::string::npos; at = argv.find(fd, at + 1)) {
      size_t digits = at + fd.size();
      size_t end = digits;
      while (end < argv.size() && isdigit(static_cast<unsigned char>(argv[end]))) ++end;
      argv.replace(digits, end - digits, "N");
    }
    return argv;
  }

  std::string LastRun() {
    const std::vector<std::string> runs = RunLines(ReadFile(log_));
    return runs.empty() ? "" : runs.back();
  }

  std::unique_ptr<SshdHarness> sshd_;
  Account account_;
  std::string rrsync_;
  std::string root_, srv_, data_, dest_, src_, log_;
};

// ---------------------------------------------------------------------------------------------
// rsync 3.2.7, the release Debian 12 shipped before 3.5.0, on either end.

#ifndef OLD_RSYNC_BINARY
#define OLD_RSYNC_BINARY ""
#endif

class OldRsync : public ClientsTest {
 protected:
  void SetUp() override {
    const std::string binary = OLD_RSYNC_BINARY;
    if (binary.empty() || access(binary.c_str(), X_OK) != 0)
      GTEST_SKIP() << "no rsync 3.2.7 (scripts/old-rsync BUILD/old-rsync fetches it from Debian's "
                      "archive; or configure with -DRRSYNC_OLD_RSYNC_BINARY=)";
    ClientsTest::SetUp();
    if (HasFatalFailure()) return;
    // Copied where every account can run it, and where rrsync may be told to run it.
    std::string err;
    const std::string dir = root_ + "/rsync-3.2.7";
    ASSERT_TRUE(fs::create_directory(dir)) << dir;
    ASSERT_EQ(chmod(dir.c_str(), 0755), 0);
    old_rsync_ = dir + "/rsync";
    fs::copy_file(binary, old_rsync_);
    ASSERT_EQ(chmod(old_rsync_.c_str(), 0755), 0);
    CommandResult version = e2e::Run(account_, {old_rsync_, "--version"});
    ASSERT_EQ(version.exit_code, 0) << version.Describe();
    ASSERT_EQ(Lines(version.out).at(0).rfind("rsync  version 3.2.7 ", 0), 0u) << version.out;
  }

  std::string old_rsync_;
};

TEST_P(OldRsync, AsClientPullsFromReadOnlyAndPushesToReadWrite) {
  MakeTree(data_);
  const auto served = Snapshot(data_, AsRoot());
  Authorize({"-ro"});
  CommandResult pull = RsyncWith(old_rsync_, {"-aH", Remote("/"), dest_ + "/"});
  ASSERT_EQ(pull.exit_code, 0) << pull.Describe();
  EXPECT_EQ(pull.err, "");
  EXPECT_EQ(DiffTrees(served, Snapshot(dest_, AsRoot())), "");
  EXPECT_EQ(Inode(dest_ + "/hard-b"), Inode(dest_ + "/sub/b.txt")) << "hard link not kept";
  EXPECT_EQ(DiffTrees(served, Snapshot(data_, AsRoot())), "") << "the read-only side changed";
  // The 3.2.7 client's server command, accepted as the stock client's is.
  EXPECT_NE(LastRun().find("'--server', '--sender'"), std::string::npos) << LastRun();

  MakeTree(src_);
  Put(data_ + "/stale.txt", "stale\n");
  Authorize({});
  CommandResult push = RsyncWith(old_rsync_, {"-aH", "--delete", src_ + "/", Remote("/up")});
  ASSERT_EQ(push.exit_code, 0) << push.Describe();
  EXPECT_EQ(push.err, "");
  EXPECT_EQ(DiffTrees(Snapshot(src_, AsRoot()), Snapshot(data_ + "/up", AsRoot())), "");
  EXPECT_EQ(ReadFile(data_ + "/stale.txt"), "stale\n") << "--delete reached outside /up";
}

TEST_P(OldRsync, AsClientWithProtectArgs) {
  // 3.2.7 knows -s only as --protect-args; the server reads the secluded words from stdin.
  MakeDir(data_ + "/dir with space");
  Put(data_ + "/dir with space/$(id);x.txt", "odd name\n");
  Authorize({"-ro"});
  CommandResult pull =
      RsyncWith(old_rsync_, {"--protect-args", "-a", Remote("/dir with space"), dest_ + "/"});
  ASSERT_EQ(pull.exit_code, 0) << pull.Describe();
  EXPECT_EQ(ReadFile(dest_ + "/dir with space/$(id);x.txt"), "odd name\n");
  // The log shows the real arguments, and rsync ran without -s.
  const std::string run = LastRun();
  EXPECT_NE(run.find("dir with space"), std::string::npos) << run;

  Put(src_ + "/up 'q'.txt", "up\n");
  Authorize({"-wo"});
  CommandResult push =
      RsyncWith(old_rsync_, {"--protect-args", "-a", src_ + "/up 'q'.txt", Remote("/in dir/")});
  ASSERT_EQ(push.exit_code, 0) << push.Describe();
  EXPECT_EQ(ReadFile(data_ + "/in dir/up 'q'.txt"), "up\n");

  // Refused as a plain command would be, in the same words.
  Authorize({"-ro"});
  CommandResult refused = RsyncWith(old_rsync_, {"--protect-args", "-a", src_ + "/", Remote("/")});
  EXPECT_EQ(refused.exit_code, 12) << refused.Describe();
  EXPECT_TRUE(HasLine(refused.err, "rrsync error: sending to read-only server is not allowed"))
      << refused.Describe();
}

// rrsync -rsync=<3.2.7>: the argv it executes holds no option 3.2.7 lacks (--drop-D,
// --confine-root), the log says what was left out, and the sessions succeed.
TEST_P(OldRsync, AsServerGetsNoOptionItLacks) {
  MakeTree(data_);
  const auto served = Snapshot(data_, AsRoot());
  Authorize({"-ro", "-rsync=" + old_rsync_});
  CommandResult pull = sshd_->Rsync(account_, {"-aH", Remote("/"), dest_ + "/"});
  ASSERT_EQ(pull.exit_code, 0) << pull.Describe();
  EXPECT_EQ(pull.err, "");
  EXPECT_EQ(DiffTrees(served, Snapshot(dest_, AsRoot())), "");
  std::string run = LastRun();
  std::string argv = ArgvOf(run);
  EXPECT_EQ(argv.rfind("['" + old_rsync_ + "', '--server', '--sender', ", 0), 0u) << run;
  EXPECT_EQ(argv.find("--confine-root"), std::string::npos) << run;
  EXPECT_EQ(argv.find("--drop-D"), std::string::npos) << run;
  EXPECT_NE(run.find("] sandbox=landlock-abi"), std::string::npos) << "not confined: " << run;
  EXPECT_NE(run.find(" omitted=--confine-root(rsync lacks it)"), std::string::npos) << run;

  MakeTree(src_);
  Authorize({"-rsync=" + old_rsync_});
  CommandResult push = sshd_->Rsync(account_, {"-aH", src_ + "/", Remote("/up")});
  ASSERT_EQ(push.exit_code, 0) << push.Describe();
  EXPECT_EQ(push.err, "");
  EXPECT_EQ(DiffTrees(Snapshot(src_, AsRoot()), Snapshot(data_ + "/up", AsRoot())), "");
  run = LastRun();
  argv = ArgvOf(run);
  EXPECT_EQ(argv.rfind("['" + old_rsync_ + "', '--server', ", 0), 0u) << run;
  EXPECT_EQ(argv.find("--confine-root"), std::string::npos) << run;
  EXPECT_EQ(argv.find("--drop-D"), std::string::npos) << run;
  EXPECT_NE(run.find(" omitted=--drop-D(rsync lacks it) omitted=--confine-root(rsync lacks it)"),
            std::string::npos)
      << run;

  // The stock 3.5.0 server, for contrast: both options are there.
  Authorize({});
  CommandResult again = sshd_->Rsync(account_, {"-a", src_ + "/", Remote("/up2")});
  ASSERT_EQ(again.exit_code, 0) << again.Describe();
  argv = ArgvOf(LastRun());
  EXPECT_NE(argv.find("'--drop-D'"), std::string::npos) << argv;
  EXPECT_NE(argv.find("'--confine-root="), std::string::npos) << argv;
}

TEST_P(OldRsync, AsServerWithProtectArgs) {
  MakeDir(data_ + "/dir with space");
  Put(data_ + "/dir with space/a;b.txt", "ab\n");
  Authorize({"-ro", "-rsync=" + old_rsync_});
  CommandResult pull = sshd_->Rsync(account_, {"-s", "-a", Remote("/dir with space"), dest_ + "/"});
  ASSERT_EQ(pull.exit_code, 0) << pull.Describe();
  EXPECT_EQ(ReadFile(dest_ + "/dir with space/a;b.txt"), "ab\n");
  Put(src_ + "/x y.txt", "xy\n");
  Authorize({"-wo", "-rsync=" + old_rsync_});
  CommandResult push =
      sshd_->Rsync(account_, {"--protect-args", "-a", src_ + "/x y.txt", Remote("/in dir/")});
  ASSERT_EQ(push.exit_code, 0) << push.Describe();
  EXPECT_EQ(ReadFile(data_ + "/in dir/x y.txt"), "xy\n");
  EXPECT_EQ(ArgvOf(LastRun()).find("--confine-root"), std::string::npos) << LastRun();
}

INSTANTIATE_TEST_SUITE_P(Accounts, OldRsync, ::testing::Values(Who::kRoot, Who::kUser), WhoName);

// ---------------------------------------------------------------------------------------------
// rsnapshot (Debian's 1.4.5): its stock rsync arguments (-a --delete --numeric-ids --relative
// --delete-excluded) through an rrsync -ro key, as `backup:/` in its config, ssh through cmd_ssh
// and ssh_args. Two runs of `rsnapshot alpha`: alpha.1 is the first, alpha.0 the second, and
// what did not change between them is one file, hard-linked (rsnapshot's cp -al rotation).

using Rsnapshot = ClientsTest;

TEST_P(Rsnapshot, TwoRunsWithRotation) {
  if (access("/usr/bin/rsnapshot", X_OK) != 0)
    GTEST_SKIP() << "no /usr/bin/rsnapshot (scripts/deps installs Debian's rsnapshot)";
  MakeTree(data_);
  const std::string snapshots = root_ + "/snapshots";
  MakeDir(snapshots, 0700);
  const std::string work = root_ + "/rsnapshot-run";  // its lock file, the account's
  MakeDir(work);
  const std::string config = root_ + "/rsnapshot.conf";
  // rsnapshot's config wants tabs between fields; every other setting is rsnapshot's default
  // (no rsync_short_args / rsync_long_args: its built-in -a and the long list above).
  Put(config,
      "config_version\t1.2\n"
      "snapshot_root\t" +
          snapshots +
          "/\n"
          "no_create_root\t1\n"
          "cmd_cp\t/bin/cp\n"
          "cmd_rm\t/bin/rm\n"
          "cmd_rsync\t/usr/bin/rsync\n"
          "cmd_ssh\t/usr/bin/ssh\n"
          "ssh_args\t-F " +
          sshd_->ConfigPath(account_) +
          "\n"
          "retain\talpha\t2\n"
          "verbose\t2\n"
          "lockfile\t" +
          work +
          "/rsnapshot.pid\n"
          "backup\t" +
          sshd_->Alias() + ":/\tserver/\n");
  CommandResult test = e2e::Run(account_, {"/usr/bin/rsnapshot", "-c", config, "configtest"});
  ASSERT_EQ(test.exit_code, 0) << test.Describe();
  Authorize({"-ro"});

  CommandResult first = e2e::Run(account_, {"/usr/bin/rsnapshot", "-c", config, "alpha"});
  ASSERT_EQ(first.exit_code, 0) << first.Describe();
  // What the server saw: rsnapshot's arguments, accepted as sent (nothing to configure).
  // rsnapshot's client sends `rsync --server --sender -logDtprRe.iLsfxCIvu --numeric-ids . /`
  // (a pull sends no --delete* to the sender): rsync runs with exactly those options, DIR's
  // confinement added and "/" relative to DIR.
  EXPECT_EQ(Normalized(ArgvOf(LastRun())),
            "['/usr/bin/rsync', '--server', '--sender', '-logDtprRe.iLsfxCIvu', '--numeric-ids', "
            "'--confine-root=DIR', '--', '.', '.']")
      << LastRun();
  EXPECT_EQ(DiffTrees(Snapshot(data_, AsRoot()), Snapshot(snapshots + "/alpha.0/server", AsRoot())),
            "")
      << first.Describe();

  // Between the runs: one file changes, one appears, one goes.
  const auto first_tree = Snapshot(data_, AsRoot());
  Put(data_ + "/sub/b.txt", "b, second version\n");
  SetTime(data_ + "/sub/b.txt", 1700000000);
  Put(data_ + "/new.txt", "new\n");
  SetTime(data_ + "/new.txt", 1700000000);
  ASSERT_TRUE(fs::remove(data_ + "/a.txt"));
  SetTime(data_ + "/sub", 1600000000);
  SetTime(data_, 1600000000);

  CommandResult second = e2e::Run(account_, {"/usr/bin/rsnapshot", "-c", config, "alpha"});
  ASSERT_EQ(second.exit_code, 0) << second.Describe();
  EXPECT_EQ(RunLines(ReadFile(log_)).size(), 2u) << ReadFile(log_);
  const std::string alpha0 = snapshots + "/alpha.0/server";
  const std::string alpha1 = snapshots + "/alpha.1/server";
  EXPECT_EQ(DiffTrees(Snapshot(data_, AsRoot()), Snapshot(alpha0, AsRoot())), "");
  EXPECT_EQ(DiffTrees(first_tree, Snapshot(alpha1, AsRoot())), "")
      << "the rotation changed alpha.1";
  EXPECT_FALSE(fs::exists(snapshots + "/alpha.2"));
  // Unchanged: one inode in both snapshots. Changed: two.
  for (const char* same : {"sub/unchanged.txt", "group.txt", "private/key", "run.sh"}) {
    EXPECT_EQ(Inode(alpha0 + "/" + same), Inode(alpha1 + "/" + same)) << same;
    EXPECT_NE(Inode(alpha0 + "/" + same), 0u) << same;
  }
  EXPECT_NE(Inode(alpha0 + "/sub/b.txt"), Inode(alpha1 + "/sub/b.txt"));
  EXPECT_EQ(ReadFile(alpha1 + "/sub/b.txt"), "b\n");
  EXPECT_EQ(ReadFile(alpha0 + "/sub/b.txt"), "b, second version\n");
  EXPECT_FALSE(fs::exists(alpha0 + "/a.txt"));
  EXPECT_EQ(ReadFile(alpha1 + "/a.txt"), "a\n");
}

INSTANTIATE_TEST_SUITE_P(Accounts, Rsnapshot, ::testing::Values(Who::kRoot, Who::kUser), WhoName);

// ---------------------------------------------------------------------------------------------
// BackupPC 4. Its server runs rsync_bpc, which speaks the protocol like the rsync client with
// the same arguments; the test runs the real rsync client with BackupPC's defaults, copied from
// Debian's backuppc 4.4.0-8, /etc/backuppc/config.pl ($Conf{RsyncArgs}, $Conf{RsyncArgsExtra}
// = [], $Conf{RsyncFullArgsExtra} = ['--checksum'], $Conf{RsyncIncrArgsExtra} = []), and the
// share "/" as BackupPC names it. --protect-args is among them: the remote command holds only
// `rsync --server --sender -s...`, the rest comes over stdin.

const std::vector<std::string> kBackupPcRsyncArgs = {
    "--super",           "--recursive",
    "--protect-args",    "--numeric-ids",
    "--perms",           "--owner",
    "--group",           "-D",
    "--times",           "--links",
    "--hard-links",      "--delete",
    "--delete-excluded", "--one-file-system",
    "--partial",         "--log-format=log: %o %i %B %8U,%8G %9l %f%L",
    "--stats",
};
const std::vector<std::string> kBackupPcFullArgsExtra = {"--checksum"};
const std::vector<std::string> kBackupPcIncrArgsExtra = {};

using BackupPc = ClientsTest;

TEST_P(BackupPc, FullThenIncrementalThroughAReadOnlyKey) {
  MakeTree(data_);
  Authorize({"-ro"});
  auto backup = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> args = kBackupPcRsyncArgs;
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(Remote("/"));
    args.push_back(dest_ + "/");
    return RsyncWith("rsync", args);
  };

  CommandResult full = backup(kBackupPcFullArgsExtra);
  ASSERT_EQ(full.exit_code, 0) << full.Describe();
  EXPECT_EQ(full.err, "");
  EXPECT_EQ(DiffTrees(Snapshot(data_, AsRoot()), Snapshot(dest_, AsRoot())), "");
  EXPECT_EQ(Inode(dest_ + "/hard-b"), Inode(dest_ + "/sub/b.txt")) << "hard link not kept";
  // The secluded words reached rrsync: its log shows them, and rsync ran without -s.
  // The client's command line is `rsync --server --sender -slHogDtprcxe.iLsfxCIvu`; the rest
  // came secluded. rsync runs without -s, with the full backup's --checksum (c) in the cluster.
  EXPECT_EQ(Normalized(ArgvOf(LastRun())),
            "['/usr/bin/rsync', '--server', '--sender', '-lHogDtprcxe.iLsfxCIvu', '--numeric-ids', "
            "'--confine-root=DIR', '--', '.', '/proc/self/fd/N/']")
      << LastRun();
  // $Conf{RsyncArgs}' --log-format, on the client's side (BackupPC parses these lines).
  bool logged_a = false;
  for (const std::string& line : Lines(full.out))
    if (line.rfind("log: recv >f+++++++++ ", 0) == 0 && line.ends_with(" a.txt")) logged_a = true;
  EXPECT_TRUE(logged_a) << full.out;

  Put(data_ + "/sub/unchanged.txt", "changed after all\n");
  SetTime(data_ + "/sub/unchanged.txt", 1700000000);
  CommandResult incremental = backup(kBackupPcIncrArgsExtra);
  ASSERT_EQ(incremental.exit_code, 0) << incremental.Describe();
  EXPECT_EQ(incremental.err, "");
  EXPECT_TRUE(HasLine(incremental.out, "Number of regular files transferred: 1"))
      << incremental.out;
  std::vector<std::string> sent;
  for (const std::string& line : Lines(incremental.out))
    if (line.rfind("log: recv >f", 0) == 0 || line.rfind("log: send >f", 0) == 0)
      sent.push_back(line);
  ASSERT_EQ(sent.size(), 1u) << incremental.out;
  EXPECT_NE(sent[0].find(" sub/unchanged.txt"), std::string::npos) << sent[0];
  EXPECT_EQ(DiffTrees(Snapshot(data_, AsRoot()), Snapshot(dest_, AsRoot())), "");
  EXPECT_EQ(Normalized(ArgvOf(LastRun())),
            "['/usr/bin/rsync', '--server', '--sender', '-lHogDtprxe.iLsfxCIvu', '--numeric-ids', "
            "'--confine-root=DIR', '--', '.', '/proc/self/fd/N/']")
      << LastRun();
}

INSTANTIATE_TEST_SUITE_P(Accounts, BackupPc, ::testing::Values(Who::kRoot, Who::kUser), WhoName);

// ---------------------------------------------------------------------------------------------
// Two behaviours rsync 3.5.0's own rrsync suite checks (testsuite/rrsync-alt-dest-inband-pivot,
// rrsync-backup-dir-inband-pivot), tested here our own way: one push plants a symlink at the
// name an option path gives, and must not get rsync to read or write through it out of DIR.
// With the default sandbox Landlock would stop the out-of-tree access anyway; -sandbox=off
// shows that rrsync's pins alone hold (the option's directory is pinned before rsync runs).

class OptionPathPivot : public ClientsTest {
 protected:
  void SetUp() override {
    ClientsTest::SetUp();
    if (HasFatalFailure()) return;
    outside_ = srv_ + "/outside";
    MakeDir(outside_);
    Put(outside_ + "/secret.txt", "SECRET\n");
    SetTime(outside_ + "/secret.txt", 1600000000);
    SetTime(outside_, 1600000000);
  }
  std::string outside_;
};

TEST_P(OptionPathPivot, AMissingCopyDestPlantedAsASymlinkIsNotReadThrough) {
  for (const char* sandbox : {"-sandbox=off", "-sandbox=auto"}) {
    SCOPED_TRACE(sandbox);
    fs::remove_all(data_);
    MakeDir(data_);
    fs::remove_all(src_);
    MakeDir(src_);
    // "basis" sorts before "secret.txt": rsync creates the link, then looks for the basis file.
    ASSERT_EQ(symlink("../outside", (src_ + "/basis").c_str()), 0);
    ASSERT_EQ(lchown((src_ + "/basis").c_str(), account_.uid, account_.gid), 0);
    Put(src_ + "/secret.txt", "client\n");  // same size and time as the outside file
    SetTime(src_ + "/secret.txt", 1600000000);
    const auto before = Snapshot(outside_);
    Authorize({sandbox});
    CommandResult push =
        sshd_->Rsync(account_, {"-a", "--copy-dest=/basis", src_ + "/", Remote("/")});
    EXPECT_EQ(push.exit_code, 0) << push.Describe();
    EXPECT_EQ(ReadFile(data_ + "/secret.txt"), "client\n")
        << "the basis lookup read through the planted link";
    EXPECT_EQ(DiffTrees(before, Snapshot(outside_)), "");
  }
}

TEST_P(OptionPathPivot, ABackupDirPlantedAsASymlinkIsNotWrittenThrough) {
  for (const char* sandbox : {"-sandbox=off", "-sandbox=auto"}) {
    SCOPED_TRACE(sandbox);
    fs::remove_all(data_);
    MakeDir(data_);
    fs::remove_all(src_);
    MakeDir(src_);
    Put(data_ + "/file.txt", "old\n");
    // Control: without the link, the old version is backed up into DIR/bk.
    Put(src_ + "/file.txt", "first\n");
    Authorize({sandbox});
    CommandResult control =
        sshd_->Rsync(account_, {"-a", "-b", "--backup-dir=/bk", src_ + "/", Remote("/")});
    ASSERT_EQ(control.exit_code, 0) << control.Describe();
    EXPECT_EQ(ReadFile(data_ + "/bk/file.txt"), "old\n");
    fs::remove_all(data_ + "/bk");
    // "bk" sorts before "file.txt": the link exists when file.txt's old version is backed up.
    ASSERT_EQ(symlink("../outside", (src_ + "/bk").c_str()), 0);
    ASSERT_EQ(lchown((src_ + "/bk").c_str(), account_.uid, account_.gid), 0);
    Put(src_ + "/file.txt", "new version\n");
    const auto before = Snapshot(outside_);
    Authorize({sandbox});
    CommandResult push =
        sshd_->Rsync(account_, {"-a", "-b", "--backup-dir=/bk", src_ + "/", Remote("/")});
    // rsync 3.5.0 then stops with exit 11 and leaves the file as it was; never does a backup
    // leave DIR. Where it stops depends on how its receiver's steps interleave: at the backup
    // ("keep_backup failed: ... Too many levels of symbolic links") or, seen on a CI machine, at
    // the open of the new file through its pinned directory ("open \"/proc/self/fd/N/file.txt\":
    // Too many levels of symbolic links"). Both are the planted link refused (ELOOP). Now and
    // then the receiver's message is lost on the way (seen here: exit 11, empty stderr), so the
    // text is checked when there is one; the exit code and the trees are checked always.
    if (push.exit_code != 0) {
      EXPECT_EQ(push.exit_code, 11) << push.Describe();
      if (!push.err.empty()) {
        EXPECT_NE(push.err.find("Too many levels of symbolic links"), std::string::npos)
            << push.Describe();
      }
      EXPECT_EQ(ReadFile(data_ + "/file.txt"), "first\n");
    } else {
      EXPECT_EQ(ReadFile(data_ + "/file.txt"), "new version\n");
    }
    EXPECT_EQ(DiffTrees(before, Snapshot(outside_)), "")
        << "the backup went through the planted link\n"
        << push.Describe();
    EXPECT_FALSE(fs::exists(outside_ + "/file.txt"));
  }
}

INSTANTIATE_TEST_SUITE_P(Accounts, OptionPathPivot, ::testing::Values(Who::kRoot, Who::kUser),
                         WhoName);

// rsync 3.5.0's rrsync-specials-denied, our own way: `rsync -a` (which holds -D) pushes a FIFO
// and a socket-free tree into a DIR below "/"; the regular files arrive, the FIFO does not
// (rrsync adds --drop-D), with the sandbox and without it (then --drop-D alone stands).
TEST_P(OptionPathPivot, APushMakesNoSpecialFileBelowRoot) {
  for (const char* sandbox : {"-sandbox=off", "-sandbox=auto"}) {
    SCOPED_TRACE(sandbox);
    fs::remove_all(data_);
    MakeDir(data_);
    fs::remove_all(src_);
    MakeDir(src_);
    Put(src_ + "/plain.txt", "plain\n");
    ASSERT_EQ(mkfifo((src_ + "/fifo").c_str(), 0644), 0);
    ASSERT_EQ(lchown((src_ + "/fifo").c_str(), account_.uid, account_.gid), 0);
    Authorize({sandbox});
    CommandResult push = sshd_->Rsync(account_, {"-a", src_ + "/", Remote("/")});
    EXPECT_EQ(push.exit_code, 0) << push.Describe();
    EXPECT_EQ(ReadFile(data_ + "/plain.txt"), "plain\n");
    EXPECT_FALSE(fs::exists(fs::symlink_status(data_ + "/fifo"))) << "a FIFO was made in DIR";
    EXPECT_NE(ArgvOf(LastRun()).find("'--drop-D'"), std::string::npos) << LastRun();
  }
}
}  // namespace
}  // namespace rrsync::e2e
