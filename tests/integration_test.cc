// The built rrsync binary, run as sshd runs it, with a stand-in rsync that records its argv.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "path_resolution.h"
#include "test_support.h"

namespace rrsync {
namespace {

using testing::MakeDirs;
using testing::ReadFile;
using testing::RunProgram;
using testing::RunResult;
using testing::WriteFile;

class RrsyncBinaryTest : public ::testing::Test {
 protected:
  RrsyncBinaryTest() {
    home_ = NormalizePath(tmp_ / "home");
    dir_ = home_ + "/dir";
    MakeDirs(dir_ + "/sub");
    WriteFile(dir_ + "/file", "inside");
    WriteFile(home_ + "/secret", "outside");
  }

  // Runs rrsync FLAGS... with SSH_ORIGINAL_COMMAND = `command` (unset when nullopt), from the
  // login directory, with the recorder as rsync unless a flag says otherwise.
  RunResult Rrsync(std::vector<std::string> flags, std::optional<std::string> command,
                   const std::string& rsync = ARGV_RECORDER) {
    std::vector<std::string> argv{RRSYNC_BINARY, "-rsync=" + rsync};
    argv.insert(argv.end(), flags.begin(), flags.end());
    std::map<std::string, std::string> env{{"SSH_CONNECTION", "192.0.2.7 50000 192.0.2.1 22"},
                                           {"PATH", "/usr/bin:/bin"}};
    if (command) env["SSH_ORIGINAL_COMMAND"] = *command;
    return RunProgram(argv, env, home_);
  }

  testing::TempDir tmp_;
  std::string home_;
  std::string dir_;
};

TEST_F(RrsyncBinaryTest, RefusalIsOneLineNamingRrsync) {
  RunResult r = Rrsync({"dir"}, "ls -la");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "rrsync error: SSH_ORIGINAL_COMMAND does not run rsync\n");
  EXPECT_EQ(r.out, "");
  // Whatever the binary is called.
  std::filesystem::copy_file(RRSYNC_BINARY, tmp_ / "gatekeeper");
  RunResult renamed = RunProgram({tmp_ / "gatekeeper", "dir"}, {{"SSH_ORIGINAL_COMMAND", "exit"}},
                                 home_);
  EXPECT_EQ(renamed.status, 1);
  EXPECT_EQ(renamed.err, "rrsync error: SSH_ORIGINAL_COMMAND does not run rsync\n");
}

TEST_F(RrsyncBinaryTest, NotInvokedViaSshd) {
  RunResult r = Rrsync({"dir"}, std::nullopt);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "rrsync error: Not invoked via sshd\n");
}

TEST_F(RrsyncBinaryTest, TrueIsASilentConnectivityCheck) {
  RunResult r = Rrsync({"-ro", "dir"}, "true");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out + r.err, "");
}

TEST_F(RrsyncBinaryTest, AnswersTheProbeWithoutNamingDir) {
  RunResult r = Rrsync({"-ro", "dir"}, "rrsync-probe v1; echo rrsync-probe-shell-1234");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "rrsync-probe ok version=0.1.0 mode=read-only\n");
  EXPECT_EQ(Rrsync({"-wo", "dir"}, "rrsync-probe v1").out,
            "rrsync-probe ok version=0.1.0 mode=write-only\n");
  EXPECT_EQ(Rrsync({"dir"}, "rrsync-probe v1").out, "rrsync-probe ok version=0.1.0 mode=read-write\n");
}

TEST_F(RrsyncBinaryTest, UsageErrors) {
  RunResult r = Rrsync({}, "true");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "rrsync error: the following arguments are required: DIR\n");
  r = Rrsync({"-ro", "-wo", "dir"}, "true");
  EXPECT_EQ(r.err, "rrsync error: argument -wo: not allowed with argument -ro\n");
  r = Rrsync({"-frobnicate", "dir"}, "true");
  EXPECT_EQ(r.err, "rrsync error: unrecognized arguments: -frobnicate\n");
}

TEST_F(RrsyncBinaryTest, HelpPrintsUsage) {
  RunResult r = Rrsync({"-help"}, std::nullopt);
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(r.out.starts_with("usage: rrsync [-ro|-wo]")) << r.out;
}

