// The built rrsync with -config, run as sshd runs it: a stand-in rsync that records its argv,
// the real rsync client through a stand-in ssh, a syslog socket of the test's own, and the
// hostile stand-in rsync under the sandbox.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <memory>

#include "path_resolution.h"
#include "sandbox.h"
#include "test_support.h"

namespace rrsync {
namespace {

namespace fs = std::filesystem;
using testing::Exists;
using testing::MakeDirs;
using testing::ReadFile;
using testing::RunProgram;
using testing::RunResult;
using testing::WriteFile;

// Receives what rrsync sends to syslog (the config's `syslog socket`).
class SyslogSocket {
 public:
  explicit SyslogSocket(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0) << path;
    chmod(path.c_str(), 0666);
  }
  ~SyslogSocket() { close(fd_); }
  // The messages received so far, without the "<PRI>date rrsync[pid]: " header, which is
  // checked on the way.
  std::vector<std::string> Messages() {
    std::vector<std::string> out;
    char buf[65536];
    while (true) {
      ssize_t n = recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
      if (n <= 0) break;
      std::string d(buf, static_cast<size_t>(n));
      size_t header = d.find(" rrsync[");
      EXPECT_NE(header, std::string::npos) << d;
      priorities_.push_back(std::stoi(d.substr(1, d.find('>') - 1)));
      out.push_back(d.substr(d.find("]: ", header) + 3));
    }
    return out;
  }
  const std::vector<int>& priorities() const { return priorities_; }

 private:
  int fd_;
  std::vector<int> priorities_;
};

class ConfigBinaryTest : public ::testing::Test {
 protected:
  ConfigBinaryTest() {
    root_ = NormalizePath(tmp_.path());
    home_ = root_ + "/home";
    backup_ = root_ + "/srv/backup";
    logs_ = root_ + "/srv/logs";
    MakeDirs(home_);
    MakeDirs(backup_ + "/old");
    MakeDirs(logs_ + "/2026");
    WriteFile(logs_ + "/2026/app.log", "log line");
    WriteFile(backup_ + "/old/data", "backed up");
    WriteFile(home_ + "/secret", "SECRET");
    config_ = root_ + "/rrsync.conf";
    WriteConfig("");
    syslog_ = std::make_unique<SyslogSocket>(root_ + "/log.sock");
  }

  // The config: a write-only "backup" and a read-only "logs", plus `extra` global settings.
  void WriteConfig(const std::string& extra, const std::string& modules_extra = "") {
    WriteFile(config_, "syslog socket = " + root_ + "/log.sock\n" + extra +
                           "[backup]\npath = " + backup_ +
                           "\nwrite only = yes\n"
                           "[logs]\npath = " +
                           logs_ + "\nread only = yes\n" + modules_extra);
    chmod(config_.c_str(), 0644);
  }

  RunResult Rrsync(std::vector<std::string> flags, std::optional<std::string> command,
                   std::map<std::string, std::string> env = {}) {
    std::vector<std::string> argv{RRSYNC_BINARY};
    argv.insert(argv.end(), flags.begin(), flags.end());
    env["SSH_CONNECTION"] = "192.0.2.7 50000 192.0.2.1 22";
    env["PATH"] = "/usr/bin:/bin";
    if (command) env["SSH_ORIGINAL_COMMAND"] = *command;
    return RunProgram(argv, env, home_);
  }

  // rrsync -config=... -modules=backup,logs with the recorder as rsync.
  RunResult Modules(const std::string& command, std::vector<std::string> more = {}) {
    std::vector<std::string> flags{"-rsync=" + std::string(ARGV_RECORDER), "-config=" + config_,
                                   "-modules=backup,logs"};
    flags.insert(flags.end(), more.begin(), more.end());
    return Rrsync(flags, command);
  }

  // Writes a stand-in ssh that runs rrsync FLAGS as sshd would; returns rsync's -e value.
  std::string FakeSsh(const std::string& flags) {
    std::string script = root_ + "/ssh-" + std::to_string(ssh_count_++);
    WriteFile(script,
              "#!/bin/sh\n"
              "shift\n"
              "cd '" +
                  home_ +
                  "' || exit 255\n"
                  "exec env -i SSH_ORIGINAL_COMMAND=\"$*\" "
                  "SSH_CONNECTION='127.0.0.1 40000 127.0.0.1 22' '" RRSYNC_BINARY "' " +
                  flags + "\n");
    chmod(script.c_str(), 0755);
    return script;
  }

