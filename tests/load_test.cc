// Load: many rrsync sessions at once through a real sshd on 127.0.0.1, and the single-run lock
// under real contention.
//
// Every session is the real rsync (or ssh) client talking to the real sshd, which runs the built
// rrsync as the forced command of a `restrict,command="..."` key, which runs the real rsync
// server. Each client key is an extra key passed with `ssh -i`, so one account can hold many keys
// with different forced commands (one per push directory, one read-only, ...).
//
// No assertion here is about speed: every wait has a generous deadline that only catches a hang.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "sshd_harness.h"

namespace rrsync::e2e {
namespace {

namespace fs = std::filesystem;

constexpr char kLockMessage[] =
    "rrsync error: Another instance of rrsync is already accessing this directory.";
// Deadline for a whole wave of sessions: only a hang comes near it. (Root's ~/.bashrc on the
// test machines runs `pyenv init`, whose rehash lock serialized 50 concurrent logins into
// waves of 95 s; the harness's sshd now sets SHLVL=1 so that bash skips it, see
// sshd_harness.cc, but a slow login shell is still the shell's time, not rrsync's.)
constexpr auto kWaveDeadline = std::chrono::seconds(300);

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteWholeFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  ASSERT_TRUE(out.good()) << "write " << path;
}

// Relative path -> content ("<dir>" for a directory) of every entry below `root`.
std::map<std::string, std::string> Snapshot(const std::string& root) {
  std::map<std::string, std::string> tree;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string rel = fs::relative(it->path(), root).string();
    tree[rel] = it->is_directory() ? "<dir>" : ReadWholeFile(it->path().string());
  }
  return tree;
}

// A tree of `files` files of assorted sizes (up to 256 KiB, random bytes) in two levels.
void MakeTree(const std::string& root, int files, unsigned seed) {
  std::mt19937 rng(seed);
  fs::create_directories(root + "/deep/er");
  for (int i = 0; i < files; ++i) {
    const std::string dir = i % 3 == 0 ? "" : i % 3 == 1 ? "deep/" : "deep/er/";
    std::string content(rng() % (256 * 1024) + 1, '\0');
    for (char& c : content) c = static_cast<char>(rng());
    WriteWholeFile(root + "/" + dir + "file" + std::to_string(i) + ".bin", content);
  }
}

// How many processes named `comm` have `dir` as their working directory: the rsync servers that
// rrsync started in DIR (rrsync chdirs there and execs, or forks, rsync).
int ProcessesIn(const std::string& dir, const std::string& comm) {
  int count = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string pid = entry.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string name = ReadWholeFile("/proc/" + pid + "/comm");
    if (!name.empty() && name.back() == '\n') name.pop_back();
    if (name != comm) continue;
    std::error_code link_ec;
    if (fs::read_symlink("/proc/" + pid + "/cwd", link_ec).string() == dir) ++count;
  }
  return count;
}

// Whether someone holds the exclusive flock rrsync takes on DIR.
bool DirLocked(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool busy = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  close(fd);  // releases it if we took it
  return busy;
}

// The last line of `text`, with its newline.
std::string LastLine(const std::string& text) {
  if (text.empty()) return text;
  size_t at = text.rfind('\n', text.size() - 2);
  return at == std::string::npos ? text : text.substr(at + 1);
}

// rrsync's own lines in a session's stderr (each starts with "rrsync"): what a test compares
// exactly. The rest is what sshd and the account's login shell print before rrsync runs (seen:
// pyenv's rehash lock under 50 concurrent logins), which is not rrsync's to test.
std::vector<std::string> RrsyncLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("rrsync")) lines.push_back(line);
  }
  return lines;
}

size_t CountOf(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++count;
  return count;
}

// Waits until `done()` or the deadline; true if done.
template <typename Pred>
bool WaitUntil(Pred done, std::chrono::seconds limit = kWaveDeadline) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

class LoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string err;
    sshd_ = SshdHarness::Start({}, &err);
    ASSERT_TRUE(sshd_) << err;
    root_ = RootAccount();
    ASSERT_TRUE(sshd_->AddClient(root_, &err)) << err;
    rrsync_ = sshd_->InstallExecutable(RRSYNC_BINARY, &err);
    ASSERT_FALSE(rrsync_.empty()) << err;
    fs::create_directories(sshd_->dir() + "/keys");
  }

  // A new client key whose forced command is `rrsync ARGS`; returns the private key's path.
  std::string KeyFor(const std::string& rrsync_args) {
    std::string err;
    const std::string key = sshd_->dir() + "/keys/k" + std::to_string(keys_.size());
    EXPECT_TRUE(GenerateKey(root_, key, &err)) << err;
    std::string pub = ReadWholeFile(key + ".pub");
    while (!pub.empty() && pub.back() == '\n') pub.pop_back();
    keys_.push_back(ForcedCommandLine(rrsync_ + " " + rrsync_args, pub));
    return key;
  }

  // Writes authorized_keys with every key made so far (the harness's own client key is not in
  // it: only the -i keys can log in).
  void Authorize() {
    std::string lines;
    for (const std::string& line : keys_) lines += line + "\n";
    std::string err;
    ASSERT_TRUE(sshd_->SetAuthorizedKeys(root_, lines, &err)) << err;
  }

  std::string Ssh(const std::string& key) const {
    return "ssh -F " + sshd_->ConfigPath(root_) + " -i " + key;
  }
  std::vector<std::string> RsyncArgv(const std::string& key, std::vector<std::string> args) const {
    std::vector<std::string> argv{"rsync", "-e", Ssh(key)};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  std::vector<std::string> SshArgv(const std::string& key, const std::string& command) const {
    return {"ssh", "-F", sshd_->ConfigPath(root_), "-i", key, sshd_->Alias(), command};
  }

  std::unique_ptr<BackgroundProcess> Launch(const std::vector<std::string>& argv) {
    std::string err;
    auto p = BackgroundProcess::Start(root_, argv, RunOptions{}, &err);
    EXPECT_TRUE(p) << err;
    return p;
  }

  std::unique_ptr<SshdHarness> sshd_;
  Account root_;
  std::string rrsync_;
  std::vector<std::string> keys_;
};

// One session of the mixed wave and what must come of it.
struct Session {
  std::string what;
  std::unique_ptr<BackgroundProcess> process;
  std::function<void(const CommandResult&)> check;
};