TEST_F(RrsyncBinaryTest, MissingDirIsRefused) {
  RunResult r = Rrsync({"-ro", "nowhere"}, "rsync --server --sender -v . x");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "rrsync error: Restricted directory does not exist!\n");
}

TEST_F(RrsyncBinaryTest, RunsRsyncInDirWithPinnedArguments) {
  RunResult r = Rrsync({"-ro", "dir"}, "rsync --server --sender -vlogDtpre.iLsfxCIvu . /file");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_NE(r.out.find("cwd " + dir_ + "\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("arg " + std::string(ARGV_RECORDER) +
                       "\narg --server\narg --sender\narg -vlogDtpre.iLsfxCIvu\narg --confine-root=" +
                       dir_ + "\narg --\narg .\narg /proc/self/fd/"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("-> <fd:" + dir_ + ">/file\n"), std::string::npos) << r.out;
}

// What the recorder's "fd N TARGET" lines name: the targets, each followed by ";".
std::string InheritedTargets(const std::string& out) {
  std::string fds;
  size_t pos = 0;
  while ((pos = out.find("\nfd ", pos)) != std::string::npos) {
    size_t end = out.find('\n', pos + 1);
    std::string line = out.substr(pos + 1, end - pos - 1);
    fds += line.substr(line.find(' ', 3) + 1) + ";";
    pos = end;
  }
  return fds;
}

TEST_F(RrsyncBinaryTest, RsyncInheritsOnlyThePins) {
  WriteFile(dir_ + "/list-fds", "");
  // A descriptor leaked to rrsync by its parent must not reach rsync.
  int leaked = open((home_ + "/secret").c_str(), O_RDONLY);
  ASSERT_GE(leaked, 0);
  RunResult r = Rrsync({"dir"}, "rsync --server --sender -v . file sub/");
  close(leaked);
  ASSERT_EQ(r.status, 0) << r.err;
  std::string fds = InheritedTargets(r.out);
  // DIR, held for "file" below it, and "sub/" itself (its trailing slash keeps the leaf pin);
  // nothing else, and no descriptor twice.
  EXPECT_EQ(fds, dir_ + ";" + dir_ + "/sub;") << r.out;
}

// A push holds the lock and starts rsync as a child (SpawnRsync): the lock, the Landlock ruleset
// and anything leaked to rrsync stay behind; only the pin reaches rsync.
TEST_F(RrsyncBinaryTest, PushedRsyncInheritsOnlyThePins) {
  WriteFile(dir_ + "/list-fds", "");
  int leaked = open((home_ + "/secret").c_str(), O_RDONLY);
  ASSERT_GE(leaked, 0);
  RunResult r = Rrsync({"dir"}, "rsync --server -v . sub/new");
  close(leaked);
  ASSERT_EQ(r.status, 0) << r.err;
  std::string fds = InheritedTargets(r.out);
  EXPECT_EQ(fds, dir_ + "/sub;") << r.out;
}

TEST_F(RrsyncBinaryTest, ExitStatusOfRsyncBecomesOurs) {
  WriteFile(dir_ + "/exit-status", "23");
  // Without a lock rrsync becomes rsync; with one it waits for it.
  EXPECT_EQ(Rrsync({"-no-lock", "dir"}, "rsync --server -v . x").status, 23);
  EXPECT_EQ(Rrsync({"dir"}, "rsync --server -v . x").status, 23);
}

TEST_F(RrsyncBinaryTest, LockKeepsASecondWriterOut) {
  int fd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_EQ(flock(fd, LOCK_EX | LOCK_NB), 0);
  RunResult busy = Rrsync({"dir"}, "rsync --server -v . x");
  EXPECT_EQ(busy.status, 1);
  EXPECT_EQ(busy.err, "rrsync error: Another instance of rrsync is already accessing this directory.\n");
  EXPECT_EQ(Rrsync({"-no-lock", "dir"}, "rsync --server -v . x").status, 0);
  EXPECT_EQ(Rrsync({"-ro", "dir"}, "rsync --server --sender -v . file").status, 0);
  close(fd);
  EXPECT_EQ(Rrsync({"dir"}, "rsync --server -v . x").status, 0);
}

TEST_F(RrsyncBinaryTest, LogsAcceptedAndRefusedSessionsOnlyToAnExistingFile) {
  Rrsync({"-ro", "dir"}, "rsync --server --sender -v . file");
  EXPECT_FALSE(testing::Exists(home_ + "/rrsync.log"));
  WriteFile(home_ + "/rrsync.log", "");
  Rrsync({"-ro", "dir"}, "rsync --server --sender -v . file");
  Rrsync({"-ro", "dir"}, "rsync --server -v . x\n12:00:00 forged line");
  std::string log = ReadFile(home_ + "/rrsync.log");
  std::vector<std::string> lines;
  for (size_t pos = 0, end; (end = log.find('\n', pos)) != std::string::npos; pos = end + 1)
    lines.push_back(log.substr(pos, end - pos));
  ASSERT_EQ(lines.size(), 3u) << log;
  EXPECT_NE(lines[0].find(" 192.0.2.7 run ['" + std::string(ARGV_RECORDER) + "', '--server', "
                          "'--sender', '-v', '--confine-root=" + dir_ + "', '--', '.', "
                          "'/proc/self/fd/"),
            std::string::npos)
      << lines[0];
  EXPECT_NE(lines[0].find(" sandbox="), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find(" 192.0.2.7 finished status=0 seconds="), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find(" 192.0.2.7 refused 'sending to read-only server is not allowed' "
                          "command 'rsync --server -v . x\\n12:00:00 forged line'"),
            std::string::npos)
      << lines[2];
}

TEST_F(RrsyncBinaryTest, NeverLogsThroughASymlink) {
  WriteFile(tmp_ / "target.log", "");
  ASSERT_EQ(symlink((tmp_ / "target.log").c_str(), (home_ + "/rrsync.log").c_str()), 0);
  Rrsync({"-ro", "dir"}, "rsync --server --sender -v . file");
  EXPECT_EQ(ReadFile(tmp_ / "target.log"), "");
  WriteFile(home_ + "/other.log", "");
  Rrsync({"-ro", "-log=other.log", "dir"}, "ls");
  EXPECT_NE(ReadFile(home_ + "/other.log").find(" refused "), std::string::npos);
}

TEST_F(RrsyncBinaryTest, OlderRsyncGetsNoDropDOrConfineRootAndTheLogSaysSo) {
  WriteFile(home_ + "/rrsync.log", "");
  RunResult r = Rrsync({"dir"}, "rsync --server -v . x", ARGV_RECORDER_OLD_RSYNC);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.find("--drop-D"), std::string::npos);
  EXPECT_EQ(r.out.find("--confine-root"), std::string::npos);
  std::string log = ReadFile(home_ + "/rrsync.log");
  EXPECT_NE(log.find("omitted=--drop-D(rsync lacks it) omitted=--confine-root(rsync lacks it)"),
            std::string::npos)
      << log;
}

