// Pinning, on real trees: what rsync is handed, and the races it closes.
#include "path_pinner.h"

#include <grp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "path_resolution.h"
#include "test_support.h"

namespace rrsync {
namespace {

using testing::MakeDirs;
using testing::WriteFile;

std::string LinkTarget(const std::string& path) {
  char buf[4096];
  ssize_t n = readlink(path.c_str(), buf, sizeof(buf));
  return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
}

// Resolves the /proc/self/fd/N prefix of a spelling to what the descriptor names.
std::string Resolve(const std::string& spelled) {
  const std::string prefix = "/proc/self/fd/";
  if (!spelled.starts_with(prefix)) return spelled;
  size_t end = spelled.find('/', prefix.size());
  std::string link = spelled.substr(0, end);
  return "<" + LinkTarget(link) + ">" + (end == std::string::npos ? "" : spelled.substr(end));
}

class PathPinnerTest : public ::testing::Test {
 protected:
  PathPinnerTest() {
    dir_ = NormalizePath(tmp_ / "dir");
    MakeDirs(dir_ + "/sub");
    WriteFile(dir_ + "/file", "inside");
    WriteFile(dir_ + "/sub/a", "a");
    MakeDirs(tmp_ / "outside");
    WriteFile(tmp_ / "outside/a", "secret");
    char cwd[4096];
    old_cwd_ = getcwd(cwd, sizeof(cwd));
    EXPECT_EQ(chdir(dir_.c_str()), 0);
    settings_.dir = dir_;
  }
  ~PathPinnerTest() override { EXPECT_EQ(chdir(old_cwd_.c_str()), 0); }

  // Decides `command`, then pins; returns the argv words after "--" "." or "refused: ...".
  std::string PinFor(const std::string& command, bool have_proc = true,
                     const std::function<void()>& between = nullptr) {
    DecisionInput input;
    input.settings = &settings_;
    input.dir = dir_;
    input.command = command;
    RealFilesystem fs;
    decision_ = Decide(input, fs);
    if (decision_.verdict != Verdict::kRunRsync) return "decision refused: " + decision_.refusal;
    if (between) between();
    pinner_ = std::make_unique<PathPinner>(dir_, decision_.request, have_proc);
    std::vector<std::string> argv;
    std::string refusal;
    if (!pinner_->Pin(&argv, &refusal)) return "refused: " + refusal;
    std::string out;
    for (const std::string& word : argv) {
      if (!out.empty()) out += ' ';
      size_t eq = word.find("=/proc/self/fd/");
      out += eq == std::string::npos ? Resolve(word)
                                     : word.substr(0, eq + 1) + Resolve(word.substr(eq + 1));
    }
    return out;
  }

