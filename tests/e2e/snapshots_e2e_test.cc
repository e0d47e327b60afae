// Snapshot mode (-snapshots, issue 13) the way an admin runs it: the forced command of a real
// sshd on 127.0.0.1, driven by the real rsync client. Each test checks the snapshots on disk
// (names, `latest`, shared inodes, the earlier snapshots' every inode, content, mode and mtime),
// rsync's --stats and rrsync's exact messages and log lines.
#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "sshd_harness.h"

namespace rrsync::e2e {
namespace {

namespace fs = std::filesystem;

bool HasLine(const std::string& text, const std::string& line) {
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
    if (l == line) return true;
  }
  return false;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every entry under `root`, keyed by relative path: type, inode, mode, owner, size, mtime (ns)
// and content or link target. Equal maps: the same inodes holding the same things.
std::map<std::string, std::string> TreeState(const std::string& root, bool inodes = true) {
  std::map<std::string, std::string> tree;
  std::function<void(const std::string&)> walk = [&](const std::string& rel) {
    const std::string path = rel == "." ? root : root + "/" + rel;
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) {
      tree[rel] = "unreadable";
      return;
    }
    std::ostringstream d;
    if (inodes) d << "ino " << st.st_ino << " ";
    d << std::oct << (st.st_mode & 07777) << std::dec << " " << st.st_uid << ":" << st.st_gid;
    if (S_ISREG(st.st_mode)) {
      d << " file " << st.st_size << " mtime " << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec
        << " " << std::hash<std::string>()(ReadFile(path));
    } else if (S_ISLNK(st.st_mode)) {
      d << " link -> " << fs::read_symlink(path).string();
    } else if (S_ISDIR(st.st_mode)) {
      d << " dir mtime " << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec;
    } else {
      d << " special " << major(st.st_rdev) << ":" << minor(st.st_rdev);
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

ino_t Inode(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

std::string RandomBytes(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(gen());
  return s;
}

// "Literal data: 1,234 bytes" from rsync --stats, as a number; -1 if absent.
long LiteralData(const std::string& out) {
  const std::string key = "Literal data: ";
  size_t at = out.find(key);
  if (at == std::string::npos) return -1;
  std::string digits;
  for (size_t i = at + key.size(); i < out.size() && (isdigit(out[i]) || out[i] == ','); ++i)
    if (out[i] != ',') digits += out[i];
  return digits.empty() ? -1 : std::stol(digits);
}

bool IsSnapshotName(const std::string& name) {
  return name.size() == 18 && name[4] == '-' && name[10] == 'T' && name[17] == 'Z';
}

// The snapshot mode fixture: one sshd, DIR = srv/data (the account's), a log file beside it.
class SnapshotE2e : public ::testing::Test {
 protected:
  void SetUpFor(bool as_root) {
    std::string err;
    sshd_ = SshdHarness::Start({}, &err);
    ASSERT_TRUE(sshd_) << err;
    if (as_root) {
      account_ = RootAccount();
    } else {
      ASSERT_TRUE(EnsureTestAccount(&account_, &err)) << err;
    }
    ASSERT_TRUE(sshd_->AddClient(account_, &err)) << err;
    rrsync_ = sshd_->InstallExecutable(RRSYNC_UNDER_TEST, &err);
    ASSERT_FALSE(rrsync_.empty()) << err;
    root_ = sshd_->dir();
    srv_ = root_ + "/srv";
    data_ = srv_ + "/data";
    src_ = root_ + "/src";
    dest_ = root_ + "/dest";
    log_ = srv_ + "/rrsync.log";
    for (const std::string& d : {srv_, data_, src_, dest_}) MakeDir(d);
    Put(log_, "");
    Put(srv_ + "/outside", "outside DIR\n");
  }
  void SetUp() override { SetUpFor(true); }

  void MakeDir(const std::string& path, mode_t mode = 0755) {
    ASSERT_TRUE(fs::create_directories(path) || fs::is_directory(path)) << path;
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

  void Authorize(std::vector<std::string> flags) {
    flags.insert(flags.begin(), "-log=" + log_);
    std::string err;
    ASSERT_TRUE(sshd_->AuthorizeRrsync(account_, rrsync_, flags, data_, &err)) << err;
  }
  std::string Remote(const std::string& path) const { return sshd_->Alias() + ":" + path; }
  CommandResult Rsync(const std::vector<std::string>& args, const RunOptions& options = {}) {
    return sshd_->Rsync(account_, args, options);
  }
  std::vector<std::string> RsyncArgv(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {"rsync", "-e", "ssh -F " + sshd_->ConfigPath(account_)};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  // The snapshot names in DIR, oldest first.
  std::vector<std::string> Snapshots() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(data_)) {
      const std::string name = entry.path().filename().string();
      if (IsSnapshotName(name)) names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    return names;
  }
  std::vector<std::string> Incoming() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(data_)) {
      const std::string name = entry.path().filename().string();
      if (name.starts_with(".rrsync-incoming-")) names.push_back(name);
    }
    return names;
  }
  std::string Latest() const {
    std::error_code ec;
    return fs::read_symlink(data_ + "/latest", ec).string();
  }

  // Dates src's directories back to a fixed time of their own (one more second each push).
  // rsync 3.5.0 itself, a plain local `rsync -a` too, leaves a directory at the time of the
  // transfer when the source directory changed in the same second as the transfer began
  // (measured: 6 of 6 local copies; none once the source was a second old). A test whose pushes
  // follow its edits within milliseconds would see that upstream behaviour, not rrsync's.
  void SettleSourceDirs() {
    static long second = 1700000000;
    const struct timespec times[2] = {{++second, 250000000}, {second, 250000000}};
    ASSERT_EQ(utimensat(AT_FDCWD, src_.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << src_;
    for (const auto& entry : fs::recursive_directory_iterator(src_)) {
      if (!entry.is_directory() || entry.is_symlink()) continue;
      const std::string path = entry.path().string();
      ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << path;
    }
  }

  // A push of src/ that must succeed and make one more snapshot; returns rsync's output.
  std::string PushMakesSnapshot(const std::vector<std::string>& extra = {}) {
    SettleSourceDirs();
    const size_t before = Snapshots().size();
    std::vector<std::string> args = {"-a", "--delete", "--stats"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(src_ + "/");
    args.push_back(Remote("/"));
    CommandResult r = Rsync(args);
    EXPECT_EQ(r.exit_code, 0) << r.Describe() << ReadFile(log_);
    EXPECT_EQ(Snapshots().size(), before + 1) << r.Describe();
    EXPECT_EQ(Latest(), Snapshots().empty() ? "" : Snapshots().back());
    EXPECT_TRUE(Incoming().empty());
    return r.out;
  }

  void ExpectRefused(const CommandResult& r, const std::string& message) {
    EXPECT_EQ(r.exit_code, 12) << r.Describe();
    EXPECT_TRUE(HasLine(r.err, "rrsync error: " + message))
        << "want: rrsync error: " << message << "\n"
        << r.Describe();
  }

  std::unique_ptr<SshdHarness> sshd_;
  Account account_;
  std::string rrsync_, root_, srv_, data_, src_, dest_, log_;
};

// ---------------------------------------------------------------------------------------------
// The overlay level, as root.

TEST_F(SnapshotE2e, ThreePushesMakeThreeSnapshotsSharingTheUnchangedFiles) {
  Authorize({"-snapshots"});
  MakeDir(src_ + "/sub");
  Put(src_ + "/big", RandomBytes(512 * 1024, 1));
  Put(src_ + "/changes", "version 1\n");
  Put(src_ + "/sub/deep", "deep\n", 0600);
  ASSERT_EQ(symlink("big", (src_ + "/link").c_str()), 0);
  PushMakesSnapshot();
  ASSERT_EQ(Snapshots().size(), 1u);
  const std::string first = data_ + "/" + Snapshots()[0];
  EXPECT_EQ(DiffTrees(TreeState(src_, false), TreeState(first, false)), "");
  const auto first_state = TreeState(first);

  Put(src_ + "/changes", "version 2, longer\n");
  std::string out = PushMakesSnapshot();
  // Only the changed file travels: rsync saw the whole previous tree.
  EXPECT_LT(LiteralData(out), 1024) << out;
  EXPECT_GE(LiteralData(out), 0) << out;
  Put(src_ + "/new", "new in the third\n");
  out = PushMakesSnapshot();
  EXPECT_LT(LiteralData(out), 1024) << out;

  std::vector<std::string> names = Snapshots();
  ASSERT_EQ(names.size(), 3u);
  const std::string second = data_ + "/" + names[1], third = data_ + "/" + names[2];
  EXPECT_EQ(Latest(), names[2]);
  // Unchanged files are one inode in all three; the changed one is not.
  EXPECT_EQ(Inode(first + "/big"), Inode(second + "/big"));
  EXPECT_EQ(Inode(first + "/big"), Inode(third + "/big"));
  EXPECT_EQ(Inode(first + "/sub/deep"), Inode(third + "/sub/deep"));
  EXPECT_EQ(Inode(first + "/link"), Inode(third + "/link"));
  EXPECT_NE(Inode(first + "/changes"), Inode(second + "/changes"));
  EXPECT_EQ(Inode(second + "/changes"), Inode(third + "/changes"));
  EXPECT_EQ(ReadFile(first + "/changes"), "version 1\n");
  EXPECT_EQ(ReadFile(third + "/changes"), "version 2, longer\n");
  EXPECT_FALSE(fs::exists(second + "/new"));
  // Each snapshot is the source as it was, with its directories' times and modes.
  EXPECT_EQ(DiffTrees(TreeState(src_, false), TreeState(third, false)), "");
  // The first one's inodes, modes and times did not move (its link count did).
  auto now_first = TreeState(first);
  EXPECT_EQ(now_first.size(), first_state.size());
  EXPECT_EQ(DiffTrees(first_state, now_first), "");
  // No overlayfs bookkeeping is left on what became the snapshot.
  char list[256];
  EXPECT_LE(llistxattr(third.c_str(), list, sizeof list), 0);
  EXPECT_LE(llistxattr((third + "/changes").c_str(), list, sizeof list), 0);
  // The log names the level and the snapshot made.
  const std::string log = ReadFile(log_);
  EXPECT_NE(log.find("snapshots=overlay snapshot=" + names[2]), std::string::npos) << log;
  EXPECT_NE(log.find("snapshot made " + names[2] + " snapshots=overlay"), std::string::npos) << log;
}

// -H: a tree holding hard links, pushed twice (the second time with a changed file and one
// more link to the group): each snapshot keeps the links (one inode within it), and the
// earlier snapshot is unchanged.
TEST_F(SnapshotE2e, HardLinksStayLinkedInEachSnapshot) {
  Authorize({"-snapshots"});
  MakeDir(src_ + "/sub");
  Put(src_ + "/a", "linked\n");
  ASSERT_EQ(link((src_ + "/a").c_str(), (src_ + "/sub/b").c_str()), 0);
  Put(src_ + "/c", "version 1\n");
  PushMakesSnapshot({"-H"});
  ASSERT_EQ(Snapshots().size(), 1u);
  const std::string first = data_ + "/" + Snapshots()[0];
  EXPECT_EQ(Inode(first + "/a"), Inode(first + "/sub/b"));
  EXPECT_NE(Inode(first + "/a"), Inode(first + "/c"));
  const auto first_state = TreeState(first);

  Put(src_ + "/c", "version 2, longer\n");
  ASSERT_EQ(link((src_ + "/a").c_str(), (src_ + "/sub/e").c_str()), 0);
  PushMakesSnapshot({"-H"});
  ASSERT_EQ(Snapshots().size(), 2u);
  const std::string second = data_ + "/" + Snapshots()[1];
  EXPECT_EQ(Inode(second + "/a"), Inode(second + "/sub/b"));
  EXPECT_EQ(Inode(second + "/a"), Inode(second + "/sub/e"));
  struct stat st;
  ASSERT_EQ(stat((second + "/a").c_str(), &st), 0);
  EXPECT_GE(st.st_nlink, 3u);
  EXPECT_EQ(ReadFile(second + "/c"), "version 2, longer\n");
  EXPECT_EQ(ReadFile(second + "/sub/e"), "linked\n");
  // The first snapshot: the same inodes, contents, modes and times, and no sub/e.
  EXPECT_EQ(DiffTrees(first_state, TreeState(first)), "");
  EXPECT_FALSE(fs::exists(first + "/sub/e"));
  EXPECT_EQ(ReadFile(first + "/c"), "version 1\n");
}

TEST_F(SnapshotE2e, EmptyPushWithDeleteMakesAnEmptySnapshotAndKeepsTheEarlierOnes) {
  Authorize({"-snapshots"});
  MakeDir(src_ + "/d");
  Put(src_ + "/d/f", "f\n");
  Put(src_ + "/g", "g\n");
  PushMakesSnapshot();
  const std::string first = data_ + "/" + Snapshots()[0];
  const auto state = TreeState(first);
  fs::remove_all(src_ + "/d");
  fs::remove(src_ + "/g");
  PushMakesSnapshot();
  const std::string second = data_ + "/" + Snapshots()[1];
  EXPECT_TRUE(fs::is_empty(second));
  EXPECT_EQ(DiffTrees(state, TreeState(first)), "");
  // Deleted in the second, back in a third: the earlier snapshot's inode is not reused.
  Put(src_ + "/g", "g again\n");
  PushMakesSnapshot();
  EXPECT_EQ(ReadFile(data_ + "/" + Snapshots()[2] + "/g"), "g again\n");
  EXPECT_EQ(DiffTrees(state, TreeState(first)), "");
}

// Every way through the allow-list towards an earlier snapshot or `latest`: refused, or
// confined to the new snapshot. After each, the earlier snapshot and the link are unchanged.
TEST_F(SnapshotE2e, NothingThroughTheAllowListChangesAnEarlierSnapshot) {
  Authorize({"-snapshots"});
  MakeDir(src_ + "/dir");
  Put(src_ + "/file", "original content\n");
  Put(src_ + "/dir/inner", "inner\n");
  PushMakesSnapshot();
  const std::string first_name = Snapshots()[0];
  const std::string first = data_ + "/" + first_name;
  const auto state = TreeState(first);
  const auto outside = TreeState(srv_ + "/outside");

  struct Attempt {
    std::vector<std::string> args;
    std::string refusal;  // "" when the push is accepted (and must land in the new snapshot)
  };
  // What the client changes before each accepted attempt, so that rsync has something to write.
  // Its size changes each time: two attempts in one second would otherwise pass rsync's quick
  // check (same size, same mtime) and send nothing.
  auto changed = [](int i) {
    return "changed " + std::to_string(i) + " with more text" + std::string(i, '+') + "\n";
  };
  auto touch_source = [&](int i) {
    Put(src_ + "/file", changed(i));
    Put(src_ + "/dir/inner", "inner " + std::to_string(i) + "\n", 0600);
  };
  const std::vector<Attempt> attempts = {
      {{"-a", "--inplace"}, ""},
      {{"-a", "--append"}, ""},
      {{"-a", "--inplace", "--no-whole-file", "-I"}, ""},
      {{"-a", "--delete"}, ""},
      {{"-a", "--delete-before", "--delete-excluded", "--exclude=file"}, ""},
      {{"-a", "--chmod=a+rwx"}, ""},
      {{"-a", "--chown=1:1"}, ""},
      {{"-a", "-X", "--fake-super"}, ""},
      {{"-a", "-c"}, ""},
      {{"-a", "-b", "--backup-dir=/bak"}, ""},
      {{"-a", "--partial-dir=/p", "--temp-dir=/"}, ""},
      {{"-a", "--link-dest=/"}, ""},
      {{"-a", "--compare-dest=/dir"}, ""},
      {{"-a", "--copy-dest=/"}, ""},
      {{"-a", "--backup-dir=../x", "-b"},
       "do not use .. in --backup-dir (anchor the path at the root of your restricted dir)"},
      {{"-a", "--link-dest=.."},
       "do not use .. in --link-dest (anchor the path at the root of your restricted dir)"},
      {{"-a", "--copy-dest=../" + first_name},
       "do not use .. in --copy-dest (anchor the path at the root of your restricted dir)"},
      {{"-a", "-M--remove-source-files"},
       "option --remove-source-files has been disabled on this server."},
      {{"-a", "-M--log-file=/log"}, "option --log-file has been disabled on this server."},
  };
  int i = 0;
  for (const Attempt& attempt : attempts) {
    SCOPED_TRACE(attempt.args.back());
    touch_source(++i);
    std::vector<std::string> args = attempt.args;
    args.push_back(src_ + "/");
    args.push_back(Remote("/"));
    const size_t before = Snapshots().size();
    CommandResult r = Rsync(args);
    if (attempt.refusal.empty()) {
      EXPECT_EQ(r.exit_code, 0) << r.Describe();
      EXPECT_EQ(Snapshots().size(), before + 1);
      EXPECT_EQ(Latest(), Snapshots().back());
      // The client's data is in the new snapshot.
      if (attempt.args[1] != "--append" && attempt.args.back() != "--exclude=file") {
        EXPECT_EQ(ReadFile(data_ + "/" + Latest() + "/file"), changed(i));
      }
    } else {
      ExpectRefused(r, attempt.refusal);
      EXPECT_EQ(Snapshots().size(), before);
    }
    EXPECT_EQ(DiffTrees(state, TreeState(first)), "") << r.Describe();
    EXPECT_EQ(DiffTrees(outside, TreeState(srv_ + "/outside")), "");
    EXPECT_TRUE(Incoming().empty());
  }

  // Paths that name latest or a snapshot land inside the new snapshot, under those names.
  for (const std::string& target : {std::string("/latest/file"), "/" + first_name + "/file",
                                    std::string("/latest/"), "/" + first_name + "/dir/"}) {
    SCOPED_TRACE(target);
    touch_source(++i);
    const size_t before = Snapshots().size();
    CommandResult r = Rsync({"-a", "--inplace", "--mkpath", src_ + "/file", Remote(target)});
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    EXPECT_EQ(Snapshots().size(), before + 1);
    EXPECT_EQ(DiffTrees(state, TreeState(first)), "") << r.Describe();
    const std::string landed =
        data_ + "/" + Latest() + target + (target.ends_with("/") ? "file" : "");
    EXPECT_EQ(ReadFile(landed), changed(i)) << landed;
  }
  // `latest` itself is a link rrsync moves; a name with ".." never gets through.
  CommandResult r = Rsync({"-a", src_ + "/file", Remote("/../outside")});
  ExpectRefused(r, "do not use .. in arg (anchor the path at the root of your restricted dir)");
  r = Rsync({"-a", src_ + "/file", Remote("/latest/../../outside")});
  ExpectRefused(r, "do not use .. in arg (anchor the path at the root of your restricted dir)");
  EXPECT_EQ(DiffTrees(state, TreeState(first)), "");
  EXPECT_EQ(DiffTrees(outside, TreeState(srv_ + "/outside")), "");
  EXPECT_TRUE(fs::is_symlink(data_ + "/latest"));
}

TEST_F(SnapshotE2e, KilledPushLeavesNoSnapshotAndTheNextPushCleansUp) {
  Authorize({"-snapshots"});
  Put(src_ + "/small", "small\n");
  PushMakesSnapshot();
  const std::string latest = Latest();
  const auto state = TreeState(data_ + "/" + latest);
  // A slow big file: the client is killed while the server writes it.
  Put(src_ + "/big", RandomBytes(8 << 20, 7));
  std::string err;
  RunOptions options;
  auto push = BackgroundProcess::Start(
      account_, RsyncArgv({"-a", "--bwlimit=256", src_ + "/", Remote("/")}), options, &err);
  ASSERT_TRUE(push) << err;
  // Wait until the incoming tree holds part of the big file (rsync's temp file).
  bool writing = false;
  for (int i = 0; i < 200 && !writing; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    for (const std::string& name : Incoming()) {
      std::error_code ec;
      for (auto it = fs::recursive_directory_iterator(data_ + "/" + name, ec);
           it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_regular_file(ec) && it->file_size(ec) > 0 &&
            it->path().filename().string().find("big") != std::string::npos)
          writing = true;
      }
    }
  }
  ASSERT_TRUE(writing) << ReadFile(log_);
  CommandResult killed = push->Stop();
  EXPECT_NE(killed.exit_code, 0);
  // rrsync sees rsync fail, removes the incoming tree and leaves latest alone.
  for (int i = 0; i < 200 && !Incoming().empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(Incoming().empty());
  EXPECT_EQ(Snapshots().size(), 1u);
  EXPECT_EQ(Latest(), latest);
  EXPECT_EQ(DiffTrees(state, TreeState(data_ + "/" + latest)), "");
  // A push whose rrsync was killed too leaves its incoming tree: the next push removes it,
  // following none of its links (one points outside DIR) and says so in the log.
  const std::string left = data_ + "/.rrsync-incoming-2020-01-01T000000Z";
  MakeDir(left + "/tree/sub", 0500);
  Put(left + "/tree/f", "left\n");
  ASSERT_EQ(symlink(srv_.c_str(), (left + "/tree/out").c_str()), 0);
  ASSERT_EQ(chmod((left + "/tree").c_str(), 0500), 0);
  fs::remove(src_ + "/big");
  PushMakesSnapshot();
  EXPECT_FALSE(fs::exists(left));
  EXPECT_EQ(ReadFile(srv_ + "/outside"), "outside DIR\n");
  EXPECT_TRUE(fs::exists(log_));
  EXPECT_NE(ReadFile(log_).find("removed-leftover=.rrsync-incoming-2020-01-01T000000Z"),
            std::string::npos);
  EXPECT_NE(ReadFile(log_).find("snapshot not made (rsync exited with status"), std::string::npos)
      << ReadFile(log_);
}

TEST_F(SnapshotE2e, PullDuringAPushSeesOnlyCompleteSnapshots) {
  Authorize({"-snapshots"});
  Put(src_ + "/small", "small\n");
  PushMakesSnapshot();
  const std::string first = Latest();
  Put(src_ + "/big", RandomBytes(4 << 20, 9));
  std::string err;
  auto push = BackgroundProcess::Start(
      account_, RsyncArgv({"-a", "--bwlimit=512", src_ + "/", Remote("/")}), {}, &err);
  ASSERT_TRUE(push) << err;
  for (int i = 0; i < 200 && Incoming().empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_FALSE(Incoming().empty());
  const std::string in_progress = Incoming().front();
  // The same key pulls everything while the push runs: no lock for a pull, and no incoming tree.
  CommandResult pull = Rsync({"-a", Remote("/"), dest_ + "/"});
  EXPECT_EQ(pull.exit_code, 0) << pull.Describe();
  std::set<std::string> got;
  for (const auto& entry : fs::directory_iterator(dest_)) got.insert(entry.path().filename());
  EXPECT_EQ(got, (std::set<std::string>{first, "latest"}));
  EXPECT_EQ(ReadFile(dest_ + "/latest/small"), "small\n");
  // Naming the push in progress is refused.
  CommandResult named = Rsync({"-a", Remote("/" + in_progress + "/"), dest_ + "/x/"});
  ExpectRefused(named, "unsafe arg: /" + in_progress + "/ (a snapshot push in progress)");
  ASSERT_TRUE(push->WaitFor(60000));
  EXPECT_EQ(push->Stop().exit_code, 0);
  EXPECT_EQ(Snapshots().size(), 2u);
}

TEST_F(SnapshotE2e, ReadOnlySnapshotKeyRestores) {
  Authorize({"-snapshots"});
  MakeDir(src_ + "/docs");
  Put(src_ + "/docs/report", "first\n");
  PushMakesSnapshot();
  const std::string first = Latest();
  Put(src_ + "/docs/report", "second\n");
  PushMakesSnapshot();
  Authorize({"-ro", "-snapshots"});
  // The newest, an older one by name, and the list.
  CommandResult r = Rsync({"-a", Remote("/latest/"), dest_ + "/now/"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(ReadFile(dest_ + "/now/docs/report"), "second\n");
  r = Rsync({"-a", Remote("/" + first + "/docs/report"), dest_ + "/old"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(ReadFile(dest_ + "/old"), "first\n");
  r = Rsync({Remote("/")});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_NE(r.out.find(first), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" latest\n"), std::string::npos) << r.out;
  const auto state = TreeState(data_);
  r = Rsync({"-a", src_ + "/", Remote("/")});
  ExpectRefused(r, "sending to read-only server is not allowed");
  r = Rsync({"-a", "--remove-source-files", Remote("/latest/docs/"), dest_ + "/rm/"});
  ExpectRefused(r, "option --remove-source-files has been disabled on this server.");
  EXPECT_EQ(DiffTrees(state, TreeState(data_)), "");
}

TEST_F(SnapshotE2e, RequiredSandboxRunsTheOverlayLevel) {
  Authorize({"-snapshots", "-sandbox=require"});
  Put(src_ + "/f", "f\n");
  PushMakesSnapshot();
  const std::string log = ReadFile(log_);
  EXPECT_NE(log.find(" overlay rw + "), std::string::npos) << log;
  EXPECT_NE(log.find("snapshot made " + Latest() + " snapshots=overlay"), std::string::npos) << log;
}

TEST_F(SnapshotE2e, RefusesWhatSnapshotModeCannotKeep) {
  // Snapshot mode needs the lock and names no absolute paths; -sandbox=require needs the overlay.
  Authorize({"-snapshots", "-no-lock"});
  CommandResult r = Rsync({"-a", src_ + "/", Remote("/")});
  ExpectRefused(r, "argument -snapshots: not allowed with argument -no-lock");
  Authorize({"-snapshots", "-absolute"});
  r = Rsync({"-a", src_ + "/", Remote("/")});
  ExpectRefused(r, "argument -snapshots: not allowed with argument -absolute");
  Authorize({"-snapshots", "-sandbox=off"});
  Put(src_ + "/f", "f\n");
  r = Rsync({"-a", src_ + "/", Remote("/")});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_NE(ReadFile(log_).find("snapshots=link-dest snapshot="), std::string::npos);
  EXPECT_NE(ReadFile(log_).find("snapshots-why=-sandbox=off"), std::string::npos);
  // A latest that is not rrsync's link: refused, nothing made.
  fs::remove(data_ + "/latest");
  ASSERT_EQ(symlink("../outside", (data_ + "/latest").c_str()), 0);
  Authorize({"-snapshots"});
  r = Rsync({"-a", src_ + "/", Remote("/")});
  ExpectRefused(
      r, "snapshot mode: latest does not point to a snapshot directory of the restricted dir");
  EXPECT_TRUE(Incoming().empty());
}

// ---------------------------------------------------------------------------------------------
// The link-dest level: an ordinary account has no mount view.

class SnapshotE2eUser : public SnapshotE2e {
 protected:
  void SetUp() override { SetUpFor(false); }
};

TEST_F(SnapshotE2eUser, LinkDestLevelSharesUnchangedFilesAndRefusesInPlaceWrites) {
  Authorize({"-snapshots"});
  Put(src_ + "/big", RandomBytes(256 * 1024, 3));
  Put(src_ + "/changes", "one\n");
  PushMakesSnapshot();
  const std::string first = data_ + "/" + Snapshots()[0];
  const auto state = TreeState(first);
  Put(src_ + "/changes", "two, longer\n");
  std::string out = PushMakesSnapshot();
  EXPECT_LT(LiteralData(out), 1024) << out;
  const std::string second = data_ + "/" + Snapshots()[1];
  EXPECT_EQ(Inode(first + "/big"), Inode(second + "/big"));
  EXPECT_NE(Inode(first + "/changes"), Inode(second + "/changes"));
  EXPECT_EQ(ReadFile(second + "/changes"), "two, longer\n");
  EXPECT_NE(ReadFile(log_).find("snapshots=link-dest snapshot=" + Snapshots()[1]),
            std::string::npos)
      << ReadFile(log_);
  // What could write through a shared inode is refused at this level.
  Put(src_ + "/changes", "three\n");
  CommandResult r = Rsync({"-a", "--inplace", src_ + "/", Remote("/")});
  ExpectRefused(r, "option --inplace has been disabled on this server.");
  r = Rsync({"-a", "--append", src_ + "/", Remote("/")});
  ExpectRefused(r, "option --append has been disabled on this server.");
  EXPECT_EQ(DiffTrees(state, TreeState(first)), "");
  EXPECT_TRUE(Incoming().empty());
  // -sandbox=require wants the overlay level, which an ordinary account cannot have.
  Authorize({"-snapshots", "-sandbox=require"});
  r = Rsync({"-a", src_ + "/", Remote("/")});
  ExpectRefused(r,
                "snapshot mode's overlay level is unavailable (no mount view: not root (the "
                "account's own permissions apply)) and -sandbox=require is set");
}

}  // namespace
}  // namespace rrsync::e2e