  RunResult Rsync(const std::string& flags, std::vector<std::string> args) {
    std::vector<std::string> argv{"/usr/bin/rsync", "-e", FakeSsh(flags)};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProgram(argv, {{"PATH", "/usr/bin:/bin"}}, root_);
  }

  testing::TempDir tmp_;
  std::string root_, home_, backup_, logs_, config_;
  std::unique_ptr<SyslogSocket> syslog_;  // the config's `syslog socket`
  int ssh_count_ = 0;
};

TEST_F(ConfigBinaryTest, OneModuleIsServedFromItsPath) {
  RunResult r = Rrsync({"-rsync=" ARGV_RECORDER, "-config=" + config_, "-module=logs"},
                       "rsync --server --sender -vlogDtpre.iLsfxCIvu . 2026/app.log");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("cwd " + logs_ + "\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("arg --confine-root=" + logs_ + "\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("-> <fd:" + logs_ + "/2026>/app.log\n"), std::string::npos) << r.out;
}

TEST_F(ConfigBinaryTest, TheFirstComponentNamesTheModule) {
  RunResult r = Modules("rsync --server --sender -vlogDtpre.iLsfxCIvu . logs/2026/app.log");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("cwd " + logs_ + "\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("-> <fd:" + logs_ + "/2026>/app.log\n"), std::string::npos) << r.out;
  RunResult push = Modules("rsync --server -vlogDtpre.iLsfxCIvu . backup/new");
  ASSERT_EQ(push.status, 0) << push.err;
  EXPECT_NE(push.out.find("cwd " + backup_ + "\n"), std::string::npos) << push.out;
}

TEST_F(ConfigBinaryTest, ARequestSpanningTwoModulesIsRefused) {
  RunResult r = Modules("rsync --server --sender -vlogDtpre.iLsfxCIvu . logs/2026 backup/old");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err,
            "rrsync error: a request must stay inside one module: it names logs and backup\n");
  EXPECT_EQ(r.out, "");
  RunResult unknown = Modules("rsync --server --sender -v . home/secret");
  EXPECT_EQ(unknown.err, "rrsync error: unknown module 'home' (this key may use: backup, logs)\n");
  RunResult out = Modules("rsync --server --sender -v . logs/../backup/old");
  EXPECT_EQ(out.err,
            "rrsync error: do not use .. in arg (anchor the path at the root of your "
            "restricted dir)\n");
}

TEST_F(ConfigBinaryTest, EachModuleKeepsItsOwnDirection) {
  EXPECT_EQ(Modules("rsync --server -vlogDtpre.iLsfxCIvu . logs/x").err,
            "rrsync error: sending to read-only server is not allowed\n");
  EXPECT_EQ(Modules("rsync --server --sender -vlogDtpre.iLsfxCIvu . backup/old").err,
            "rrsync error: reading from write-only server is not allowed\n");
  // A module the key is not given is unknown, even if the file has it.
  RunResult r = Rrsync({"-rsync=" ARGV_RECORDER, "-config=" + config_, "-modules=logs"},
                       "rsync --server -vlogDtpre.iLsfxCIvu . backup/x");
  EXPECT_EQ(r.err, "rrsync error: unknown module 'backup' (this key may use: logs)\n");
  // The command line narrows a module further, never widens it.
  RunResult narrowed =
      Rrsync({"-rsync=" ARGV_RECORDER, "-ro", "-config=" + config_, "-module=backup"},
             "rsync --server -v . x");
  EXPECT_EQ(narrowed.err, "rrsync error: module backup is read only and write only at once (" +
                              config_ + ":2 and the command line)\n");
}

TEST_F(ConfigBinaryTest, RefuseAndAllowOptionsPerModule) {
  WriteConfig("refuse options = z\n", "refuse options = *\nallow options = a v\n");
  // Global "refuse options = z" applies to backup; logs refuses everything but -a and -v.
  EXPECT_EQ(Modules("rsync --server -vlogDtprze.iLsfxCIvu . backup/x").err,
            "rrsync error: option -z has been disabled on this server.\n");
  RunResult ok = Modules("rsync --server -vlogDtpre.iLsfxCIvu . backup/x");
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_EQ(Modules("rsync --server --sender -vlogDtpre.iLsfxCIvu --bwlimit=1 . logs/2026").err,
            "rrsync error: option --bwlimit has been disabled on this server.\n");
  EXPECT_EQ(Modules("rsync --server --sender -vlogDtpre.iLsfxCIvu . logs/2026").status, 0);
  EXPECT_EQ(Modules("rsync --server --sender -vlogDtprce.iLsfxCIvu . logs/2026").err,
            "rrsync error: option -c has been disabled on this server.\n");
}

TEST_F(ConfigBinaryTest, ABadConfigRefusesEverySession) {
  struct Case {
    std::string text;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"[m]\npath = /srv\ncolour = blue\n", ":3: unknown key 'colour'"},
      {"[m]\npath = /srv\nread only = perhaps\n", ":3: read only must be yes or no, not 'perhaps'"},
      {"[m]\nread only = yes\n", ":1: module [m] has no path"},
      {"[m]\npath = /a\n[m]\npath = /b\n", ":3: duplicate module [m] (first at line 1)"},
  };
  for (const Case& c : cases) {
    WriteFile(config_, c.text);
    for (const char* command : {"true", "rsync --server --sender -v . m/x"}) {
      RunResult r = Rrsync({"-config=" + config_, "-modules=m"}, command);
      EXPECT_EQ(r.status, 1) << command;
      EXPECT_EQ(r.err, "rrsync error: " + config_ + c.message + "\n") << command;
    }
  }
  WriteFile(config_, "[m]\npath = " + logs_ + "\n");
  chmod(config_.c_str(), 0664);
  RunResult writable = Rrsync({"-config=" + config_, "-module=m"}, "true");
  EXPECT_EQ(writable.err,
            "rrsync error: " + config_ + ": must not be writable by group or others\n");
  chmod(config_.c_str(), 0644);
  EXPECT_EQ(Rrsync({"-config=" + config_, "-module=m"}, "true").status, 0);
  RunResult missing = Rrsync({"-config=" + config_, "-module=other"}, "true");
  EXPECT_EQ(missing.err, "rrsync error: module other is not defined in " + config_ + "\n");
}