// Every refusal is logged (issue 14): a broken flag (in the default log file: the flags cannot
// be trusted to name another) and a missing DIR, with or without -config.
TEST_F(RrsyncBinaryTest, RefusalsBeforeTheCommandIsReadAreLoggedToo) {
  WriteFile(home_ + "/rrsync.log", "");
  RunResult flag = Rrsync({"-read-only", "dir"}, "rsync --server --sender -v . x");
  EXPECT_EQ(flag.status, 1);
  RunResult missing = Rrsync({"-ro", "no-such-dir"}, "rsync --server --sender -v . x");
  EXPECT_EQ(missing.status, 1);
  EXPECT_EQ(missing.err, "rrsync error: Restricted directory does not exist!\n");
  std::string log = ReadFile(home_ + "/rrsync.log");
  EXPECT_NE(log.find(" refused "), std::string::npos) << log;
  EXPECT_NE(log.find("-read-only"), std::string::npos) << log;
  EXPECT_NE(log.find("Restricted directory does not exist!"), std::string::npos) << log;
}

// Every session that runs rsync ends with a finished line, a read-only pull included (rrsync
// waits for rsync instead of becoming it).
TEST_F(RrsyncBinaryTest, APullGetsAFinishedLine) {
  WriteFile(home_ + "/rrsync.log", "");
  RunResult r = Rrsync({"-ro", "-sandbox=off", "dir"}, "rsync --server --sender -v . file");
  ASSERT_EQ(r.status, 0) << r.err;
  std::string log = ReadFile(home_ + "/rrsync.log");
  EXPECT_NE(log.find(" finished status=0 seconds="), std::string::npos) << log;
}

