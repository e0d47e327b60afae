#include "admin_audit.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "admin_test_util.h"
#include "mount_view.h"

namespace rrsync {
namespace {

using admin_test::RunCommand;
using admin_test::ScratchDir;
using admin_test::WriteFile;

constexpr char kAlice[] =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHgHNlTUhZdNSFTGdV2BJF+r4U3elOkYzy1GOKBM8pFq "
    "alice@laptop";
constexpr char kBob[] =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICAZ3fioXDlWMls2WKqmOaWspsGWJ8iQ/4l+QjKrN/2K bob@desk";

// A whole server described by scratch files: an sshd_config (with its own host key), a passwd
// file whose homes are scratch directories, and their authorized_keys. Nothing of the real
// machine's sshd or /root/.ssh is read or changed.
class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // sshd -T insists on its privilege separation directory, as sshd itself does.
    mkdir("/run/sshd", 0755);
    dir_ = scratch_.path();
    ASSERT_EQ(RunCommand({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir_ + "/host_key"})
                  .exit_code,
              0);
    for (const char* d : {"/root", "/root/.ssh", "/bk", "/bk/.ssh", "/data"}) {
      ASSERT_EQ(mkdir((dir_ + d).c_str(), 0755), 0);
    }
  }

  void Sshd(const std::string& settings) {
    WriteFile(dir_ + "/sshd_config", "HostKey " + dir_ + "/host_key\n" + settings);
  }

  void Passwd(const std::string& bk_shell) {
    WriteFile(dir_ + "/passwd", "root:x:0:0:root:" + dir_ + "/root:/bin/sh\n" +
                                    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n" +
                                    "bk:x:4242:4242:backup:" + dir_ + "/bk:" + bk_shell + "\n");
  }

  void Keys(const std::string& user, const std::string& lines) {
    WriteFile(dir_ + "/" + user + "/.ssh/authorized_keys", lines, 0600);
  }

  std::string RrsyncLine(const std::string& options, const std::string& args) {
    return options + "command=\"" + RRSYNC_BINARY + " " + args + "\" " + kAlice + "\n";
  }

  // The settings of a careful admin.
  void GoodSetup() {
    Sshd(
        "PermitRootLogin forced-commands-only\n"
        "AcceptEnv LANG LC_*\n"
        "AllowAgentForwarding no\n"
        "AllowTcpForwarding no\n");
    Passwd("/bin/sh");
    Keys("bk", RrsyncLine("restrict,", "-ro " + dir_ + "/data"));
  }

  std::vector<AuditFinding> Audit() {
    AuditOptions options;
    options.sshd_config = dir_ + "/sshd_config";
    options.passwd = dir_ + "/passwd";
    std::vector<AuditFinding> findings;
    std::string err;
    EXPECT_TRUE(RunAudit(options, &findings, &err)) << err;
    return findings;
  }

  // The findings that are not PASS, as "STATUS check" strings, ignoring the kernel's Landlock
  // (a machine property, checked on its own below).
  static std::vector<std::string> Problems(const std::vector<AuditFinding>& findings) {
    std::vector<std::string> out;
    for (const AuditFinding& f : findings) {
      if (f.status == AuditStatus::kPass || f.check == "kernel.landlock") continue;
      out.push_back(std::string(AuditStatusName(f.status)) + " " + f.check);
    }
    return out;
  }

  static const AuditFinding* FindCheck(const std::vector<AuditFinding>& findings,
                                       const std::string& check, AuditStatus status) {
    for (const AuditFinding& f : findings) {
      if (f.check == check && f.status == status) return &f;
    }
    return nullptr;
  }

  ScratchDir scratch_;
  std::string dir_;
};

TEST_F(AuditTest, GoodSetupReportsNoProblem) {
  GoodSetup();
  std::vector<AuditFinding> findings = Audit();
  EXPECT_EQ(Problems(findings), std::vector<std::string>{}) << FormatAuditText(findings);
  EXPECT_NE(FindCheck(findings, "key.restrict", AuditStatus::kPass), nullptr);
  EXPECT_NE(FindCheck(findings, "key.rrsync_dir", AuditStatus::kPass), nullptr);
  EXPECT_NE(FindCheck(findings, "user.shell", AuditStatus::kPass), nullptr);
  EXPECT_NE(FindCheck(findings, "rsync.features", AuditStatus::kPass), nullptr)
      << FormatAuditText(findings);
}