TEST_F(ConfigBinaryTest, SyslogGetsAcceptedRefusedAndTheEnd) {
  SyslogSocket& syslog = *syslog_;
  // What sshd's ExposeAuthInfo leaves for the session.
  WriteFile(root_ + "/auth-info",
            "publickey ssh-ed25519 "
            "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n");
  RunResult r = Rrsync({"-rsync=" ARGV_RECORDER, "-config=" + config_, "-modules=backup,logs"},
                       "rsync --server -vlogDtpre.iLsfxCIvu . backup/new",
                       {{"SSH_USER_AUTH", root_ + "/auth-info"}});
  ASSERT_EQ(r.status, 0) << r.err;
  RunResult refused = Modules("rsync --server -v . logs/x\x1b[31m\aforged");
  EXPECT_EQ(refused.status, 1);
  std::vector<std::string> m = syslog.Messages();
  ASSERT_EQ(m.size(), 3u);
  EXPECT_TRUE(
      m[0].starts_with("accepted client=192.0.2.7 port=50000 user=root "
                       "keys=['ssh-ed25519 SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4U"
                       "vCOqU'] module=backup mode=write-only sandbox="))
      << m[0];
  EXPECT_NE(m[0].find(" argv=['" ARGV_RECORDER "', '--server', '-vlogDtpre.iLsfxCIvu', "
                      "'--drop-D', '--confine-root=" +
                      backup_ + "', '--', '.', '/proc/self/fd/"),
            std::string::npos)
      << m[0];
  // backup is locked (write only), so rrsync waited and logs the end.
  EXPECT_TRUE(m[1].starts_with("finished client=192.0.2.7 port=50000 user=root keys=[")) << m[1];
  EXPECT_NE(m[1].find(" module=backup status=0 seconds="), std::string::npos) << m[1];
  EXPECT_EQ(m[2],
            "refused client=192.0.2.7 port=50000 user=root module=logs "
            "reason='sending to read-only server is not allowed' "
            "command='rsync --server -v . logs/x\\\\x1b[31m\\\\x07forged'");
  EXPECT_EQ(syslog.priorities(),
            (std::vector<int>{LOG_AUTH | LOG_INFO, LOG_AUTH | LOG_INFO, LOG_AUTH | LOG_WARNING}));
}

TEST_F(ConfigBinaryTest, TheFacilityComesFromTheConfig) {
  WriteConfig("syslog facility = local5\n");
  Modules("ls");
  EXPECT_EQ(syslog_->Messages().size(), 1u);
  EXPECT_EQ(syslog_->priorities(), std::vector<int>{LOG_LOCAL5 | LOG_WARNING});
}