  testing::TempDir tmp_;
  std::string dir_;
  std::string old_cwd_;
  Settings settings_;
  Decision decision_;
  std::unique_ptr<PathPinner> pinner_;
};

TEST_F(PathPinnerTest, PullPinsTheParentAndNamesTheLeaf) {
  EXPECT_EQ(PinFor("rsync --server --sender -v . file sub/a"),
            "--server --sender -v --confine-root=" + dir_ + " -- . <" + dir_ + ">/file <" + dir_ +
                "/sub>/a");
  // Both leaves below DIR share one descriptor for DIR.
  EXPECT_EQ(pinner_->InheritedFds().size(), 2u);
}

TEST_F(PathPinnerTest, TrailingSlashPinsTheDirectoryItself) {
  EXPECT_EQ(
      PinFor("rsync --server --sender -v . sub/ /"),
      "--server --sender -v --confine-root=" + dir_ + " -- . <" + dir_ + "/sub>/ <" + dir_ + ">/");
}

TEST_F(PathPinnerTest, RelativePinsWhereTheTransmittedNameStarts) {
  EXPECT_EQ(PinFor("rsync --server --sender -vR . sub/./a"),
            "--server --sender -vR --confine-root=" + dir_ + " -- . <" + dir_ + "/sub>/./a");
  EXPECT_EQ(PinFor("rsync --server --sender -vR . sub/a"),
            "--server --sender -vR --confine-root=" + dir_ + " -- . <" + dir_ + ">/./sub/a");
}

TEST_F(PathPinnerTest, WithoutProcMagicLinksPassesCheckedNames) {
  EXPECT_EQ(PinFor("rsync --server --sender -v . file /sub/a", false),
            "--server --sender -v --confine-root=" + dir_ + " -- . file sub/a");
  EXPECT_EQ(PinFor("rsync --server --partial-dir=p -v . x", false),
            "refused: receiver option path does not exist: p");
}

TEST_F(PathPinnerTest, MissingPullSourceIsRefused) {
  EXPECT_EQ(
      PinFor("rsync --server --sender -v . nothing"),
      "refused: post-realpath open failed (race detected): nothing No such file or directory");
}

TEST_F(PathPinnerTest, NewDestinationIsNamedBelowItsPinnedParent) {
  EXPECT_EQ(PinFor("rsync --server -v . sub/new"),
            "--server -v --drop-D --confine-root=" + dir_ + " -- . <" + dir_ + "/sub>/new");
}

TEST_F(PathPinnerTest, CreatesAndPinsPartialAndBackupDirs) {
  EXPECT_EQ(PinFor("rsync --server --partial-dir=.part --backup-dir=bak/2026/11 -vb . x"),
            "--server --partial-dir=<" + dir_ + "/.part> --backup-dir=<" + dir_ +
                "/bak/2026/11> -vb --drop-D --confine-root=" + dir_ + " -- . <" + dir_ + ">/x");
  struct stat st;
  ASSERT_EQ(stat((dir_ + "/.part").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(PathPinnerTest, MissingBasisBecomesAnEmptyUnnamedDirectory) {
  std::string out = PinFor("rsync --server --link-dest=/snap/prev -v . x");
  EXPECT_NE(out.find("--link-dest=<" + dir_ + "/.rrsync-empty-basis."), std::string::npos) << out;
  EXPECT_NE(out.find(" (deleted)>"), std::string::npos) << out;
  EXPECT_FALSE(testing::Exists(dir_ + "/snap"));
}

TEST_F(PathPinnerTest, MissingTempDirIsRefused) {
  EXPECT_EQ(PinFor("rsync --server --temp-dir=tmp -v . x"),
            "refused: receiver option path does not exist: tmp");
}

TEST_F(PathPinnerTest, RefusesAComponentSwappedForASymlinkAfterTheCheck) {
  auto swap = [&] {
    ASSERT_EQ(rename((dir_ + "/sub").c_str(), (dir_ + "/sub.old").c_str()), 0);
    ASSERT_EQ(symlink((tmp_ / "outside").c_str(), (dir_ + "/sub").c_str()), 0);
  };
  std::string out = PinFor("rsync --server --sender -v . sub/a", true, swap);
  // The leaf opened through the swapped component is outside DIR: caught before rsync runs.
  EXPECT_EQ(out, "refused: post-pin path escaped tree (race?): sub/a " +
                     NormalizePath(tmp_ / "outside/a"));
}

TEST_F(PathPinnerTest, ASymlinkRacedInAtTheLeafIsRefused) {
  auto swap = [&] {
    ASSERT_EQ(unlink((dir_ + "/file").c_str()), 0);
    ASSERT_EQ(symlink((tmp_ / "outside/a").c_str(), (dir_ + "/file").c_str()), 0);
  };
  // The leaf is now a symlink: a sender sends the symlink itself, named below the pinned DIR.
  EXPECT_EQ(PinFor("rsync --server --sender -v . file", true, swap),
            "--server --sender -v --confine-root=" + dir_ + " -- . <" + dir_ + ">/file");
  // For a receiver, the O_NOFOLLOW open of the checked path refuses it.
  EXPECT_EQ(PinFor("rsync --server -v . sub/a", true,
                   [&] {
                     ASSERT_EQ(unlink((dir_ + "/sub/a").c_str()), 0);
                     ASSERT_EQ(symlink((tmp_ / "outside/a").c_str(), (dir_ + "/sub/a").c_str()), 0);
                   }),
            "refused: post-realpath open failed (race detected): sub/a Too many levels of "
            "symbolic links");
}

TEST_F(PathPinnerTest, AFifoDoesNotBlock) {
  ASSERT_EQ(mkfifo((dir_ + "/fifo").c_str(), 0600), 0);
  EXPECT_EQ(PinFor("rsync --server --sender -v . fifo"),
            "--server --sender -v --confine-root=" + dir_ + " -- . <" + dir_ + ">/fifo");
  // With a trailing slash the FIFO is opened non-blocking and pinned itself, as upstream does.
  EXPECT_EQ(PinFor("rsync --server --sender -v . fifo/"),
            "--server --sender -v --confine-root=" + dir_ + " -- . <" + dir_ + "/fifo>/");
}

TEST_F(PathPinnerTest, ManyNamesShareTheirDirectorysDescriptor) {
  for (const char* name : {"b", "c", "d"}) WriteFile(dir_ + "/sub/" + name, name);
  ASSERT_EQ(symlink("a", (dir_ + "/sub/link").c_str()), 0);
  EXPECT_EQ(PinFor("rsync --server --sender -v . file sub/a sub/b /sub/c sub/d sub/link"),
            "--server --sender -v --confine-root=" + dir_ + " -- . <" + dir_ + ">/file <" + dir_ +
                "/sub>/a <" + dir_ + "/sub>/b <" + dir_ + "/sub>/c <" + dir_ + "/sub>/d <" + dir_ +
                "/sub>/link");
  EXPECT_EQ(pinner_->InheritedFds().size(), 2u);
}

// A pull of a file its user may not read is refused, as upstream's open() refuses it; root
// (CAP_DAC_READ_SEARCH) reads it. Checked in a child that gives up root.
TEST_F(PathPinnerTest, AFileTheUserCannotReadIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to switch to an unprivileged user";
  WriteFile(dir_ + "/secret", "s");
  ASSERT_EQ(chmod((dir_ + "/secret").c_str(), 0), 0);
  ASSERT_EQ(chmod(tmp_.path().c_str(), 0755), 0);
  const std::string command = "rsync --server --sender -v . file secret";
  EXPECT_EQ(PinFor(command), "--server --sender -v --confine-root=" + dir_ + " -- . <" + dir_ +
                                 ">/file <" + dir_ + ">/secret");
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(pipe_fds[0]);
    if (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 ||
        setresuid(65534, 65534, 65534) != 0)
      _exit(2);
    std::string out = PinFor(command);
    ssize_t n = write(pipe_fds[1], out.data(), out.size());
    _exit(n == static_cast<ssize_t>(out.size()) ? 0 : 3);
  }
  close(pipe_fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(pipe_fds[0], buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  close(pipe_fds[0]);
  int status;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(out, "refused: post-realpath open failed (race detected): secret Permission denied");
}

// The directories the pinner creates (--partial-dir, --backup-dir) and the one it only opens
// (--temp-dir), with a component swapped for a symlink to outside DIR between the check and the
// pin: refused, and nothing is created outside DIR (the walk never follows a symlink; rsync
// itself never sees the path).
TEST_F(PathPinnerTest, ASymlinkRacedIntoACreatedOptionDirectoryCreatesNothingOutside) {
  for (const std::string option : {"--partial-dir", "--backup-dir", "--temp-dir"}) {
    SCOPED_TRACE(option);
    MakeDirs(dir_ + "/opt/tmp");
    std::string value = option == "--temp-dir" ? "opt/tmp" : "opt/new/deeper";
    std::string flags = option == "--backup-dir" ? " -vb" : " -v";
    auto swap = [&] {
      ASSERT_EQ(rename((dir_ + "/opt").c_str(), (dir_ + "/opt.old").c_str()), 0);
      ASSERT_EQ(symlink((tmp_ / "outside").c_str(), (dir_ + "/opt").c_str()), 0);
    };
    MakeDirs(tmp_ / "outside/tmp");
    std::string out = PinFor("rsync --server " + option + "=" + value + flags + " . x", true, swap);
    EXPECT_TRUE(out.starts_with("refused: ")) << out;
    if (option == "--temp-dir") {
      EXPECT_EQ(out, "refused: post-pin path escaped tree (race?): opt/tmp " +
                         NormalizePath(tmp_ / "outside/tmp"));
    } else {
      // O_NOFOLLOW | O_DIRECTORY on the symlink: ENOTDIR.
      EXPECT_EQ(out, "refused: receiver option path is not a usable directory: " + value +
                         " Not a directory");
    }
    EXPECT_FALSE(testing::Exists(tmp_ / "outside/new")) << "created outside DIR";
    EXPECT_FALSE(testing::Exists(dir_ + "/opt.old/new"));
    ASSERT_EQ(unlink((dir_ + "/opt").c_str()), 0);
    ASSERT_EQ(system(("rm -rf " + dir_ + "/opt.old").c_str()), 0);
  }
}

// A symlink planted where the missing --partial-dir was to be created: the leaf's own open
// refuses it, and nothing is created where it points.
TEST_F(PathPinnerTest, ASymlinkRacedInAtTheLeafOfACreatedDirectoryIsRefused) {
  auto plant = [&] { ASSERT_EQ(symlink((tmp_ / "outside").c_str(), (dir_ + "/part").c_str()), 0); };
  EXPECT_EQ(PinFor("rsync --server --partial-dir=part -v . x", true, plant),
            "refused: post-realpath open failed (race detected): part Too many levels of symbolic "
            "links");
  EXPECT_FALSE(testing::Exists(tmp_ / "outside/part"));
}

}  // namespace
}  // namespace rrsync