TEST_F(AuditTest, EachKeyShowsItsMode) {
  GoodSetup();
  Keys("bk", RrsyncLine("restrict,", "-ro " + dir_ + "/data") + "restrict,command=\"" +
                 RRSYNC_BINARY + " -wo -snapshots " + dir_ + "/data\" " + kBob + "\n");
  std::vector<AuditFinding> findings = Audit();
  EXPECT_EQ(Problems(findings), std::vector<std::string>{}) << FormatAuditText(findings);
  std::vector<std::string> modes;
  for (const AuditFinding& f : findings)
    if (f.check == "key.mode") modes.push_back(f.subject + ": " + f.message);
  EXPECT_EQ(modes, (std::vector<std::string>{
                       "bk: ~/.ssh/authorized_keys line 1: rrsync key (alice@laptop) mode: "
                       "read-only",
                       "bk: ~/.ssh/authorized_keys line 2: rrsync key (bob@desk) mode: "
                       "write-only, snapshots (link-dest: no kernel barrier: a hijacked rsync "
                       "can change earlier snapshots; not root)"}))
      << FormatAuditText(findings);
}

// Root's snapshot key gets the mount view: the overlay level on this ext4 DIR, said with why
// not the btrfs one (the btrfs level itself: tests/snapshot_hostile_test.cc, through rrsync).
TEST_F(AuditTest, SnapshotKeyNamesTheLevelRrsyncWouldUse) {
  if (geteuid() != 0) GTEST_SKIP() << "the level as root needs root";
  std::string no_view;
  if (!MountViewSupported(&no_view)) GTEST_SKIP() << "no mount view here: " << no_view;
  GoodSetup();
  Keys("root", "restrict,command=\"" + std::string(RRSYNC_BINARY) + " -wo -snapshots " + dir_ +
                   "/data\" " + kBob + "\n");
  std::string mode;
  for (const AuditFinding& f : Audit())
    if (f.check == "key.mode" && f.subject.starts_with("root:")) mode = f.message;
  EXPECT_EQ(mode,
            "rrsync key (bob@desk) mode: write-only, snapshots (overlay: earlier snapshots are "
            "outside rsync's view, latest its read-only lower layer; DIR is not on btrfs)");
}

TEST_F(AuditTest, BadSetupReportsEachProblem) {
  Sshd("PermitRootLogin yes\n");
  Passwd("/bin/bash");
  Keys("root", std::string(kBob) + "\n");
  Keys("bk", RrsyncLine("", "-ro " + dir_ + "/data"));
  std::vector<AuditFinding> findings = Audit();
  EXPECT_EQ(Problems(findings), (std::vector<std::string>{
                                    "FAIL sshd.permit_root_login",
                                    "WARN sshd.allow_agent_forwarding",
                                    "WARN sshd.allow_tcp_forwarding",
                                    "FAIL key.root_without_command",
                                    "FAIL key.restrict",
                                    "WARN user.shell",
                                }))
      << FormatAuditText(findings);
  const AuditFinding* root_key =
      FindCheck(findings, "key.root_without_command", AuditStatus::kFail);
  ASSERT_NE(root_key, nullptr);
  EXPECT_EQ(root_key->subject, "root: ~/.ssh/authorized_keys line 1");
  EXPECT_EQ(root_key->message, "root key (bob@desk) has no forced command: it opens a root shell");
  const AuditFinding* restrict_ = FindCheck(findings, "key.restrict", AuditStatus::kFail);
  ASSERT_NE(restrict_, nullptr);
  EXPECT_EQ(restrict_->subject, "bk: ~/.ssh/authorized_keys line 1");
  EXPECT_EQ(restrict_->message,
            "rrsync key (alice@laptop) lacks restrict: the client can forward ports and the "
            "agent, and get a pty");
  const AuditFinding* shell = FindCheck(findings, "user.shell", AuditStatus::kWarn);
  ASSERT_NE(shell, nullptr);
  EXPECT_EQ(shell->message,
            "login shell is bash, which reads ~/.bashrc before the forced command: use /bin/sh "
            "(see BASH SECURITY ISSUE in rrsync(1))");
}

TEST_F(AuditTest, BashWithTheHomeInsideAWritableDirFails) {
  GoodSetup();
  Passwd("/bin/bash");
  Keys("bk", RrsyncLine("restrict,", dir_ + "/bk"));
  std::vector<AuditFinding> findings = Audit();
  EXPECT_EQ(Problems(findings),
            (std::vector<std::string>{"FAIL key.login_files", "WARN user.shell"}))
      << FormatAuditText(findings);
  const AuditFinding* exposed = FindCheck(findings, "key.login_files", AuditStatus::kFail);
  ASSERT_NE(exposed, nullptr);
  EXPECT_NE(exposed->message.find("~/.bashrc (bash)"), std::string::npos) << exposed->message;
}

