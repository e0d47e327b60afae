// -config and -modules the way an admin deploys them: the forced command of a real sshd on
// 127.0.0.1 (tests/e2e/sshd_harness.h), the real ssh and rsync clients, an unprivileged account,
// sshd's ExposeAuthInfo for the key fingerprint, and a syslog socket of the test's own.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "sandbox.h"
#include "sshd_harness.h"

namespace rrsync::e2e {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class ConfigEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string err;
    SshdHarness::Options options;
    options.extra_config = "ExposeAuthInfo yes\n";
    sshd_ = SshdHarness::Start(options, &err);
    ASSERT_TRUE(sshd_) << err;
    ASSERT_TRUE(EnsureTestAccount(&account_, &err)) << err;
    ASSERT_TRUE(sshd_->AddClient(account_, &err)) << err;
    rrsync_ = sshd_->InstallExecutable(RRSYNC_BINARY, &err);
    ASSERT_FALSE(rrsync_.empty()) << err;
    root_ = sshd_->dir();
    backup_ = root_ + "/srv/backup";
    logs_ = root_ + "/srv/logs";
    fs::create_directories(root_ + "/srv");
    for (const std::string& d :
         {backup_, logs_, logs_ + "/2026", root_ + "/var", root_ + "/src", root_ + "/dest"})
      Own(d, true);
    Put(logs_ + "/2026/app.log", "started\n");
    Put(root_ + "/src/db.dump", "rows\n");