TEST_F(ConfigBinaryTest, JsonLogFileIsCreatedPrivateAndParsesLineByLine) {
  std::string log = root_ + "/var/rrsync.json";
  MakeDirs(root_ + "/var");
  WriteConfig("log file = " + log + "\nlog format = json\n");
  ASSERT_EQ(Modules("rsync --server --sender -vlogDtpre.iLsfxCIvu . logs/2026/app.log").status, 0);
  Modules("rsync --server -v . logs/\x1b[2Jevil\x7fname");
  struct stat st;
  ASSERT_EQ(stat(log.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  // jq, as an auditor would query it.
  RunResult jq = RunProgram({"/usr/bin/jq", "-r",
                             "[.event, .module, .client, .port, .mode // "
                             "\"-\", (.argv // [] | length), .reason // \"-\", .command // \"-\"] "
                             "| @tsv",
                             log},
                            {}, root_);
  ASSERT_EQ(jq.status, 0) << jq.err;
  // As root, rsync runs in the mount view and rrsync waits for it: the pull is finished too.
  const std::string finished =
      geteuid() == 0 ? "finished\tlogs\t192.0.2.7\t50000\t-\t0\t-\t-\n" : "";
  EXPECT_EQ(jq.out,
            "accepted\tlogs\t192.0.2.7\t50000\tread-only\t8\t-\t-\n" + finished +
            "refused\tlogs\t192.0.2.7\t50000\t-\t0\tsending to read-only server is not allowed\t"
            "rsync --server -v . logs/\\\\x1b[2Jevil\\\\x7fname\n");
  EXPECT_EQ(ReadFile(log).find('\x1b'), std::string::npos);
}

TEST_F(ConfigBinaryTest, TheLogFileIsNeverFollowedThroughASymlink) {
  std::string log = root_ + "/rrsync.log";
  WriteFile(root_ + "/elsewhere", "");
  ASSERT_EQ(symlink((root_ + "/elsewhere").c_str(), log.c_str()), 0);
  WriteConfig("log file = " + log + "\n");
  RunResult r = Modules("rsync --server --sender -vlogDtpre.iLsfxCIvu . logs/2026/app.log");
  // The session goes on; the failure is said once.
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.err, "rrsync warning: cannot open log file " + log +
                       ": Too many levels of symbolic links\n");
  EXPECT_EQ(ReadFile(root_ + "/elsewhere"), "");
}

TEST_F(ConfigBinaryTest, UpstreamCommandLineCreatesNoLogFile) {
  MakeDirs(home_ + "/dir");
  RunResult r = Rrsync({"-rsync=" ARGV_RECORDER, "-ro", "dir"}, "rsync --server --sender -v . .");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_FALSE(Exists(home_ + "/rrsync.log"));
}

// Every path below `root` with its kind and content, sorted.
std::string Tree(const std::string& root) {
  std::vector<std::string> entries;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    std::string rel = it->path().lexically_relative(root).string();
    entries.push_back(it->is_directory() ? rel + "/" : rel + " = " + ReadFile(it->path()));
  }
  std::sort(entries.begin(), entries.end());
  std::string out;
  for (const std::string& e : entries) out += e + "\n";
  return out;
}

TEST_F(ConfigBinaryTest, RealTransfersThroughTwoModules) {
  const std::string flags = "-config=" + config_ + " -modules=backup,logs";
  RunResult pull = Rsync(flags, {"-a", "x:logs/", root_ + "/got/"});
  ASSERT_EQ(pull.status, 0) << pull.err;
  EXPECT_EQ(Tree(root_ + "/got"), "2026/\n2026/app.log = log line\n");
  RunResult sub = Rsync(flags, {"-a", "x:logs/2026/app.log", root_ + "/one"});
  ASSERT_EQ(sub.status, 0) << sub.err;
  EXPECT_EQ(ReadFile(root_ + "/one"), "log line");

  MakeDirs(root_ + "/src/docs");
  WriteFile(root_ + "/src/docs/a b.txt", "pushed");
  RunResult push = Rsync(flags, {"-a", root_ + "/src/docs", "x:backup/2026-11-24"});
  ASSERT_EQ(push.status, 0) << push.err;
  EXPECT_EQ(ReadFile(backup_ + "/2026-11-24/docs/a b.txt"), "pushed");

  RunResult span = Rsync(flags, {"-a", "x:logs/2026", "x:backup/old", root_ + "/both/"});
  EXPECT_NE(span.status, 0);
  EXPECT_NE(span.err.find("rrsync error: a request must stay inside one module: it names logs "
                          "and backup"),
            std::string::npos)
      << span.err;
  RunResult wrong_way = Rsync(flags, {"-a", root_ + "/src/docs", "x:logs/"});
  EXPECT_NE(wrong_way.status, 0);
  EXPECT_NE(wrong_way.err.find("rrsync error: sending to read-only server is not allowed"),
            std::string::npos);
  EXPECT_EQ(Tree(logs_), "2026/\n2026/app.log = log line\n");
}