// One `rsync -a evil/.ssh/ host:.ssh/` through a key whose DIR holds ~/.ssh adds a key without
// a forced command. However DIR is spelled, audit finds the directory.
TEST_F(AuditTest, AWritableDirHoldingTheSshDirFails) {
  GoodSetup();
  ASSERT_EQ(symlink((dir_ + "/bk").c_str(), (dir_ + "/link").c_str()), 0);
  for (const std::string& dir : {dir_ + "/bk", std::string("."), std::string("/"), dir_ + "/link",
                                 dir_ + "/bk/.ssh", dir_ + "/bk/../bk/"}) {
    SCOPED_TRACE(dir);
    Keys("bk", RrsyncLine("restrict,", dir));
    std::vector<AuditFinding> findings = Audit();
    EXPECT_EQ(Problems(findings), std::vector<std::string>{"FAIL key.login_files"})
        << FormatAuditText(findings);
    const AuditFinding* exposed = FindCheck(findings, "key.login_files", AuditStatus::kFail);
    ASSERT_NE(exposed, nullptr);
    EXPECT_EQ(exposed->subject, "bk: ~/.ssh/authorized_keys line 1");
    EXPECT_NE(exposed->message.find("~/.ssh/authorized_keys (sshd (AuthorizedKeysFile)), "
                                    "~/.ssh/authorized_keys2 (sshd (AuthorizedKeysFile))"),
              std::string::npos)
        << exposed->message;
  }
  Keys("bk", RrsyncLine("restrict,", dir_ + "/bk"));
  const AuditFinding* exposed = nullptr;
  std::vector<AuditFinding> findings = Audit();
  exposed = FindCheck(findings, "key.login_files", AuditStatus::kFail);
  ASSERT_NE(exposed, nullptr);
  EXPECT_EQ(
      exposed->message,
      "DIR \"" + dir_ +
          "/bk\" is writable and holds files sshd or the login shell read "
          "for bk: ~/.ssh/authorized_keys (sshd (AuthorizedKeysFile)), ~/.ssh/authorized_keys2 "
          "(sshd (AuthorizedKeysFile)), ~/.profile (sh): one upload there opens a shell; use -ro "
          "or a DIR that holds none of them");
}

TEST_F(AuditTest, AReadOnlyKeyMayServeTheHome) {
  GoodSetup();
  Passwd("/bin/bash");
  Keys("bk", RrsyncLine("restrict,", "-ro " + dir_ + "/bk"));
  std::vector<AuditFinding> findings = Audit();
  EXPECT_EQ(Problems(findings), std::vector<std::string>{"WARN user.shell"})
      << FormatAuditText(findings);
}

// With the keys kept outside the home, the shell's startup files still count.
TEST_F(AuditTest, TheShellsStartupFilesCountToo) {
  GoodSetup();
  Sshd(
      "PermitRootLogin forced-commands-only\nAllowAgentForwarding no\nAllowTcpForwarding no\n"
      "AuthorizedKeysFile " +
      dir_ + "/keys/%u\n");
  ASSERT_EQ(mkdir((dir_ + "/keys").c_str(), 0755), 0);
  WriteFile(dir_ + "/keys/bk", RrsyncLine("restrict,", dir_ + "/bk"), 0600);
  std::vector<AuditFinding> findings = Audit();
  const AuditFinding* exposed = FindCheck(findings, "key.login_files", AuditStatus::kFail);
  ASSERT_NE(exposed, nullptr) << FormatAuditText(findings);
  EXPECT_NE(exposed->message.find("for bk: ~/.profile (sh): "), std::string::npos)
      << exposed->message;
  // The keys directory itself is one of them.
  WriteFile(dir_ + "/keys/bk", RrsyncLine("restrict,", dir_ + "/keys"), 0600);
  findings = Audit();
  exposed = FindCheck(findings, "key.login_files", AuditStatus::kFail);
  ASSERT_NE(exposed, nullptr) << FormatAuditText(findings);
  EXPECT_NE(exposed->message.find("for bk: " + dir_ + "/keys/bk (sshd (AuthorizedKeysFile)): "),
            std::string::npos)
      << exposed->message;
}