// A pull's --log-file must exist (a sender's paths must): refused in upstream's words, before
// the sandbox would try to grant the missing file.
TEST_F(RrsyncBinaryTest, APullsMissingLogFileIsRefusedAsUpstreamDoes) {
  RunResult r = Rrsync({"dir"}, "rsync --server --sender --log-file=/rr.log . /sub/");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "rrsync error: post-realpath open failed (race detected): /rr.log No such file "
                   "or directory\n");
}

TEST_F(RrsyncBinaryTest, MissingRsyncIsRefused) {
  RunResult r = Rrsync({"dir"}, "rsync --server -v . x", "/nonexistent/rsync");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "rrsync error: Failed to open \"/nonexistent/rsync\": No such file or "
                   "directory\n");
}

// A wrapper script as -rsync: rrsync cannot tell what it runs, so it adds every option (an rsync
// that lacked one would refuse the session itself) and says so in the log. The sandbox lets the
// script run what -wrapper-exec declares, and nothing else.
TEST_F(RrsyncBinaryTest, AWrapperScriptGetsEveryOptionAndRunsWhatItDeclares) {
  const std::string wrapper = home_ + "/rsync-wrapper";
  WriteFile(wrapper, std::string("#!/bin/sh\nexec ") + ARGV_RECORDER + " \"$@\"\n");
  ASSERT_EQ(chmod(wrapper.c_str(), 0755), 0);
  WriteFile(home_ + "/rrsync.log", "");
  RunResult r = Rrsync({"-wrapper-exec=" + std::string(ARGV_RECORDER), "dir"},
                       "rsync --server -v . x", wrapper);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("--drop-D"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--confine-root="), std::string::npos) << r.out;
  std::string log = ReadFile(home_ + "/rrsync.log");
  EXPECT_NE(log.find("options=as-for-rsync-3.5.0(" + wrapper + " is not an ELF binary)"),
            std::string::npos)
      << log;
  // Undeclared, the program the wrapper execs is not there to run (root: the mount view) or
  // may not be executed (Landlock): the session fails, rsync never starts.
  RunResult undeclared = Rrsync({"dir"}, "rsync --server -v . x", wrapper);
  EXPECT_NE(undeclared.status, 0) << undeclared.out;
  EXPECT_EQ(undeclared.out.find("--server"), std::string::npos) << undeclared.out;
  EXPECT_NE(undeclared.err.find(ARGV_RECORDER), std::string::npos) << undeclared.err;
}

// rrsync --list-options: the long-option table sessions start from, in upstream's format
// (support/rrsync's long_opts), for whoever checks it the way rsync's own tests do.
TEST_F(RrsyncBinaryTest, ListsItsOptionTableInUpstreamsFormat) {
  RunResult r = RunProgram({RRSYNC_BINARY, "--list-options"}, {}, home_);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.find("long_opts = {\n"), 0u) << r.out;
  for (const char* line : {"  'debug': -1,\n", "  'daemon': -1,\n", "  'files-from': 3,\n",
                           "  'backup-dir': 2,\n", "  'bwlimit': 1,\n", "  'append': 0,\n"})
    EXPECT_NE(r.out.find(line), std::string::npos) << line;
  EXPECT_TRUE(r.out.ends_with("}\n"));
}