    // The syslog socket the config points rrsync at.
    sock_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    std::string sock_path = root_ + "/log.sock";
    std::strncpy(addr.sun_path, sock_path.c_str(), sizeof(addr.sun_path) - 1);
    ASSERT_EQ(bind(sock_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    chmod(sock_path.c_str(), 0666);
  }
  void TearDown() override {
    if (sock_ >= 0) close(sock_);
  }

  void Own(const std::string& path, bool dir) {
    if (dir) fs::create_directories(path);
    ASSERT_EQ(chown(path.c_str(), account_.uid, account_.gid), 0) << path;
  }
  void Put(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
    Own(path, false);
  }

  // Writes the root-owned config and authorizes the key for `flags`.
  void Configure(const std::string& globals, const std::string& flags) {
    config_ = root_ + "/rrsync.conf";
    std::ofstream(config_) << "syslog socket = " << root_ << "/log.sock\n"
                           << "log file = " << root_ << "/var/rrsync.json\n"
                           << "log format = json\n"
                           << globals << "\n"
                           << "[backup]\npath = " << backup_ << "\nwrite only = yes\n\n"
                           << "[logs]\npath = " << logs_ << "\nread only = yes\n";
    chmod(config_.c_str(), 0644);
    std::string err;
    ASSERT_TRUE(
        sshd_->SetAuthorizedKeys(account_,
                                 ForcedCommandLine(rrsync_ + " -config=" + config_ + " " + flags,
                                                   sshd_->PublicKey(account_)),
                                 &err))
        << err;
  }

  std::vector<std::string> SyslogMessages() {
    std::vector<std::string> out;
    char buf[65536];
    while (true) {
      ssize_t n = recv(sock_, buf, sizeof(buf), MSG_DONTWAIT);
      if (n <= 0) break;
      std::string d(buf, static_cast<size_t>(n));
      out.push_back(d.substr(d.find("]: ") + 3));
    }
    return out;
  }

  // What ssh-keygen -l says of the client's key: "SHA256:...".
  std::string Fingerprint() {
    CommandResult r =
        e2e::Run(account_, {"ssh-keygen", "-l", "-f", sshd_->KeyPath(account_) + ".pub"});
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    return r.out.substr(r.out.find(' ') + 1,
                        r.out.find(' ', r.out.find(' ') + 1) - r.out.find(' ') - 1);
  }

  CommandResult Rsync(const std::vector<std::string>& args) { return sshd_->Rsync(account_, args); }
  std::string Remote(const std::string& path) const { return sshd_->Alias() + ":" + path; }

  std::unique_ptr<SshdHarness> sshd_;
  Account account_;
  std::string rrsync_, root_, backup_, logs_, config_;
  int sock_ = -1;
};

TEST_F(ConfigEndToEnd, SeveralModulesThroughOneKey) {
  Configure("", "-modules=backup,logs");
  CommandResult pull = Rsync({"-a", Remote("logs/2026/"), root_ + "/dest/"});
  ASSERT_EQ(pull.exit_code, 0) << pull.Describe();
  EXPECT_EQ(Slurp(root_ + "/dest/app.log"), "started\n");

  CommandResult push = Rsync({"-a", root_ + "/src/", Remote("backup/today/")});
  ASSERT_EQ(push.exit_code, 0) << push.Describe();
  EXPECT_EQ(Slurp(backup_ + "/today/db.dump"), "rows\n");

  CommandResult span = Rsync({"-a", Remote("logs/2026"), Remote("backup/today"), root_ + "/dest/"});
  EXPECT_NE(span.exit_code, 0);
  EXPECT_NE(span.err.find("rrsync error: a request must stay inside one module: it names logs "
                          "and backup"),
            std::string::npos)
      << span.Describe();
  // Each module keeps its own direction.
  CommandResult into_logs = Rsync({"-a", root_ + "/src/", Remote("logs/")});
  EXPECT_NE(into_logs.exit_code, 0);
  EXPECT_NE(into_logs.err.find("rrsync error: sending to read-only server is not allowed"),
            std::string::npos)
      << into_logs.Describe();
  CommandResult from_backup = Rsync({"-a", Remote("backup/"), root_ + "/dest/"});
  EXPECT_NE(from_backup.exit_code, 0);
  EXPECT_NE(from_backup.err.find("rrsync error: reading from write-only server is not allowed"),
            std::string::npos)
      << from_backup.Describe();
  EXPECT_FALSE(fs::exists(logs_ + "/db.dump"));

  CommandResult list = Rsync({Remote("")});
  ASSERT_EQ(list.exit_code, 0) << list.Describe();
  EXPECT_NE(list.out.find(" backup\n"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find(" logs\n"), std::string::npos) << list.out;

  // The audit trail: syslog with the key's fingerprint from ExposeAuthInfo.
  std::vector<std::string> messages = SyslogMessages();
  const std::string who = "client=127.0.0.1 port=";
  const std::string key = "keys=['ssh-ed25519 " + Fingerprint() + "']";
  int accepted = 0, refused = 0, finished = 0;
  for (const std::string& m : messages) {
    EXPECT_NE(m.find(who), std::string::npos) << m;
    EXPECT_NE(m.find(" user=" + account_.name + " "), std::string::npos) << m;
    EXPECT_NE(m.find(key), std::string::npos) << m;
    accepted += m.starts_with("accepted ");
    refused += m.starts_with("refused ");
    finished += m.starts_with("finished ");
  }
  EXPECT_EQ(accepted, 3);  // pull, push, listing
  EXPECT_EQ(refused, 3);
  EXPECT_EQ(finished, 3);  // every session that ran rsync: pull, push and listing
  // The JSON log: one object per line, created 0600 by the account.
  std::string log = root_ + "/var/rrsync.json";
  struct stat st;
  ASSERT_EQ(stat(log.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, account_.uid);
  CommandResult jq = e2e::Run(
      account_, {"jq", "-r", "[.event, .module // \"-\", .mode // \"-\"] | join(\" \")", log});
  ASSERT_EQ(jq.exit_code, 0) << jq.Describe();
  EXPECT_EQ(jq.out,
            "accepted logs read-only\n"
            "finished logs -\n"
            "accepted backup write-only\n"
            "finished backup -\n"
            "refused - -\n"
            "refused logs -\n"
            "refused backup -\n"
            "accepted - read-only\n"
            "finished - -\n");
}

TEST_F(ConfigEndToEnd, SecludedArgsNameTheModuleAndReachTheLog) {
  // With -s the module is in the words on stdin; the log shows those words, not "-s" alone.
  Configure("", "-modules=backup,logs");
  CommandResult pull = Rsync({"-s", "-a", Remote("logs/2026/"), root_ + "/dest/"});
  ASSERT_EQ(pull.exit_code, 0) << pull.Describe();
  EXPECT_EQ(Slurp(root_ + "/dest/app.log"), "started\n");
  CommandResult push = Rsync({"--protect-args", "-a", root_ + "/src/", Remote("backup/to day/")});
  ASSERT_EQ(push.exit_code, 0) << push.Describe();
  EXPECT_EQ(Slurp(backup_ + "/to day/db.dump"), "rows\n");

  CommandResult into_logs = Rsync({"-s", "-a", root_ + "/src/", Remote("logs/")});
  EXPECT_EQ(into_logs.exit_code, 12) << into_logs.Describe();
  EXPECT_NE(into_logs.err.find("rrsync error: sending to read-only server is not allowed\n"),
            std::string::npos)
      << into_logs.Describe();
  CommandResult unknown = Rsync({"-s", "-a", Remote("etc/passwd"), root_ + "/dest/"});
  EXPECT_EQ(unknown.exit_code, 12) << unknown.Describe();
  EXPECT_NE(unknown.err.find("rrsync error: unknown module 'etc' (this key may use: backup, "
                             "logs)\n"),
            std::string::npos)
      << unknown.Describe();
  EXPECT_FALSE(fs::exists(logs_ + "/db.dump"));

  CommandResult jq = e2e::Run(
      account_, {"jq", "-r",
                 "[.event, .module // \"-\", (.argv // [] | join(\" \")), .command // \"-\"] "
                 "| join(\"|\")",
                 root_ + "/var/rrsync.json"});
  ASSERT_EQ(jq.exit_code, 0) << jq.Describe();
  std::vector<std::string> lines;
  std::istringstream in(jq.out);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 6u) << jq.out;
  // rsync gets the paths pinned by descriptor (/proc/self/fd/N/...), the options as sent.
  EXPECT_TRUE(lines[0].starts_with("accepted|logs|/usr/bin/rsync --server --sender "
                                   "-logDtpre.iLsfxCIvu --confine-root=" + logs_ + " -- . "))
      << lines[0];
  EXPECT_TRUE(lines[0].ends_with("/|-")) << lines[0];
  EXPECT_EQ(lines[1], "finished|logs||-");  // every session that ran rsync, pulls included
  EXPECT_TRUE(lines[2].starts_with("accepted|backup|/usr/bin/rsync --server -logDtpre.iLsfxCIvu "
                                   "--drop-D --confine-root=" + backup_ + " -- . "))
      << lines[2];
  EXPECT_TRUE(lines[2].ends_with("/to day/|-")) << lines[2];
  EXPECT_EQ(lines[3], "finished|backup||-");
  EXPECT_EQ(lines[4], "refused|logs||rsync --server -logDtpre.iLsfxCIvu . logs/");
  EXPECT_EQ(lines[5], "refused|-||rsync --server --sender -logDtpre.iLsfxCIvu . etc/passwd");
}

TEST_F(ConfigEndToEnd, OneModuleUnderTheRequiredSandbox) {
  if (ProbeLandlockAbi() < 2) GTEST_SKIP() << "this kernel's Landlock is missing or lacks REFER";
  Configure("sandbox = require", "-module=backup");
  CommandResult push = Rsync({"-a", root_ + "/src/", Remote("nightly/")});
  ASSERT_EQ(push.exit_code, 0) << push.Describe();
  EXPECT_EQ(Slurp(backup_ + "/nightly/db.dump"), "rows\n");
  bool enforced = false;
  std::vector<std::string> messages = SyslogMessages();
  for (const std::string& m : messages)
    enforced = enforced ||
               (m.starts_with("accepted ") && m.find("module=backup mode=write-only "
                                                     "sandbox=landlock-abi") != std::string::npos);
  EXPECT_TRUE(enforced) << ::testing::PrintToString(messages);
}

TEST_F(ConfigEndToEnd, ABadConfigRefusesTheSession) {
  Configure("colour = blue", "-modules=backup,logs");
  CommandResult r = Rsync({"-a", Remote("logs/"), root_ + "/dest/"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("rrsync error: " + config_ + ":4: unknown key 'colour'"), std::string::npos)
      << r.Describe();
}

}  // namespace
}  // namespace rrsync::e2e
