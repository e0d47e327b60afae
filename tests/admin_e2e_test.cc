// rrsync-admin against a real throwaway sshd on 127.0.0.1 (tests/e2e/sshd_harness.h): the probe
// classifies our rrsync, upstream's, a shell, an unknown forced command and a refused login; and
// the published flow authorize -> probe -> backup works end to end.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin_test_util.h"
#include "sshd_harness.h"

namespace rrsync {
namespace {

using e2e::Account;
using e2e::CommandResult;
using e2e::SshdHarness;

class ProbeE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string err;
    ASSERT_TRUE(e2e::EnsureTestAccount(&account_, &err)) << err;
    sshd_ = SshdHarness::Start({}, &err);
    ASSERT_TRUE(sshd_) << err;
    ASSERT_TRUE(sshd_->AddClient(account_, &err)) << err;
    data_ = sshd_->dir() + "/data";
    ASSERT_EQ(mkdir(data_.c_str(), 0755), 0);
  }

  // `rrsync-admin probe backup -- -F CONFIG` as the client account.
  CommandResult Probe(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {RRSYNC_ADMIN_BINARY, "probe", sshd_->Alias()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.insert(argv.end(), {"--", "-F", sshd_->ConfigPath(account_)});
    return e2e::Run(account_, argv);
  }

  Account account_;
  std::unique_ptr<SshdHarness> sshd_;
  std::string data_;
};

TEST_F(ProbeE2eTest, OurRrsyncAnswersWithItsMode) {
  std::string err;
  std::string rrsync = sshd_->InstallExecutable(RRSYNC_BINARY, &err);
  ASSERT_FALSE(rrsync.empty()) << err;
  ASSERT_TRUE(sshd_->AuthorizeRrsync(account_, rrsync, {"-ro"}, data_, &err)) << err;
  CommandResult r = Probe();
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.out,
            "rrsync-admin probe: OK backup: restricted by rrsync " RRSYNC_VERSION " (read-only)\n");
  // The answer never reveals the server path.
  EXPECT_EQ(r.out.find(data_), std::string::npos);

  r = Probe({"--expect-mode", "read-write"});
  EXPECT_EQ(r.exit_code, 6) << r.Describe();
  EXPECT_EQ(r.err, "rrsync-admin probe: FAIL backup: restricted by rrsync " RRSYNC_VERSION
                   " but read-only, not the "
                   "expected mode\n");