// -wrapper-write: a wrapper that logs may write where the admin granted it, and the grant is
// in the session log. Without the grant the same wrapper's write finds nothing there (the
// mount view, for root) or is denied (Landlock); rsync still runs.
TEST_F(RrsyncBinaryTest, AWrapperWritesWhereItIsGrantedAndNowhereElse) {
  const std::string logs = home_ + "/wrapper-logs";
  MakeDirs(logs);
  const std::string wrapper = home_ + "/rsync-wrapper";
  WriteFile(wrapper, "#!/bin/sh\necho \"wrapper ran: $*\" >> " + logs + "/log\nexec " +
                         ARGV_RECORDER + " \"$@\"\n");
  ASSERT_EQ(chmod(wrapper.c_str(), 0755), 0);
  WriteFile(home_ + "/rrsync.log", "");
  const std::string exec = "-wrapper-exec=" + std::string(ARGV_RECORDER);
  RunResult granted =
      Rrsync({exec, "-wrapper-write=" + logs, "dir"}, "rsync --server -v . x", wrapper);
  ASSERT_EQ(granted.status, 0) << granted.err;
  EXPECT_NE(granted.out.find("--server"), std::string::npos) << granted.out;
  EXPECT_EQ(ReadFile(logs + "/log").find("wrapper ran: --server"), 0u) << ReadFile(logs + "/log");
  EXPECT_NE(ReadFile(home_ + "/rrsync.log").find(" wrapper-write=" + logs), std::string::npos)
      << ReadFile(home_ + "/rrsync.log");

  ASSERT_EQ(unlink((logs + "/log").c_str()), 0);
  RunResult undeclared = Rrsync({exec, "dir"}, "rsync --server -v . x", wrapper);
  EXPECT_EQ(undeclared.status, 0) << undeclared.err;
  EXPECT_FALSE(testing::Exists(logs + "/log"));
  EXPECT_NE(undeclared.err.find(logs + "/log"), std::string::npos) << undeclared.err;
}

// -wrapper-read: the wrapper reads the granted tree and cannot change it, neither a file in it
// nor by making a new one. Without the grant it cannot read it either.
TEST_F(RrsyncBinaryTest, AReadGrantIsReadOnly) {
  const std::string shared = home_ + "/shared";
  MakeDirs(shared);
  WriteFile(shared + "/in", "granted data\n");
  const std::string wrapper = home_ + "/rsync-wrapper";
  // sh's own read: cat is not declared, so not in the view.
  WriteFile(wrapper, "#!/bin/sh\nread -r line < " + shared + "/in\necho \"$line\" >&2\n"
                     "echo changed > " + shared +
                         "/in\necho new > " + shared + "/new\nexec " + ARGV_RECORDER +
                         " \"$@\"\n");
  ASSERT_EQ(chmod(wrapper.c_str(), 0755), 0);
  const std::string exec = "-wrapper-exec=" + std::string(ARGV_RECORDER);
  for (const char* key : {"-ro", "-wo"}) {
    const std::string command = key == std::string("-ro") ? "rsync --server --sender -v . file"
                                                          : "rsync --server -v . x";
    RunResult r = Rrsync({key, exec, "-wrapper-read=" + shared, "dir"}, command, wrapper);
    ASSERT_EQ(r.status, 0) << key << ": " << r.err;
    EXPECT_NE(r.err.find("granted data"), std::string::npos) << key << ": " << r.err;
    EXPECT_EQ(ReadFile(shared + "/in"), "granted data\n") << key;
    EXPECT_FALSE(testing::Exists(shared + "/new")) << key;
  }
  RunResult ungranted =
      Rrsync({"-ro", exec, "dir"}, "rsync --server --sender -v . file", wrapper);
  EXPECT_EQ(ungranted.err.find("granted data"), std::string::npos) << ungranted.err;
  EXPECT_EQ(ReadFile(shared + "/in"), "granted data\n");
}