TEST_F(LoadTest, FiftyConcurrentPullsPushesAndAttacks) {
  const std::string base = sshd_->dir() + "/load";
  const std::string pull_dir = base + "/pull-src";
  const std::string push_src = base + "/push-src";
  MakeTree(pull_dir, 12, 1);
  MakeTree(push_src, 12, 2);
  fs::create_symlink("/etc", pull_dir + "/escape");
  const auto pull_tree = Snapshot(pull_dir);
  const auto push_tree = Snapshot(push_src);

  const std::string pull_key = KeyFor("-ro " + pull_dir);
  constexpr int kPulls = 20, kPushes = 15, kAttacks = 15;
  std::vector<std::string> push_dirs, push_keys;
  for (int i = 0; i < kPushes; ++i) {
    push_dirs.push_back(base + "/push-dst" + std::to_string(i));
    fs::create_directories(push_dirs.back());
    push_keys.push_back(KeyFor(push_dirs.back()));  // read-write, with the lock
  }
  Authorize();
  if (HasFatalFailure()) return;

  // Refused attacks, all through the read-only key (no lock, so they cannot disturb the pushes):
  // exact command, exact message, exit status 1 from rrsync through ssh.
  struct Attack {
    std::string key, command, message;
  };
  const std::vector<Attack> attacks = {
      {pull_key, "rsync --server --sender -logDtpre.iLsfxCIvu . ../../../etc/",
       "rrsync error: do not use .. in arg (anchor the path at the root of your restricted dir)"},
      {pull_key, "cat /etc/shadow", "rrsync error: SSH_ORIGINAL_COMMAND does not run rsync"},
      {pull_key, "rsync --server --sender -logDtpre.iLsfxCIvu --log-file=/tmp/x . /",
       "rrsync error: option --log-file has been disabled on this server."},
      {pull_key, "rsync --server --sender -logDtpre.iLsfxCIvu . /escape/",
       "rrsync error: unsafe arg: /escape/ ['" + pull_dir + "/escape', '/etc']"},
      {pull_key, "rsync --server -logDtpre.iLsfxCIvu . /",
       "rrsync error: sending to read-only server is not allowed"},
      {pull_key, "rsync --server --sender -logDtpre.iLsfxCIvu --rsh=sh . /",
       "rrsync error: invalid rsync-command syntax or options"},
      // Shell metacharacters: rrsync runs no shell, so "touch" is only a file name (checked below).
      {pull_key,
       "rsync --server --sender -logDtpre.iLsfxCIvu . /nothing; touch /tmp/rrsync-load-pwned", ""},
  };

  std::vector<Session> sessions;
  for (int i = 0; i < kPulls; ++i) {
    const std::string dst = base + "/pulled" + std::to_string(i);
    Session s;
    s.what = "pull " + std::to_string(i);
    s.process = Launch(RsyncArgv(pull_key, {"-a", sshd_->Alias() + ":/", dst + "/"}));
    s.check = [dst, &pull_tree](const CommandResult& r) {
      // The symlink to /etc is copied as a symlink (-a), never followed.
      EXPECT_EQ(r.exit_code, 0) << r.Describe();
      auto tree = Snapshot(dst);
      EXPECT_EQ(fs::read_symlink(dst + "/escape"), "/etc");
      tree.erase("escape");
      auto expected = pull_tree;
      expected.erase("escape");
      EXPECT_TRUE(tree == expected) << "pulled tree differs in " << dst;
    };
    sessions.push_back(std::move(s));
  }
  for (int i = 0; i < kPushes; ++i) {
    const std::string dst = push_dirs[i];
    Session s;
    s.what = "push " + std::to_string(i);
    s.process = Launch(RsyncArgv(push_keys[i], {"-a", push_src + "/", sshd_->Alias() + ":/"}));
    s.check = [dst, &push_tree](const CommandResult& r) {
      EXPECT_EQ(r.exit_code, 0) << r.Describe();
      EXPECT_TRUE(Snapshot(dst) == push_tree) << "pushed tree differs in " << dst;
    };
    sessions.push_back(std::move(s));
  }
  for (int i = 0; i < kAttacks; ++i) {
    const Attack& a = attacks[static_cast<size_t>(i) % attacks.size()];
    Session s;
    s.what = "attack: " + a.command;
    s.process = Launch(SshArgv(a.key, a.command));
    s.check = [a](const CommandResult& r) {
      EXPECT_EQ(r.exit_code, 1) << r.Describe();
      // The last line is rrsync's; the account's login shell may print its own noise before
      // it (seen: pyenv's rehash lock under 50 concurrent logins), which is not rrsync's to test.
      // Exactly one line of rrsync's, and it is the last: nothing of rrsync's hides in the noise.
      const std::string last = LastLine(r.err);
      const std::vector<std::string> ours = RrsyncLines(r.err);
      ASSERT_EQ(ours.size(), 1u) << r.Describe();
      EXPECT_EQ(last, ours[0] + "\n") << r.Describe();
      if (!a.message.empty()) {
        EXPECT_EQ(ours[0], a.message) << r.Describe();
      } else {
        EXPECT_TRUE(ours[0].starts_with("rrsync error: ")) << r.Describe();
      }
      EXPECT_EQ(CountOf(r.err, "rrsync error: "), 1u) << r.Describe();
      EXPECT_EQ(r.out, "") << r.Describe();
    };
    sessions.push_back(std::move(s));
  }
  ASSERT_EQ(sessions.size(), 50u);
  for (const Session& s : sessions) ASSERT_TRUE(s.process) << s.what;

  // Poll them all against one deadline: a hung session fails the test instead of hanging it.
  const bool all_done = WaitUntil([&] {
    return std::none_of(sessions.begin(), sessions.end(),
                        [](Session& s) { return s.process->Running(); });
  });
  EXPECT_TRUE(all_done) << "sessions still running after the deadline (a hang)";
  for (Session& s : sessions) {
    SCOPED_TRACE(s.what);
    CommandResult r = s.process->Stop();
    s.check(r);
  }
  EXPECT_FALSE(fs::exists("/tmp/rrsync-load-pwned")) << "a shell ran the client's command";
  // The read-only tree was not touched by the refused push.
  EXPECT_TRUE(Snapshot(pull_dir) == pull_tree);
}

// N pushes to one DIR, each holding its session open until released: the client reads its file
// list from a FIFO the test writes to, so a session that got past rrsync stays in rsync (and
// keeps the lock) as long as the test wants. That makes the overlap certain, not a race.
class ConcurrentPushes : public LoadTest {
 protected:
  static constexpr int kPushers = 8;