  ASSERT_TRUE(sshd_->AuthorizeRrsync(account_, rrsync, {"-wo"}, data_, &err)) << err;
  r = Probe({"--expect-mode", "write-only"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.out, "rrsync-admin probe: OK backup: restricted by rrsync " RRSYNC_VERSION
                   " (write-only)\n");
}

TEST_F(ProbeE2eTest, UpstreamRrsyncIsAnotherRrsync) {
  if (access("/usr/bin/rrsync", X_OK) != 0) GTEST_SKIP() << "no upstream /usr/bin/rrsync";
  std::string err;
  std::string upstream = sshd_->InstallExecutable("/usr/bin/rrsync", &err);
  ASSERT_FALSE(upstream.empty()) << err;
  ASSERT_TRUE(sshd_->AuthorizeRrsync(account_, upstream, {"-ro"}, data_, &err)) << err;
  CommandResult r = Probe();
  EXPECT_EQ(r.exit_code, 4) << r.Describe();
  EXPECT_EQ(r.err,
            "rrsync-admin probe: WARN backup: restricted by another rrsync: it refused the probe "
            "as upstream rrsync does\n");
}

TEST_F(ProbeE2eTest, AShellLoginIsNotRestricted) {
  std::string err;
  ASSERT_TRUE(sshd_->SetAuthorizedKeys(account_, sshd_->PublicKey(account_) + "\n", &err)) << err;
  CommandResult r = Probe();
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_EQ(r.err,
            "rrsync-admin probe: FAIL backup: NOT restricted: a shell ran the probe's echo\n");
  // `probe && rsync` therefore never copies from an unrestricted login.
  CommandResult chained =
      e2e::Run(account_, {"/bin/sh", "-c",
                          std::string(RRSYNC_ADMIN_BINARY) + " probe -q backup -- -F " +
                              sshd_->ConfigPath(account_) + " && echo copied"});
  EXPECT_EQ(chained.exit_code, 1) << chained.Describe();
  EXPECT_EQ(chained.out, "");
}

TEST_F(ProbeE2eTest, AnUnknownForcedCommand) {
  std::string err;
  ASSERT_TRUE(sshd_->SetAuthorizedKeys(
      account_, e2e::ForcedCommandLine("/bin/echo hello", sshd_->PublicKey(account_)) + "\n", &err))
      << err;
  CommandResult r = Probe();
  EXPECT_EQ(r.exit_code, 5) << r.Describe();
  EXPECT_EQ(r.err,
            "rrsync-admin probe: WARN backup: restricted by an unknown forced command: exit 0, "
            "said \"hello\\n\"\n");
}

TEST_F(ProbeE2eTest, ASilentForcedCommandTimesOut) {
  std::string err;
  ASSERT_TRUE(sshd_->SetAuthorizedKeys(
      account_, e2e::ForcedCommandLine("/bin/sleep 30", sshd_->PublicKey(account_)) + "\n", &err))
      << err;
  CommandResult r = Probe({"--timeout", "3"});
  EXPECT_EQ(r.exit_code, 5) << r.Describe();
  EXPECT_EQ(r.err,
            "rrsync-admin probe: WARN backup: restricted by an unknown forced command: no answer "
            "within 3 seconds\n");
}

TEST_F(ProbeE2eTest, ARefusedKeyAndAClosedPortAreUnreachable) {
  std::string err;
  ASSERT_TRUE(sshd_->SetAuthorizedKeys(account_, "", &err)) << err;
  CommandResult r = Probe();
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
  EXPECT_NE(r.err.find("rrsync-admin probe: FAIL backup: unreachable or authentication failed: "),
            std::string::npos)
      << r.Describe();
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.Describe();

  // The ssh options after -- reach ssh: here a port nobody listens on.
  CommandResult closed = e2e::Run(account_, {RRSYNC_ADMIN_BINARY, "probe", sshd_->Alias(), "--",
                                             "-F", sshd_->ConfigPath(account_), "-p", "1"});
  EXPECT_EQ(closed.exit_code, 3) << closed.Describe();
  EXPECT_EQ(closed.err,
            "rrsync-admin probe: FAIL backup: unreachable or authentication failed: ssh: connect "
            "to host 127.0.0.1 port 1: Connection refused\n");
}

// The published setup, each step done by rrsync-admin: authorize on the server, probe from the
// client, then the backup itself.
TEST(AdminE2e, AuthorizeThenProbeThenBackup) {
  admin_test::TestUser user("/nonexistent");
  ASSERT_TRUE(user.ok()) << user.error();
  std::string err;
  // sshd reads this user's own ~/.ssh/authorized_keys, which is what authorize writes.
  std::unique_ptr<SshdHarness> sshd =
      SshdHarness::Start({.extra_config = "Match User " + user.name() +
                                          "\n    AuthorizedKeysFile .ssh/authorized_keys\n"},
                         &err);
  ASSERT_TRUE(sshd) << err;
  const std::string home = sshd->dir() + "/home-" + user.name();
  ASSERT_EQ(mkdir(home.c_str(), 0755), 0);
  ASSERT_EQ(chown(home.c_str(), user.uid(), user.gid()), 0);
  ASSERT_TRUE(user.SetHome(home));
  Account account{user.name(), user.uid(), user.gid(), home};
  ASSERT_TRUE(sshd->AddClient(account, &err)) << err;

  const std::string data = sshd->dir() + "/data";
  ASSERT_EQ(mkdir(data.c_str(), 0755), 0);
  admin_test::WriteFile(data + "/report.txt", "quarterly numbers\n");
  ASSERT_EQ(mkdir((data + "/sub").c_str(), 0755), 0);
  admin_test::WriteFile(data + "/sub/deep.txt", "deep\n");
  std::string rrsync = sshd->InstallExecutable(RRSYNC_BINARY, &err);
  ASSERT_FALSE(rrsync.empty()) << err;

  ProcessResult auth =
      admin_test::RunCommand({RRSYNC_ADMIN_BINARY, "authorize", "--user", user.name(), "--dir",
                              data, "--ro", "--key", sshd->KeyPath(account) + ".pub", "--rrsync",
                              rrsync, "--sshd-config", sshd->dir() + "/sshd/sshd_config"});
  ASSERT_EQ(auth.exit_code, 0) << auth.out << auth.err;

  CommandResult probe =
      e2e::Run(account, {RRSYNC_ADMIN_BINARY, "probe", sshd->Alias(), "--expect-mode", "read-only",
                         "--", "-F", sshd->ConfigPath(account)});
  ASSERT_EQ(probe.exit_code, 0) << probe.Describe() << sshd->SshdLog();

  const std::string dest = home + "/restore";
  CommandResult backup = sshd->Rsync(account, {"-a", sshd->Alias() + ":/", dest + "/"});
  ASSERT_EQ(backup.exit_code, 0) << backup.Describe();
  EXPECT_EQ(admin_test::ReadFile(dest + "/report.txt"), "quarterly numbers\n");
  EXPECT_EQ(admin_test::ReadFile(dest + "/sub/deep.txt"), "deep\n");

  // --ro was honoured: an upload is refused.
  admin_test::WriteFile(home + "/upload.txt", "x\n");
  CommandResult push = sshd->Rsync(account, {home + "/upload.txt", sshd->Alias() + ":/"});
  EXPECT_NE(push.exit_code, 0) << push.Describe();
  EXPECT_EQ(access((data + "/upload.txt").c_str(), F_OK), -1);
}

}  // namespace
}  // namespace rrsync