// A bind mount of the home directory is the home directory under another name.
TEST_F(AuditTest, ABindMountOfTheHomeFails) {
  GoodSetup();
  ASSERT_EQ(mkdir((dir_ + "/mnt").c_str(), 0755), 0);
  Keys("bk", RrsyncLine("restrict,", dir_ + "/mnt"));
  // The mount lives in a mount namespace of its own, which ends with the command.
  ProcessResult run = admin_test::Shell("unshare -m --propagation private sh -c 'mount --bind " +
                                        dir_ + "/bk " + dir_ + "/mnt || exit 77; exec " +
                                        RRSYNC_ADMIN_BINARY + " audit --json --sshd-config " +
                                        dir_ + "/sshd_config --passwd " + dir_ + "/passwd'");
  if (run.exit_code == 77 || run.out.empty()) GTEST_SKIP() << "no bind mount here: " << run.err;
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  nlohmann::json doc = nlohmann::json::parse(run.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << run.out;
  bool found = false;
  for (const auto& f : doc["findings"]) {
    if (f["check"] == "key.login_files" && f["status"] == "FAIL") found = true;
  }
  EXPECT_TRUE(found) << run.out;
}

// A module of a -config key is a DIR like any other.
TEST_F(AuditTest, AWritableModuleHoldingTheHomeFails) {
  GoodSetup();
  WriteFile(dir_ + "/rrsync.conf", "[home]\n    path = " + dir_ + "/bk\n    read only = no\n",
            0644);
  Keys("bk", RrsyncLine("restrict,", "-config=" + dir_ + "/rrsync.conf -module=home"));
  std::vector<AuditFinding> findings = Audit();
  EXPECT_EQ(Problems(findings), std::vector<std::string>{"FAIL key.login_files"})
      << FormatAuditText(findings);
  // Without "read only = no" a module is read only (rsyncd.conf's default): nothing to write.
  WriteFile(dir_ + "/rrsync.conf", "[home]\n    path = " + dir_ + "/bk\n", 0644);
  EXPECT_EQ(Problems(Audit()), std::vector<std::string>{});
  // The key's -wo makes such a module an upload module again.
  Keys("bk", RrsyncLine("restrict,", "-wo -config=" + dir_ + "/rrsync.conf -module=home"));
  EXPECT_EQ(Problems(Audit()), std::vector<std::string>{"FAIL key.login_files"});
}

// sshd is asked as it would answer this account's login (sshd -T -C user=...,addr=...), so a
// Match block counts: a ForceCommand replaces every key's command=.
TEST_F(AuditTest, AForceCommandInAMatchBlockFails) {
  GoodSetup();
  const std::string good =
      "PermitRootLogin forced-commands-only\nAllowAgentForwarding no\nAllowTcpForwarding no\n";
  Sshd(good + "Match User bk\n    ForceCommand internal-sftp\n");
  std::vector<AuditFinding> findings = Audit();
  EXPECT_EQ(Problems(findings), std::vector<std::string>{"FAIL sshd.force_command"})
      << FormatAuditText(findings);
  const AuditFinding* forced = FindCheck(findings, "sshd.force_command", AuditStatus::kFail);
  ASSERT_NE(forced, nullptr);
  EXPECT_EQ(forced->subject, "bk");
  EXPECT_EQ(forced->message,
            "sshd's ForceCommand \"internal-sftp\" applies to bk (from 127.0.0.1): it replaces "
            "every key's command=, so rrsync does not run");

  // A key limited to one address is checked from that address.
  Sshd(good + "Match Address 192.0.2.7\n    ForceCommand /bin/sh\n");
  findings = Audit();
  EXPECT_EQ(Problems(findings), std::vector<std::string>{}) << FormatAuditText(findings);
  Keys("bk", RrsyncLine("restrict,from=\"192.0.2.7\",", "-ro " + dir_ + "/data"));
  findings = Audit();
  forced = FindCheck(findings, "sshd.force_command", AuditStatus::kFail);
  ASSERT_NE(forced, nullptr) << FormatAuditText(findings);
  EXPECT_NE(forced->message.find("applies to bk (from 192.0.2.7)"), std::string::npos)
      << forced->message;
}

TEST_F(AuditTest, AMatchBlocksAuthorizedKeysFileIsRead) {
  GoodSetup();
  Sshd(
      "PermitRootLogin forced-commands-only\nAllowAgentForwarding no\nAllowTcpForwarding no\n"
      "Match User bk\n    AuthorizedKeysFile .ssh/authorized_keys " +
      dir_ + "/keys/%u\n");
  ASSERT_EQ(mkdir((dir_ + "/keys").c_str(), 0755), 0);
  WriteFile(dir_ + "/keys/bk", std::string(kBob) + "\n", 0600);
  std::vector<AuditFinding> findings = Audit();
  EXPECT_EQ(Problems(findings), std::vector<std::string>{"WARN key.without_command"})
      << FormatAuditText(findings);
  const AuditFinding* bare = FindCheck(findings, "key.without_command", AuditStatus::kWarn);
  ASSERT_NE(bare, nullptr);
  EXPECT_EQ(bare->subject, "bk: " + dir_ + "/keys/bk line 1");
}

// sshd takes the first line that holds the key, in any of the files it reads: the rrsync line
// restricts nothing while the same key sits in authorized_keys2 without a forced command.
TEST_F(AuditTest, TheSameKeyWithoutACommandInAnotherFileFails) {
  GoodSetup();
  WriteFile(dir_ + "/bk/.ssh/authorized_keys2", std::string(kAlice) + "\n", 0600);
  std::vector<AuditFinding> findings = Audit();
  EXPECT_EQ(Problems(findings),
            (std::vector<std::string>{"WARN key.without_command", "FAIL key.duplicate"}))
      << FormatAuditText(findings);
  const AuditFinding* dup = FindCheck(findings, "key.duplicate", AuditStatus::kFail);
  ASSERT_NE(dup, nullptr);
  EXPECT_EQ(dup->subject, "bk: ~/.ssh/authorized_keys2 line 1");
  EXPECT_EQ(dup->message,
            "key (alice@laptop) is the rrsync key of ~/.ssh/authorized_keys line 1 but has no "
            "forced command here: sshd may pick this line and open a shell; remove it");
}

TEST_F(AuditTest, ServerSettingsThatLetClientsInjectEnvironment) {
  Sshd(
      "PermitRootLogin forced-commands-only\n"
      "PermitUserEnvironment yes\n"
      "AcceptEnv LANG LD_*\n"
      "DisableForwarding yes\n");
  Passwd("/bin/sh");
  Keys("bk", RrsyncLine("restrict,", "-ro " + dir_ + "/data"));
  std::vector<AuditFinding> findings = Audit();
  EXPECT_EQ(Problems(findings),
            (std::vector<std::string>{"FAIL sshd.permit_user_environment", "FAIL sshd.accept_env"}))
      << FormatAuditText(findings);
  const AuditFinding* accept_env = FindCheck(findings, "sshd.accept_env", AuditStatus::kFail);
  ASSERT_NE(accept_env, nullptr) << FormatAuditText(findings);
  EXPECT_EQ(accept_env->message,
            "AcceptEnv lets clients set variables the shell or loader obey: LD_* (matches "
            "LD_PRELOAD)");
}

TEST_F(AuditTest, BrokenKeyLines) {
  GoodSetup();
  ASSERT_EQ(mkdir((dir_ + "/open").c_str(), 0777), 0);
  ASSERT_EQ(chmod((dir_ + "/open").c_str(), 0777), 0);
  ASSERT_EQ(RunCommand({"cp", RRSYNC_BINARY, dir_ + "/open/rrsync"}).exit_code, 0);
  Passwd("/usr/sbin/nologin");
  Keys("bk", RrsyncLine("restrict,", dir_ + "/missing") + "restrict,command=\"" + dir_ +
                 "/open/rrsync -ro -log=" + dir_ + "/data/log " + dir_ + "/data\" " + kBob + "\n" +
                 "restrict,command=\"" + RRSYNC_BINARY + " -log=" + dir_ + "/data/log " + dir_ +
                 "/data\" " + kBob + "\n");
  std::vector<AuditFinding> findings = Audit();
  // Line 2's log file is missing (read-only key: no danger, but nothing gets logged); line 3's
  // lies inside the DIR the client can write.
  EXPECT_EQ(Problems(findings),
            (std::vector<std::string>{"FAIL key.rrsync_dir", "FAIL key.rrsync_path",
                                      "WARN key.log_file", "FAIL key.log_file", "FAIL user.shell"}))
      << FormatAuditText(findings);
  const AuditFinding* dir = FindCheck(findings, "key.rrsync_dir", AuditStatus::kFail);
  ASSERT_NE(dir, nullptr) << FormatAuditText(findings);
  EXPECT_EQ(dir->message, "DIR \"" + dir_ + "/missing\" does not exist");
  const AuditFinding* path = FindCheck(findings, "key.rrsync_path", AuditStatus::kFail);
  ASSERT_NE(path, nullptr) << FormatAuditText(findings);
  EXPECT_EQ(path->message, "\"" + dir_ + "/open\" (on the way to " + dir_ +
                               "/open/rrsync) is writable by group or others");
  const AuditFinding* log = FindCheck(findings, "key.log_file", AuditStatus::kFail);
  ASSERT_NE(log, nullptr) << FormatAuditText(findings);
  EXPECT_EQ(log->subject, "bk: ~/.ssh/authorized_keys line 3");
}

TEST_F(AuditTest, AShellKeyBesideRrsyncKeysAndWeakFlags) {
  GoodSetup();
  // A bare key undoes the restriction of the other keys; a command without a path lets sshd's
  // PATH choose; -sandbox=off turns the kernel confinement off. Bob's bare line comes first, so
  // sshd never uses his rrsync line.
  Keys("bk", RrsyncLine("restrict,", "-ro " + dir_ + "/data") + kBob + "\n" +
                 "restrict,command=\"rrsync -sandbox=off -ro " + dir_ + "/data\" " + kBob + "\n");
  std::vector<AuditFinding> findings = Audit();
  EXPECT_EQ(Problems(findings),
            (std::vector<std::string>{"WARN key.without_command", "WARN key.rrsync_path",
                                      "WARN key.sandbox", "FAIL key.duplicate"}))
      << FormatAuditText(findings);
  const AuditFinding* bare = FindCheck(findings, "key.without_command", AuditStatus::kWarn);
  ASSERT_NE(bare, nullptr) << FormatAuditText(findings);
  EXPECT_EQ(bare->message, "key (bob@desk) has no forced command: it opens a shell for bk");
}

TEST_F(AuditTest, ChecksTheConfigFileAndTheModulesAKeyNames) {
  GoodSetup();
  WriteFile(dir_ + "/rrsync.conf", "[backup]\n    path = " + dir_ + "/data\n", 0644);
  ASSERT_EQ(chown((dir_ + "/rrsync.conf").c_str(), 0, 0), 0);
  Keys("bk", RrsyncLine("restrict,", "-config=" + dir_ + "/rrsync.conf -module=backup"));
  std::vector<AuditFinding> findings = Audit();
  EXPECT_EQ(Problems(findings), std::vector<std::string>{}) << FormatAuditText(findings);
  EXPECT_NE(FindCheck(findings, "key.rrsync_config", AuditStatus::kPass), nullptr);

  Keys("bk", RrsyncLine("restrict,", "-config=" + dir_ + "/rrsync.conf -modules=backup,logs"));
  findings = Audit();
  const AuditFinding* missing = FindCheck(findings, "key.rrsync_config", AuditStatus::kFail);
  ASSERT_NE(missing, nullptr) << FormatAuditText(findings);
  EXPECT_NE(missing->message.find("module \"logs\" is not in"), std::string::npos)
      << missing->message;

  // A config rrsync refuses (an unknown key) makes every session fail: audit says so.
  WriteFile(dir_ + "/rrsync.conf", "colour = blue\n[backup]\n    path = " + dir_ + "/data\n", 0644);
  Keys("bk", RrsyncLine("restrict,", "-config=" + dir_ + "/rrsync.conf -module=backup"));
  findings = Audit();
  const AuditFinding* bad = FindCheck(findings, "key.rrsync_config", AuditStatus::kFail);
  ASSERT_NE(bad, nullptr) << FormatAuditText(findings);
  EXPECT_NE(bad->message.find("rrsync.conf:1: "), std::string::npos) << bad->message;
}

// rrsync runs as the account: a config file only root can read refuses every session.
TEST_F(AuditTest, AConfigFileTheAccountCannotReadFails) {
  GoodSetup();
  ASSERT_EQ(mkdir((dir_ + "/etc").c_str(), 0755), 0);
  const std::string conf = dir_ + "/etc/rrsync.conf";
  WriteFile(conf, "[backup]\n    path = " + dir_ + "/data\n", 0600);
  Keys("bk", RrsyncLine("restrict,", "-config=" + conf + " -module=backup"));
  std::vector<AuditFinding> findings = Audit();
  EXPECT_EQ(Problems(findings), std::vector<std::string>{"FAIL key.rrsync_config"})
      << FormatAuditText(findings);
  const AuditFinding* config = FindCheck(findings, "key.rrsync_config", AuditStatus::kFail);
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(config->message, "bk cannot read \"" + conf + "\": rrsync will refuse every session");

  // Readable, but behind a directory the account cannot enter.
  ASSERT_EQ(chmod(conf.c_str(), 0644), 0);
  ASSERT_EQ(chmod((dir_ + "/etc").c_str(), 0700), 0);
  findings = Audit();
  EXPECT_EQ(Problems(findings), std::vector<std::string>{"FAIL key.rrsync_config"})
      << FormatAuditText(findings);
  ASSERT_EQ(chmod((dir_ + "/etc").c_str(), 0755), 0);
  findings = Audit();
  EXPECT_EQ(Problems(findings), std::vector<std::string>{}) << FormatAuditText(findings);
}

// rrsync opens the log as the account; when it cannot, nothing is logged and nothing says so.
TEST_F(AuditTest, ALogFileTheAccountCannotWriteFails) {
  GoodSetup();
  ASSERT_EQ(mkdir((dir_ + "/logs").c_str(), 0755), 0);
  const std::string log = dir_ + "/logs/rrsync.log";
  WriteFile(log, "", 0644);
  Keys("bk", RrsyncLine("restrict,", "-ro -log=" + log + " " + dir_ + "/data"));
  std::vector<AuditFinding> findings = Audit();
  EXPECT_EQ(Problems(findings), std::vector<std::string>{"FAIL key.log_file"})
      << FormatAuditText(findings);
  const AuditFinding* failed = FindCheck(findings, "key.log_file", AuditStatus::kFail);
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ(failed->message,
            "bk cannot write log file \"" + log + "\": rrsync logs nothing for this key");
  ASSERT_EQ(chown(log.c_str(), 4242, 4242), 0);
  findings = Audit();
  EXPECT_EQ(Problems(findings), std::vector<std::string>{}) << FormatAuditText(findings);
}

// A wrapper's grants widen what a hijacked rsync reaches outside DIR: each is a WARN, never a
// PASS; -wrapper-exec is an rrsync flag like the others (not "unknown").
TEST_F(AuditTest, WrapperGrantsAreWarnings) {
  GoodSetup();
  Keys("bk", RrsyncLine("restrict,", "-wrapper-exec=/usr/bin/nice -wrapper-read=/opt/py "
                                     "-wrapper-write=/var/log/wrapper -ro " + dir_ + "/data"));
  std::vector<AuditFinding> findings = Audit();
  if (HasFailure()) return;
  EXPECT_EQ(Problems(findings),
            (std::vector<std::string>{"WARN key.wrapper_grant", "WARN key.wrapper_grant"}))
      << FormatAuditText(findings);
  const std::string text = FormatAuditText(findings);
  EXPECT_NE(text.find("wrapper read /opt/py: the wrapper, and an rsync hijacked by a client, may "
                      "read it outside DIR"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("wrapper write /var/log/wrapper: the wrapper, and an rsync hijacked by a "
                      "client, may read and change it outside DIR"),
            std::string::npos)
      << text;
}

// For an account other than root, -sandbox=require needs the whole Landlock ruleset: an older
// kernel refuses every session (src/sandbox/sandbox.cc, PrepareSandbox).
TEST_F(AuditTest, RequireOnAKernelThatCannotEnforceItFails) {
  GoodSetup();
  Keys("bk", RrsyncLine("restrict,", "-sandbox=require -ro " + dir_ + "/data"));
  AuditOptions options;
  options.sshd_config = dir_ + "/sshd_config";
  options.passwd = dir_ + "/passwd";
  options.landlock_probe = [] { return 3; };
  std::vector<AuditFinding> findings;
  std::string err;
  ASSERT_TRUE(RunAudit(options, &findings, &err)) << err;
  EXPECT_EQ(Problems(findings), std::vector<std::string>{"FAIL key.sandbox"})
      << FormatAuditText(findings);
  const AuditFinding* sandbox = FindCheck(findings, "key.sandbox", AuditStatus::kFail);
  ASSERT_NE(sandbox, nullptr);
  EXPECT_EQ(sandbox->message.rfind("-sandbox=require: Landlock ABI 3 cannot enforce the full "
                                   "ruleset (lacks ",
                                   0),
            0u)
      << sandbox->message;
  EXPECT_NE(sandbox->message.find("): rrsync refuses every session for bk"), std::string::npos)
      << sandbox->message;

  options.landlock_probe = [] { return 0; };
  ASSERT_TRUE(RunAudit(options, &findings, &err)) << err;
  sandbox = FindCheck(findings, "key.sandbox", AuditStatus::kFail);
  ASSERT_NE(sandbox, nullptr) << FormatAuditText(findings);
  EXPECT_EQ(sandbox->message,
            "-sandbox=require: Landlock is not available on this kernel: rrsync refuses every "
            "session for bk");

  options.landlock_probe = [] { return 99; };
  ASSERT_TRUE(RunAudit(options, &findings, &err)) << err;
  EXPECT_EQ(FindCheck(findings, "key.sandbox", AuditStatus::kFail), nullptr)
      << FormatAuditText(findings);
}

// sshd reads every line of authorized_keys; audit reads 8 MiB. A longer file is a FAIL, not a
// file audited in part: the key past the limit here opens a shell.
TEST_F(AuditTest, AKeysFileOverTheReadLimitFails) {
  GoodSetup();
  std::string text = RrsyncLine("restrict,", "-ro " + dir_ + "/data");
  const std::string filler = "# " + std::string(1000, 'x') + "\n";
  while (text.size() <= (8u << 20)) text += filler;
  text += std::string(kBob) + "\n";
  Keys("bk", text);
  std::vector<AuditFinding> findings = Audit();
  EXPECT_EQ(Problems(findings), std::vector<std::string>{"FAIL keys.too_large"})
      << FormatAuditText(findings);
  const AuditFinding* large = FindCheck(findings, "keys.too_large", AuditStatus::kFail);
  ASSERT_NE(large, nullptr);
  EXPECT_EQ(large->message, "\"" + dir_ +
                                "/bk/.ssh/authorized_keys\" is larger than 8388608 "
                                "bytes: sshd reads all of it, audit read only the start");
}

TEST_F(AuditTest, CommandLineExitCodesAndJson) {
  GoodSetup();
  const std::vector<std::string> base = {RRSYNC_ADMIN_BINARY,   "audit",    "--sshd-config",
                                         dir_ + "/sshd_config", "--passwd", dir_ + "/passwd"};
  ProcessResult good = RunCommand(base);
  EXPECT_EQ(good.exit_code, 0) << good.out << good.err;
  EXPECT_NE(good.out.find("\naudit: 0 FAIL, "), std::string::npos) << good.out;

  Sshd("PermitRootLogin yes\n");
  std::vector<std::string> json_args = base;
  json_args.push_back("--json");
  ProcessResult bad = RunCommand(json_args);
  EXPECT_EQ(bad.exit_code, 1) << bad.err;
  nlohmann::json doc = nlohmann::json::parse(bad.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << bad.out;
  EXPECT_GE(doc["fail"].get<int>(), 1);
  bool found = false;
  for (const auto& f : doc["findings"]) {
    if (f["check"] == "sshd.permit_root_login") {
      EXPECT_EQ(f["status"], "FAIL");
      EXPECT_EQ(f["subject"], "sshd");
      found = true;
    }
  }
  EXPECT_TRUE(found) << bad.out;

  std::vector<std::string> user_args = base;
  user_args.insert(user_args.end(), {"--user", "nosuchuser"});
  ProcessResult missing = RunCommand(user_args);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err,
            "rrsync-admin error: no such user \"nosuchuser\" in " + dir_ + "/passwd\n");
}

TEST(AuditLandlock, ReportsTheKernelAbi) {
  int abi = LandlockAbiVersion();
  if (abi == 0) GTEST_SKIP() << "this kernel has no Landlock";
  EXPECT_GE(abi, 1);
}

TEST(ParseSshdSettings, KeepsRepeatedKeywords) {
  SshdSettings s = ParseSshdSettings("port 22\nacceptenv LANG\nacceptenv LC_*\n");
  EXPECT_EQ(s.Get("port"), "22");
  EXPECT_EQ(s.values["acceptenv"], (std::vector<std::string>{"LANG", "LC_*"}));
  EXPECT_EQ(s.Get("nosuch", "dflt"), "dflt");
}

TEST(LiteralAddresses, KeepsAddressesAndNetworksButNotPatterns) {
  EXPECT_EQ(LiteralAddresses("192.0.2.7,10.0.0.0/8,!10.1.2.3,10.2.*,host.example.org,2001:db8::1"),
            (std::vector<std::string>{"192.0.2.7", "10.0.0.0", "2001:db8::1"}));
  EXPECT_EQ(LiteralAddresses(""), std::vector<std::string>{});
}

TEST(ParsePasswd, ReadsFieldsAndSkipsJunk) {
  std::vector<PasswdEntry> e =
      ParsePasswd("root:x:0:0:root:/root:/bin/bash\nbroken line\nbk:x:12:34::/srv/bk:/bin/sh\n");
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[1].name, "bk");
  EXPECT_EQ(e[1].uid, 12u);
  EXPECT_EQ(e[1].gid, 34u);
  EXPECT_EQ(e[1].home, "/srv/bk");
  EXPECT_EQ(e[1].shell, "/bin/sh");
}

}  // namespace
}  // namespace rrsync