// What a grant may not be: refused before rsync starts, saying why, in one line.
TEST_F(RrsyncBinaryTest, WrapperGrantsIntoDirOrNotRealAreRefused) {
  const std::string wrapper = home_ + "/rsync-wrapper";
  WriteFile(wrapper, std::string("#!/bin/sh\nexec ") + ARGV_RECORDER + " \"$@\"\n");
  ASSERT_EQ(chmod(wrapper.c_str(), 0755), 0);
  const std::string exec = "-wrapper-exec=" + std::string(ARGV_RECORDER);
  // Each grant alone: refused with `message`, status 1, nothing on stdout.
  auto expect_refused = [&](const std::string& grant, const std::string& message) {
    RunResult r = Rrsync({exec, grant, "dir"}, "rsync --server -v . x", wrapper);
    EXPECT_EQ(r.status, 1) << grant;
    EXPECT_EQ(r.err, "rrsync error: Failed to grant the wrapper " + message + "\n") << grant;
    EXPECT_EQ(r.out, "") << grant;
  };
  expect_refused("-wrapper-write=" + dir_ + "/sub",
                 "\"" + dir_ +
                     "/sub\" (-wrapper-write): it is DIR or lies inside it, where the key's rights "
                     "alone decide");
  expect_refused("-wrapper-read=" + home_ + "/none",
                 "\"" + home_ +
                     "/none\" (-wrapper-read): No such file or directory (create it, or leave it "
                     "out of -wrapper-read)");
  ASSERT_EQ(symlink(home_.c_str(), (home_ + "/link").c_str()), 0);
  expect_refused("-wrapper-read=" + home_ + "/link",
                 "\"" + home_ + "/link\" (-wrapper-read): it is not a real path (it names \"" +
                     home_ + "\"): declare that");
  for (const char* flag : {"-wrapper-read=/", "-wrapper-read=/proc/1", "-wrapper-write=/etc",
                           "-wrapper-write=rel/path", "-wrapper-read=/tmp/../etc"}) {
    RunResult r = Rrsync({exec, flag, "dir"}, "rsync --server -v . x", wrapper);
    EXPECT_EQ(r.status, 1) << flag;
    EXPECT_EQ(r.err.find("rrsync error: argument -wrapper-"), 0u) << flag << ": " << r.err;
  }
}

// A write grant that holds DIR (a wrapper writing next to it): with the mount view DIR is its
// own mount on top of the grant's, so a -ro key's DIR stays read-only while the wrapper writes
// beside it. Without the view such a grant is refused (rsync could replace DIR's name).
TEST_F(RrsyncBinaryTest, AWriteGrantHoldingDirKeepsAReadOnlyKeyReadOnly) {
  const std::string wrapper = home_ + "/rsync-wrapper";
  WriteFile(wrapper, "#!/bin/sh\necho note > " + home_ + "/note\necho planted > " + dir_ +
                         "/planted\necho changed > " + dir_ + "/file\nexec " + ARGV_RECORDER +
                         " \"$@\"\n");
  ASSERT_EQ(chmod(wrapper.c_str(), 0755), 0);
  RunResult r = Rrsync({"-ro", "-wrapper-exec=" + std::string(ARGV_RECORDER),
                        "-wrapper-write=" + home_, "dir"},
                       "rsync --server --sender -v . file", wrapper);
  if (geteuid() != 0) {
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("without the mount view"), std::string::npos) << r.err;
    return;
  }
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(ReadFile(home_ + "/note"), "note\n");
  EXPECT_FALSE(testing::Exists(dir_ + "/planted"));
  EXPECT_EQ(ReadFile(dir_ + "/file"), "inside");
}

// "#!/usr/bin/env python3": env looks python3 up in PATH, so the program must be declared by its
// absolute path; undeclared, the session is refused with what to declare. Declared (and its
// standard library granted), the script runs.
TEST_F(RrsyncBinaryTest, AnEnvScriptRunsWhatItNamesOnlyWhenDeclared) {
  if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3";
  RunResult stdlib = RunProgram(
      {"/usr/bin/python3", "-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"}, {},
      home_);
  ASSERT_EQ(stdlib.status, 0) << stdlib.err;
  const std::string lib =
      std::filesystem::canonical(stdlib.out.substr(0, stdlib.out.find('\n'))).string();
  const std::string wrapper = home_ + "/rsync-wrapper";
  WriteFile(wrapper, std::string("#!/usr/bin/env python3\nimport os, sys\nos.execv('") +
                         ARGV_RECORDER + "', ['rsync'] + sys.argv[1:])\n");
  ASSERT_EQ(chmod(wrapper.c_str(), 0755), 0);
  const std::string exec = "-wrapper-exec=" + std::string(ARGV_RECORDER);
  RunResult undeclared = Rrsync({exec, "dir"}, "rsync --server -v . x", wrapper);
  EXPECT_EQ(undeclared.status, 1);
  EXPECT_EQ(undeclared.err, "rrsync error: Failed to use the #! script \"" + wrapper +
                                "\": it runs \"/usr/bin/env python3\", which looks python3 up in "
                                "PATH; declare the program with -wrapper-exec=/usr/bin/python3 "
                                "(and what it reads outside DIR with -wrapper-read=)\n");
  RunResult declared = Rrsync({exec + ",/usr/bin/python3", "-wrapper-read=" + lib, "dir"},
                              "rsync --server -v . x", wrapper);
  ASSERT_EQ(declared.status, 0) << declared.err;
  EXPECT_NE(declared.out.find("--server"), std::string::npos) << declared.out;
}