  void StartPushes(const std::string& rrsync_flags) {
    dir_ = sshd_->dir() + "/shared";
    src_ = sshd_->dir() + "/src";
    fs::create_directories(dir_);
    fs::create_directories(src_);
    const std::string key = KeyFor(rrsync_flags + dir_);
    Authorize();
    if (HasFatalFailure()) return;
    for (int i = 0; i < kPushers; ++i) {
      WriteWholeFile(src_ + "/from" + std::to_string(i), "pusher " + std::to_string(i) + "\n");
      const std::string fifo = sshd_->dir() + "/list" + std::to_string(i);
      ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
      // Read-write so that neither side blocks in open(); close-on-exec so that no client holds
      // a writer (its list would never end).
      lists_.push_back(open(fifo.c_str(), O_RDWR | O_CLOEXEC));
      ASSERT_GE(lists_.back(), 0);
      pushes_.push_back(Launch(
          RsyncArgv(key, {"-a", "--files-from=" + fifo, src_ + "/", sshd_->Alias() + ":/"})));
      ASSERT_TRUE(pushes_.back());
    }
  }

  // Lets every push go on: writes its one-line list and closes the FIFO.
  void ReleaseAll() {
    for (size_t i = 0; i < lists_.size(); ++i) {
      const std::string line = "from" + std::to_string(i) + "\n";
      EXPECT_EQ(write(lists_[i], line.data(), line.size()), static_cast<ssize_t>(line.size()));
      close(lists_[i]);
    }
    lists_.clear();
  }

  void TearDown() override {
    for (int fd : lists_) close(fd);
  }

  std::string dir_, src_;
  std::vector<int> lists_;
  std::vector<std::unique_ptr<BackgroundProcess>> pushes_;
};

TEST_F(ConcurrentPushes, WithTheLockExactlyOneRunsAndTheRestGetTheLockMessage) {
  StartPushes("");
  if (HasFatalFailure()) return;
  auto running = [&] {
    return std::count_if(pushes_.begin(), pushes_.end(), [](auto& p) { return p->Running(); });
  };
  // Each loser is refused at once; the winner waits on its list inside rsync.
  ASSERT_TRUE(WaitUntil([&] { return running() <= 1; }))
      << running() << " pushes still running: rrsync let more than one through";
  EXPECT_EQ(running(), 1) << "no push got the lock";
  EXPECT_TRUE(DirLocked(dir_)) << "the running push does not hold the lock on DIR";
  EXPECT_EQ(ProcessesIn(dir_, "rsync"), 1);
  int refused = 0;
  int winner = -1;
  for (int i = 0; i < kPushers; ++i) {
    if (pushes_[i]->Running()) {
      winner = i;
      continue;
    }
    CommandResult r = pushes_[i]->Stop();
    EXPECT_NE(r.exit_code, 0) << r.Describe();
    EXPECT_EQ(RrsyncLines(r.err), std::vector<std::string>{kLockMessage}) << r.Describe();
    ++refused;
  }
  EXPECT_EQ(refused, kPushers - 1);
  ASSERT_GE(winner, 0);

  ReleaseAll();
  ASSERT_TRUE(WaitUntil([&] { return !pushes_[winner]->Running(); })) << "the winner hung";
  CommandResult r = pushes_[winner]->Stop();
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  // Only the winner's file arrived, intact.
  std::map<std::string, std::string> expected{
      {"from" + std::to_string(winner), "pusher " + std::to_string(winner) + "\n"}};
  EXPECT_TRUE(Snapshot(dir_) == expected);
  EXPECT_FALSE(DirLocked(dir_)) << "the lock outlived the session";
}

TEST_F(ConcurrentPushes, WithNoLockAllRunTogether) {
  StartPushes("-no-lock ");
  if (HasFatalFailure()) return;
  // All eight rsync servers alive in DIR at the same time: none was refused or serialised.
  EXPECT_TRUE(WaitUntil([&] { return ProcessesIn(dir_, "rsync") == kPushers; }))
      << ProcessesIn(dir_, "rsync") << " of " << kPushers << " rsync servers running in DIR";
  ReleaseAll();
  ASSERT_TRUE(WaitUntil([&] {
    return std::none_of(pushes_.begin(), pushes_.end(), [](auto& p) { return p->Running(); });
  })) << "a push hung";
  std::map<std::string, std::string> expected;
  for (int i = 0; i < kPushers; ++i) {
    CommandResult r = pushes_[i]->Stop();
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    expected["from" + std::to_string(i)] = "pusher " + std::to_string(i) + "\n";
  }
  EXPECT_TRUE(Snapshot(dir_) == expected);
}

}  // namespace
}  // namespace rrsync::e2e