std::vector<std::string> ListingDirs() {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator("/tmp"))
    if (entry.path().filename().string().starts_with("rrsync-modules."))
      out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(ConfigBinaryTest, RsyncHostListsTheModulesOfThisKey) {
  const std::vector<std::string> before = ListingDirs();
  RunResult list = Rsync("-config=" + config_ + " -modules=logs,backup", {"x:"});
  ASSERT_EQ(list.status, 0) << list.err;
  // "drwxr-xr-x  4,096 2026/11/24 16:16:42 backup"
  std::vector<std::string> names;
  for (size_t pos = 0, end; (end = list.out.find('\n', pos)) != std::string::npos; pos = end + 1) {
    std::string line = list.out.substr(pos, end - pos);
    names.push_back(line.substr(line.rfind(' ') + 1));
  }
  EXPECT_EQ(names, (std::vector<std::string>{".", "backup", "logs"})) << list.out;
  RunResult only = Rsync("-config=" + config_ + " -modules=logs", {"x:"});
  ASSERT_EQ(only.status, 0) << only.err;
  EXPECT_EQ(only.out.find("backup"), std::string::npos) << only.out;
  // The listing's scratch directory is gone afterwards.
  EXPECT_EQ(ListingDirs(), before);
  // The first module's option lists are about its files, not the list.
  WriteConfig("", "refuse options = *\n");
  RunResult strict = Rsync("-config=" + config_ + " -modules=logs,backup", {"x:"});
  EXPECT_EQ(strict.status, 0) << strict.err;
  // A key that may never read does not get the list.
  RunResult write_only = Rsync("-wo -config=" + config_ + " -modules=backup", {"x:"});
  EXPECT_NE(write_only.status, 0);
  EXPECT_NE(write_only.err.find("rrsync error: reading from write-only server is not allowed"),
            std::string::npos)
      << write_only.err;
  RunResult push =
      Rsync("-config=" + config_ + " -modules=logs,backup", {"-a", root_ + "/rrsync.conf", "x:"});
  EXPECT_NE(push.status, 0);
  EXPECT_NE(push.err.find("rrsync error: name a module as the first component of the path"),
            std::string::npos)
      << push.err;
}

// The sandbox opens only the chosen module's path, with that module's rights.
TEST_F(ConfigBinaryTest, TheSandboxHoldsEachModuleToItsPathAndDirection) {
  if (ProbeLandlockAbi() < 2) GTEST_SKIP() << "this kernel's Landlock is missing or lacks REFER";
  WriteConfig("rsync = " HOSTILE_RSYNC "\nsandbox = require\n");
  for (const std::string& dir : {backup_, logs_}) {
    WriteFile(dir + "/inside.txt", "in");
    WriteFile(dir + "/trunc.txt", "in");
    WriteFile(dir + "/deleteme", "");
    WriteFile(dir + "/renameme", "");
    WriteFile(dir + "/secret", "other module");
    WriteFile(dir + "/victim", "");
    MakeDirs(dir + "/emptydir");
    MakeDirs(dir + "/sub");
    WriteFile(dir + "/sub/moveme", "");
  }
  WriteFile(logs_ + "/.hostile-plan", "dir " + logs_ + "\noutside " + backup_ + "\n");
  WriteFile(backup_ + "/.hostile-plan", "dir " + backup_ + "\noutside " + logs_ + "\n");
  auto run = [&](const std::string& command) {
    return Rrsync({"-config=" + config_, "-modules=backup,logs"}, command).out;
  };
  std::string pull = run("rsync --server --sender -vlogDtpre.iLsfxCIvu . logs/sub/");
  EXPECT_NE(pull.find("read-inside ALLOWED"), std::string::npos) << pull;
  EXPECT_NE(pull.find("write-inside DENIED"), std::string::npos) << pull;
  EXPECT_NE(pull.find("read-outside-abs DENIED"), std::string::npos) << pull;
  EXPECT_NE(pull.find("write-outside DENIED"), std::string::npos) << pull;
  std::string push = run("rsync --server -vlogDtpre.iLsfxCIvu . backup/sub/");
  EXPECT_NE(push.find("write-inside ALLOWED"), std::string::npos) << push;
  EXPECT_NE(push.find("read-outside-abs DENIED"), std::string::npos) << push;
  EXPECT_NE(push.find("write-outside DENIED"), std::string::npos) << push;
  EXPECT_EQ(ReadFile(logs_ + "/secret"), "other module");
  EXPECT_EQ(ReadFile(backup_ + "/secret"), "other module");
}

}  // namespace
}  // namespace rrsync