// With -s the direction is still on the command line: a key that may not go that way refuses
// before it reads (or waits for) the secluded words. stdin is /dev/null here: had rrsync read
// it first, the refusal would be about the missing words.
TEST_F(RrsyncBinaryTest, SecludedArgsInTheWrongDirectionAreRefusedBeforeReadingThem) {
  RunResult push = Rrsync({"-ro", "dir"}, "rsync --server -se.LsfxCIvu");
  EXPECT_EQ(push.status, 1);
  EXPECT_EQ(push.err, "rrsync error: sending to read-only server is not allowed\n");
  RunResult pull = Rrsync({"-wo", "dir"}, "rsync --server --sender -se.LsfxCIvu");
  EXPECT_EQ(pull.status, 1);
  EXPECT_EQ(pull.err, "rrsync error: reading from write-only server is not allowed\n");
  // The right direction reads them: here it meets the end of stdin.
  RunResult read = Rrsync({"-ro", "dir"}, "rsync --server --sender -se.LsfxCIvu");
  EXPECT_EQ(read.status, 1);
  EXPECT_EQ(read.err.find("read-only"), std::string::npos) << read.err;
}

TEST_F(RrsyncBinaryTest, AnRsyncThatIsNeitherElfNorAScriptIsRefused) {
  const std::string rsync = home_ + "/rsync-text";
  WriteFile(rsync, "exec rsync \"$@\"\n");
  ASSERT_EQ(chmod(rsync.c_str(), 0755), 0);
  RunResult r = Rrsync({"dir"}, "rsync --server -v . x", rsync);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "rrsync error: Failed to read the ELF headers of \"" + rsync +
                       "\": not an ELF file (the rsync to run must be an ELF binary or a #! "
                       "script)\n");
}

// Readable (its features and ELF headers are read) but not executable: the exec fails, in the
// process that would have become rsync and in the child a locked push starts, with one reason.
TEST_F(RrsyncBinaryTest, AnRsyncThatCannotBeExecutedIsRefused) {
  const std::string rsync = home_ + "/rsync-not-executable";
  WriteFile(rsync, ReadFile(ARGV_RECORDER));
  ASSERT_EQ(chmod(rsync.c_str(), 0644), 0);
  std::vector<std::vector<std::string>> cases = {{"-ro", "dir"}, {"dir"}};
#ifdef __SANITIZE_ADDRESS__
  // A sanitized rrsync that fails its exec exits inside the sandbox, where LeakSanitizer cannot
  // read /proc and reports that instead: only the locked push (whose parent is outside) here.
  cases.erase(cases.begin());
#endif
  for (const std::vector<std::string>& flags : cases) {
    RunResult r = Rrsync(flags, flags.size() == 2 ? "rsync --server --sender -v . sub/"
                                                   : "rsync --server -v . sub/",
                         rsync);
    EXPECT_EQ(r.status, 1) << flags.size();
    EXPECT_EQ(r.err, "rrsync error: unable to run " + rsync + ": Permission denied\n");
  }
}

TEST_F(RrsyncBinaryTest, EscapesUntrustedTextInMessages) {
  RunResult r = Rrsync({"dir"}, "rsync --server --sender -v . \x1b[2Jlink\\\nx");
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

}  // namespace
}  // namespace rrsync
