#include "admin_authorize.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin_test_util.h"

namespace rrsync {
namespace {

using admin_test::ReadFile;
using admin_test::RunCommand;
using admin_test::ScratchDir;
using admin_test::TestUser;
using admin_test::WriteFile;

constexpr char kAlice[] =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHgHNlTUhZdNSFTGdV2BJF+r4U3elOkYzy1GOKBM8pFq "
    "alice@laptop";
constexpr char kBob[] =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICAZ3fioXDlWMls2WKqmOaWspsGWJ8iQ/4l+QjKrN/2K bob@desk";

// A real account whose home lives in a scratch directory, a restricted DIR and Alice's key.
class AuthorizeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = scratch_.path() + "/home";
    data_ = scratch_.path() + "/data";
    ASSERT_EQ(mkdir(home_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir(data_.c_str(), 0755), 0);
    user_ = std::make_unique<TestUser>(home_);
    ASSERT_TRUE(user_->ok()) << user_->error();
    ASSERT_EQ(chown(home_.c_str(), user_->uid(), user_->gid()), 0);
    key_file_ = scratch_.path() + "/alice.pub";
    WriteFile(key_file_, std::string(kAlice) + "\n");
    // authorize asks sshd which files it reads for the account: a scratch sshd_config, so the
    // machine's own settings do not change what the tests see.
    ASSERT_EQ(RunCommand({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                          scratch_.path() + "/host_key"})
                  .exit_code,
              0);
    Sshd("");
    mkdir("/run/sshd", 0755);
  }

  void Sshd(const std::string& settings) {
    WriteFile(sshd_config(), "HostKey " + scratch_.path() + "/host_key\n" + settings);
  }
  std::string sshd_config() { return scratch_.path() + "/sshd_config"; }

  AuthorizeRequest Request() {
    AuthorizeRequest r;
    r.user = user_->name();
    r.dir = data_;
    r.key_file = key_file_;
    r.spec.rrsync_path = RRSYNC_BINARY;
    r.sshd_config = sshd_config();
    r.pam_sshd.clear();
    return r;
  }

  std::string Line(const std::string& flags) {
    return std::string("restrict,command=\"") + RRSYNC_BINARY + " " + flags +
           (flags.empty() ? "" : " ") + data_ + "\" " + kAlice;
  }

  std::string KeysPath() { return home_ + "/.ssh/authorized_keys"; }

  ScratchDir scratch_;
  std::string home_, data_, key_file_;
  std::unique_ptr<TestUser> user_;
};

TEST_F(AuthorizeTest, CreatesSshDirAndFileOwnedByTheUser) {
  AuthorizeRequest request = Request();
  request.spec.read_only = true;
  AuthorizeOutcome outcome;
  std::string err;
  ASSERT_TRUE(Authorize(request, &outcome, &err)) << err;
  EXPECT_TRUE(outcome.created_ssh_dir);
  EXPECT_TRUE(outcome.created_file);
  EXPECT_TRUE(outcome.wrote);
  EXPECT_EQ(outcome.action, MergeAction::kAdded);
  EXPECT_EQ(outcome.line, Line("-ro"));
  EXPECT_NE(outcome.fingerprint.find("SHA256:"), std::string::npos) << outcome.fingerprint;

  struct stat st;
  ASSERT_EQ(lstat((home_ + "/.ssh").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(st.st_uid, user_->uid());
  EXPECT_EQ(st.st_gid, user_->gid());
  ASSERT_EQ(lstat(KeysPath().c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, user_->uid());
  EXPECT_EQ(st.st_gid, user_->gid());
  EXPECT_EQ(ReadFile(KeysPath()), Line("-ro") + "\n");
  // No temporary file is left behind.
  EXPECT_EQ(RunCommand({"ls", "-A", home_ + "/.ssh"}).out, "authorized_keys\n");
}

TEST_F(AuthorizeTest, IsIdempotentAndKeepsEveryOtherLine) {
  ASSERT_EQ(mkdir((home_ + "/.ssh").c_str(), 0700), 0);
  const std::string existing =
      "# keys of this account\n" + std::string(kBob) + "\n\nsomething sshd would not parse\n";
  WriteFile(KeysPath(), existing, 0600);
  AuthorizeOutcome outcome;
  std::string err;
  ASSERT_TRUE(Authorize(Request(), &outcome, &err)) << err;
  EXPECT_EQ(outcome.action, MergeAction::kAdded);
  EXPECT_EQ(ReadFile(KeysPath()), existing + Line("") + "\n");

  ASSERT_TRUE(Authorize(Request(), &outcome, &err)) << err;
  EXPECT_EQ(outcome.action, MergeAction::kUnchanged);
  EXPECT_FALSE(outcome.wrote);
  EXPECT_EQ(ReadFile(KeysPath()), existing + Line("") + "\n");
}

TEST_F(AuthorizeTest, ReplacesTheLineForTheSameKey) {
  AuthorizeOutcome outcome;
  std::string err;
  AuthorizeRequest request = Request();
  request.spec.read_only = true;
  ASSERT_TRUE(Authorize(request, &outcome, &err)) << err;
  request.spec.read_only = false;
  request.spec.write_only = true;
  request.spec.no_delete = true;
  ASSERT_TRUE(Authorize(request, &outcome, &err)) << err;
  EXPECT_EQ(outcome.action, MergeAction::kReplaced);
  EXPECT_EQ(ReadFile(KeysPath()), Line("-wo -no-del") + "\n");
}

TEST_F(AuthorizeTest, KeepsTheModeAndOwnerOfAnExistingFile) {
  ASSERT_EQ(mkdir((home_ + "/.ssh").c_str(), 0700), 0);
  WriteFile(KeysPath(), std::string(kBob) + "\n", 0640);
  ASSERT_EQ(chown(KeysPath().c_str(), 0, user_->gid()), 0);
  AuthorizeOutcome outcome;
  std::string err;
  ASSERT_TRUE(Authorize(Request(), &outcome, &err)) << err;
  struct stat st;
  ASSERT_EQ(stat(KeysPath().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(st.st_gid, user_->gid());
}

TEST_F(AuthorizeTest, RelativeDirIsUnderTheHome) {
  ASSERT_EQ(mkdir((home_ + "/backup").c_str(), 0755), 0);
  AuthorizeRequest request = Request();
  request.dir = "backup";
  AuthorizeOutcome outcome;
  std::string err;
  ASSERT_TRUE(Authorize(request, &outcome, &err)) << err;
  EXPECT_NE(outcome.line.find(" " + home_ + "/backup\" "), std::string::npos) << outcome.line;
}

TEST_F(AuthorizeTest, QuotesADirWithSpacesForTheShell) {
  const std::string dir = scratch_.path() + "/my data";
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  AuthorizeRequest request = Request();
  request.dir = dir;
  request.spec.from = "192.0.2.0/24,!192.0.2.9";
  request.spec.comment = "nightly backup";
  AuthorizeOutcome outcome;
  std::string err;
  ASSERT_TRUE(Authorize(request, &outcome, &err)) << err;
  EXPECT_EQ(outcome.line,
            std::string("restrict,command=\"") + RRSYNC_BINARY + " '" + dir +
                "'\",from=\"192.0.2.0/24,!192.0.2.9\" ssh-ed25519 "
                "AAAAC3NzaC1lZDI1NTE5AAAAIHgHNlTUhZdNSFTGdV2BJF+r4U3elOkYzy1GOKBM8pFq "
                "nightly backup");
}

TEST_F(AuthorizeTest, GenerateMakesAnEd25519KeyWithoutPassphrase) {
  AuthorizeRequest request = Request();
  request.key_file.clear();
  request.generate_file = scratch_.path() + "/client_key";
  AuthorizeOutcome outcome;
  std::string err;
  ASSERT_TRUE(Authorize(request, &outcome, &err)) << err;
  EXPECT_TRUE(outcome.generated);
  EXPECT_EQ(outcome.key_type, "ssh-ed25519");
  // -P "": loading the private key with an empty passphrase must work.
  ProcessResult derived = RunCommand({"ssh-keygen", "-y", "-P", "", "-f", request.generate_file});
  ASSERT_EQ(derived.exit_code, 0) << derived.err;
  std::string pub = ReadFile(request.generate_file + ".pub");
  std::string type_and_blob = pub.substr(0, pub.find(' ', pub.find(' ') + 1));
  EXPECT_EQ(derived.out.substr(0, type_and_blob.size()), type_and_blob);
  EXPECT_NE(ReadFile(KeysPath()).find(type_and_blob), std::string::npos);
  EXPECT_NE(outcome.fingerprint.find("(ED25519)"), std::string::npos) << outcome.fingerprint;
  // Never overwrites an existing key.
  EXPECT_FALSE(Authorize(request, &outcome, &err));
  EXPECT_EQ(err, "\"" + request.generate_file + "\" already exists; refusing to overwrite a key");
}

TEST_F(AuthorizeTest, RefusesAMissingDir) {
  AuthorizeRequest request = Request();
  request.dir = scratch_.path() + "/nope";
  AuthorizeOutcome outcome;
  std::string err;
  EXPECT_FALSE(Authorize(request, &outcome, &err));
  EXPECT_EQ(err, "DIR \"" + scratch_.path() + "/nope\" does not exist or is not a directory");
  EXPECT_EQ(access((home_ + "/.ssh").c_str(), F_OK), -1);
}

TEST_F(AuthorizeTest, RefusesContradictingFlags) {
  AuthorizeRequest request = Request();
  request.spec.read_only = true;
  request.spec.write_only = true;
  AuthorizeOutcome outcome;
  std::string err;
  EXPECT_FALSE(Authorize(request, &outcome, &err));
  EXPECT_EQ(err, "--ro and --wo contradict each other");
  request.spec.write_only = false;
  request.spec.no_overwrite = true;
  EXPECT_FALSE(Authorize(request, &outcome, &err));
  EXPECT_EQ(err, "--no-overwrite governs uploads, which --ro refuses: they contradict each other");
}

TEST_F(AuthorizeTest, RefusesAnUntrustedRrsyncPath) {
  const std::string copy = scratch_.path() + "/rrsync";
  ASSERT_EQ(RunCommand({"cp", RRSYNC_BINARY, copy}).exit_code, 0);
  ASSERT_EQ(chmod(scratch_.path().c_str(), 0777), 0);
  AuthorizeRequest request = Request();
  request.spec.rrsync_path = copy;
  AuthorizeOutcome outcome;
  std::string err;
  EXPECT_FALSE(Authorize(request, &outcome, &err));
  EXPECT_EQ(err, "refusing rrsync path \"" + copy + "\": \"" + scratch_.path() +
                     "\" (on the way to " + copy + ") is writable by group or others");
  chmod(scratch_.path().c_str(), 0755);
}

TEST_F(AuthorizeTest, RefusesAPrivateKey) {
  WriteFile(key_file_,
            "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n");
  AuthorizeOutcome outcome;
  std::string err;
  EXPECT_FALSE(Authorize(Request(), &outcome, &err));
  EXPECT_EQ(err, "\"" + key_file_ + "\" is not usable: this is a private key; pass the .pub file");
}

TEST_F(AuthorizeTest, NeverFollowsASymlinkedSshDir) {
  const std::string elsewhere = scratch_.path() + "/elsewhere";
  ASSERT_EQ(mkdir(elsewhere.c_str(), 0700), 0);
  ASSERT_EQ(symlink(elsewhere.c_str(), (home_ + "/.ssh").c_str()), 0);
  AuthorizeOutcome outcome;
  std::string err;
  EXPECT_FALSE(Authorize(Request(), &outcome, &err));
  EXPECT_EQ(err,
            "Failed to open \"" + home_ + "/.ssh\" (it must be a real directory): Not a directory");
  EXPECT_EQ(access((elsewhere + "/authorized_keys").c_str(), F_OK), -1);
}

TEST_F(AuthorizeTest, NeverFollowsASymlinkedKeysFile) {
  ASSERT_EQ(mkdir((home_ + "/.ssh").c_str(), 0700), 0);
  ASSERT_EQ(symlink("/etc/shadow", KeysPath().c_str()), 0);
  AuthorizeOutcome outcome;
  std::string err;
  EXPECT_FALSE(Authorize(Request(), &outcome, &err));
  EXPECT_EQ(err, "Failed to open \"" + KeysPath() +
                     "\" (it must be a regular file): Too many levels of symbolic links");
}

// A client who may write where sshd or the shell reads the account's files gets a shell: one
// `rsync -a evil/.ssh/ host:.ssh/` adds a key without a forced command. However DIR is spelled.
TEST_F(AuthorizeTest, RefusesAWritableDirHoldingTheAccountsLoginFiles) {
  ASSERT_EQ(symlink(home_.c_str(), (scratch_.path() + "/link").c_str()), 0);
  for (const std::string& dir :
       {home_, std::string("."), std::string("/"), scratch_.path() + "/link", home_ + "/.ssh"}) {
    SCOPED_TRACE(dir);
    AuthorizeRequest request = Request();
    request.dir = dir;
    if (dir == home_ + "/.ssh") {
      ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
    }
    AuthorizeOutcome outcome;
    std::string err;
    EXPECT_FALSE(Authorize(request, &outcome, &err));
    EXPECT_NE(err.find("holds files sshd or the login shell read for " + user_->name() +
                       ": ~/.ssh/authorized_keys (sshd (AuthorizedKeysFile))"),
              std::string::npos)
        << err;
    EXPECT_EQ(access(KeysPath().c_str(), F_OK), -1);
  }
  AuthorizeRequest request = Request();
  request.dir = home_;
  request.spec.write_only = true;
  AuthorizeOutcome outcome;
  std::string err;
  EXPECT_FALSE(Authorize(request, &outcome, &err));
  EXPECT_EQ(err, "refusing DIR \"" + home_ +
                     "\": it holds files sshd or the login shell read for " + user_->name() +
                     ": ~/.ssh/authorized_keys (sshd (AuthorizedKeysFile)), "
                     "~/.ssh/authorized_keys2 (sshd (AuthorizedKeysFile)), ~/.ssh/rc (sshd "
                     "(PermitUserRC)), ~/.profile (sh): a client who may write there gets a "
                     "shell; use --ro or another DIR");
}

TEST_F(AuthorizeTest, AReadOnlyKeyMayServeTheHome) {
  AuthorizeRequest request = Request();
  request.dir = home_;
  request.spec.read_only = true;
  AuthorizeOutcome outcome;
  std::string err;
  ASSERT_TRUE(Authorize(request, &outcome, &err)) << err;
  EXPECT_TRUE(outcome.wrote);
}

// sshd takes the first line that holds the key in any file it reads: the same key without this
// forced command in authorized_keys2 would undo the restriction.
TEST_F(AuthorizeTest, RefusesAKeyAnotherKeysFileGrantsOtherwise) {
  ASSERT_EQ(mkdir((home_ + "/.ssh").c_str(), 0700), 0);
  WriteFile(home_ + "/.ssh/authorized_keys2", "# old\n" + std::string(kAlice) + "\n", 0600);
  AuthorizeOutcome outcome;
  std::string err;
  EXPECT_FALSE(Authorize(Request(), &outcome, &err));
  EXPECT_EQ(err, "the key is already in \"" + home_ +
                     "/.ssh/authorized_keys2\" line 2 without this forced command: sshd may use "
                     "that line instead; remove it there first");
  EXPECT_EQ(access(KeysPath().c_str(), F_OK), -1);

  WriteFile(home_ + "/.ssh/authorized_keys2", Line("") + "\n", 0600);
  EXPECT_TRUE(Authorize(Request(), &outcome, &err)) << err;
}

// sshd is asked as it would answer this account's login, so Match blocks count.
TEST_F(AuthorizeTest, RefusesWhenSshdWouldNotUseTheLine) {
  Sshd("Match User " + user_->name() + "\n    ForceCommand internal-sftp\n");
  AuthorizeOutcome outcome;
  std::string err;
  EXPECT_FALSE(Authorize(Request(), &outcome, &err));
  EXPECT_EQ(err, "sshd's ForceCommand \"internal-sftp\" applies to " + user_->name() +
                     ": it would replace the key's command=");

  // --from names the addresses the key will come from: a Match Address block for one of them
  // counts.
  Sshd("Match Address 192.0.2.7\n    ForceCommand internal-sftp\n");
  AuthorizeRequest request = Request();
  request.dry_run = true;
  EXPECT_TRUE(Authorize(request, &outcome, &err)) << err;
  request.spec.from = "192.0.2.0/24,192.0.2.7";
  EXPECT_FALSE(Authorize(request, &outcome, &err));
  EXPECT_EQ(err, "sshd's ForceCommand \"internal-sftp\" applies to " + user_->name() +
                     " from 192.0.2.7: it would replace the key's command=");

  Sshd("Match User " + user_->name() + "\n    AuthorizedKeysFile /etc/ssh/keys/%u\n");
  EXPECT_FALSE(Authorize(Request(), &outcome, &err));
  EXPECT_EQ(err, "sshd does not read \"" + KeysPath() + "\" for " + user_->name() +
                     " (AuthorizedKeysFile /etc/ssh/keys/%u): the key would never be used");
  EXPECT_EQ(access((home_ + "/.ssh").c_str(), F_OK), -1);
}

TEST_F(AuthorizeTest, DryRunChangesNothing) {
  AuthorizeRequest request = Request();
  request.dry_run = true;
  AuthorizeOutcome outcome;
  std::string err;
  ASSERT_TRUE(Authorize(request, &outcome, &err)) << err;
  EXPECT_EQ(outcome.line, Line(""));
  EXPECT_FALSE(outcome.wrote);
  EXPECT_EQ(access((home_ + "/.ssh").c_str(), F_OK), -1);
}

TEST_F(AuthorizeTest, CommandLinePrintsTheLineTheStanzaAndTheProbe) {
  ProcessResult r =
      RunCommand({RRSYNC_ADMIN_BINARY, "authorize", "--user", user_->name(), "--dir", data_, "--ro",
                  "--key", key_file_, "--rrsync", RRSYNC_BINARY, "--alias", "backup", "--host",
                  "server.example.org", "--sshd-config", sshd_config()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), Line("-ro"));
  EXPECT_NE(r.out.find("added the line to " + KeysPath() + "\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Host backup\n"
                       "    HostName server.example.org\n"
                       "    User " +
                       user_->name() +
                       "\n"
                       "    IdentityFile ~/.ssh/alice\n"
                       "    IdentitiesOnly yes\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("    ControlMaster no\n    ControlPath none\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("    rrsync-admin probe --expect-mode read-only backup\n"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(ReadFile(KeysPath()), Line("-ro") + "\n");

  r = RunCommand({RRSYNC_ADMIN_BINARY, "authorize", "--user", user_->name(), "--dir", data_, "--ro",
                  "--wo", "--key", key_file_, "--rrsync", RRSYNC_BINARY});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "rrsync-admin error: --ro and --wo contradict each other\n");
  r = RunCommand({RRSYNC_ADMIN_BINARY, "authorize", "--user", user_->name(), "--dir", ".", "--key",
                  key_file_, "--rrsync", RRSYNC_BINARY, "--sshd-config", sshd_config()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("rrsync-admin error: refusing DIR \"" + home_ + "/.\": it holds files ", 0),
            0u)
      << r.err;
  r = RunCommand({RRSYNC_ADMIN_BINARY, "authorize", "--user", user_->name(), "--dir", data_});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "rrsync-admin error: authorize needs --key FILE.pub or --generate FILE\n");
}

TEST_F(AuthorizeTest, SnapshotsWritesTheFlagAndKeepsItOnARerun) {
  const std::vector<std::string> argv = {RRSYNC_ADMIN_BINARY,
                                         "authorize",
                                         "--user",
                                         user_->name(),
                                         "--dir",
                                         data_,
                                         "--wo",
                                         "--snapshots",
                                         "--key",
                                         key_file_,
                                         "--rrsync",
                                         RRSYNC_BINARY,
                                         "--sshd-config",
                                         sshd_config()};
  ProcessResult r = RunCommand(argv);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), Line("-wo -snapshots"));
  EXPECT_EQ(ReadFile(KeysPath()), Line("-wo -snapshots") + "\n");
  r = RunCommand(argv);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\nthe line is already in " + KeysPath() + "\n"), std::string::npos)
      << r.out;
  EXPECT_EQ(ReadFile(KeysPath()), Line("-wo -snapshots") + "\n");
}

TEST_F(AuthorizeTest, DryRunPrintsADiffAndWarnsWhenARerunLoosens) {
  ASSERT_EQ(mkdir((home_ + "/.ssh").c_str(), 0700), 0);
  const std::string old_line = "restrict,command=\"" + std::string(RRSYNC_BINARY) +
                               " -ro -snapshots " + data_ + "\",from=\"10.0.0.0/8\" " + kAlice;
  const std::string existing = "# keys\n" + old_line + "\n" + kBob + "\n";
  WriteFile(KeysPath(), existing, 0600);
  ProcessResult r = RunCommand({RRSYNC_ADMIN_BINARY, "authorize", "--user", user_->name(), "--dir",
                                data_, "--key", key_file_, "--rrsync", RRSYNC_BINARY,
                                "--sshd-config", sshd_config(), "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err,
            "rrsync-admin warning: the new line loosens the one it replaces for this key: drops "
            "from=\"10.0.0.0/8\", drops -ro, drops -snapshots\n");
  EXPECT_NE(r.out.find("\n--- " + KeysPath() + "\n+++ " + KeysPath() +
                       " (after)\n@@ -2,1 +2,1 @@\n-" + old_line + "\n+" + Line("") + "\n"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(ReadFile(KeysPath()), existing);

  // The same line again: nothing loosens, nothing to show.
  WriteFile(KeysPath(), Line("") + "\n", 0600);
  r = RunCommand({RRSYNC_ADMIN_BINARY, "authorize", "--user", user_->name(), "--dir", data_,
                  "--key", key_file_, "--rrsync", RRSYNC_BINARY, "--sshd-config", sshd_config(),
                  "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out.find("--- "), std::string::npos) << r.out;

  // A new key: the diff appends it.
  WriteFile(KeysPath(), std::string(kBob) + "\n", 0600);
  r = RunCommand({RRSYNC_ADMIN_BINARY, "authorize", "--user", user_->name(), "--dir", data_, "--ro",
                  "--key", key_file_, "--rrsync", RRSYNC_BINARY, "--sshd-config", sshd_config(),
                  "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("@@ -1,0 +2,1 @@\n+" + Line("-ro") + "\n"), std::string::npos) << r.out;
}

TEST(AuthorizeLoosening, EachDroppedRestriction) {
  AuthorizedKey before, after;
  std::string err;
  ASSERT_TRUE(
      ParseAuthorizedKeyLine("restrict,command=\"/usr/bin/rrsync -wo -no-del /a\","
                             "from=\"192.0.2.1\",expiry-time=\"20270101\" " +
                                 std::string(kAlice),
                             &before, &err))
      << err;
  ASSERT_TRUE(ParseAuthorizedKeyLine(
      "command=\"/usr/bin/rrsync /b\",from=\"192.0.2.*\" " + std::string(kAlice), &after, &err))
      << err;
  EXPECT_EQ(LooseningOf(before, after),
            (std::vector<std::string>{"changes from=\"192.0.2.1\" to \"192.0.2.*\"",
                                      "drops expiry-time=\"20270101\"", "drops restrict",
                                      "drops -wo", "drops -no-del", "changes DIR /a to /b"}));
  EXPECT_EQ(LooseningOf(before, before), std::vector<std::string>{});
}

TEST(AuthorizeFrom, ValidatedLikeSshd) {
  std::string err;
  for (const char* good :
       {"192.0.2.7", "192.0.2.0/24", "0.0.0.0/0", "!192.0.2.9,192.0.2.0/24", "2001:db8::1",
        "2001:db8::/32", "::/0", "*.example.org", "backup?.example.org", "192.168.1.*",
        "host-1.example.org,10.0.0.0/8", "fe80::*"}) {
    EXPECT_TRUE(CheckFromPatterns(good, &err)) << good << ": " << err;
  }
  struct Bad {
    const char* from;
    const char* message;
  };
  for (const Bad& bad : std::vector<Bad>{
           {"300.1.1.1/99",
            "--from \"300.1.1.1/99\": 300.1.1.1 is not an IPv4 or IPv6 address "
            "(before /PREFIX)"},
           {"10.0.0.0/33", "--from \"10.0.0.0/33\": /33 is not a prefix length for IPv4 (0-32)"},
           {"10.0.0.0/", "--from \"10.0.0.0/\": / is not a prefix length for IPv4 (0-32)"},
           {"10.0.0.0/-1", "--from \"10.0.0.0/-1\": /-1 is not a prefix length for IPv4 (0-32)"},
           {"2001:db8::/129",
            "--from \"2001:db8::/129\": /129 is not a prefix length for IPv6 (0-128)"},
           {"300.1.1.1", "--from \"300.1.1.1\": 300.1.1.1 is not an IPv4 address"},
           {"1.2.3", "--from \"1.2.3\": 1.2.3 is not an IPv4 address"},
           {"2001:db8:::1", "--from \"2001:db8:::1\": 2001:db8:::1 is not an IPv6 address"},
           {"a,,b", "--from \"\": an empty pattern (sshd would refuse the whole line)"},
           {"!", "--from \"!\": an empty pattern (sshd would refuse the whole line)"},
           {"a b", "--from \"a b\": patterns hold letters, digits and . : * ? / _ - % only"},
           {"x\"y", "--from \"x\"y\": patterns hold letters, digits and . : * ? / _ - % only"}}) {
    EXPECT_FALSE(CheckFromPatterns(bad.from, &err)) << bad.from;
    EXPECT_EQ(err, bad.message);
  }
}

TEST_F(AuthorizeTest, RefusesAnInvalidFrom) {
  ProcessResult r = RunCommand({RRSYNC_ADMIN_BINARY, "authorize", "--user", user_->name(), "--dir",
                                data_, "--key", key_file_, "--rrsync", RRSYNC_BINARY,
                                "--sshd-config", sshd_config(), "--from", "300.1.1.1/99"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "rrsync-admin error: --from \"300.1.1.1/99\": 300.1.1.1 is not an IPv4 or IPv6 "
            "address (before /PREFIX)\n");
  EXPECT_EQ(access((home_ + "/.ssh").c_str(), F_OK), -1);
}

TEST_F(AuthorizeTest, RefusesWeakKeys) {
  for (const char* bits : {"1024", "2047"}) {
    const std::string file = scratch_.path() + "/rsa" + bits;
    ASSERT_EQ(
        RunCommand({"ssh-keygen", "-q", "-t", "rsa", "-b", bits, "-N", "", "-f", file}).exit_code,
        0);
    AuthorizeRequest request = Request();
    request.key_file = file + ".pub";
    AuthorizeOutcome outcome;
    std::string err;
    EXPECT_FALSE(Authorize(request, &outcome, &err));
    EXPECT_EQ(err, std::string("RSA keys under 2048 bits are refused (this one has ") + bits +
                       "): make an ed25519 key");
  }
  const std::string rsa = scratch_.path() + "/rsa2048";
  ASSERT_EQ(
      RunCommand({"ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", rsa}).exit_code,
      0);
  AuthorizeRequest request = Request();
  request.key_file = rsa + ".pub";
  AuthorizeOutcome outcome;
  std::string err;
  EXPECT_TRUE(Authorize(request, &outcome, &err)) << err;
  // A DSA key (written by hand: newer ssh-keygen no longer makes them).
  const std::string dsa = scratch_.path() + "/dsa.pub";
  WriteFile(
      dsa,
      "ssh-dss AAAAB3NzaC1kc3MAAACBAP1/U4EddRIpUt9KnC7s5Of2EbdSPO9EAMMeP4C2USZpRV1AIlH7WT2NWPq/"
      "xfW6MPbLm1Vs14E7gB00b/JmYLdrmVClpJ+f6AR7ECLCT7up1/63xhv4O1fnxqimFQ8E+4P208UewwI1VBNaFpEy9n"
      "Xzrith1yrv8iIDGZ3RSAHHAAAAFQCXYFCPFSMLzLKSuYKi64QL8Fgc9QAAAIEA9+GghdabPd7LvKtcNrhXuXmUr7v6"
      "OuqC+VdMCz0HgmdRWVeOutRZT+ZxBxCBgLRJFnEj6EwoFhO3zwkyjMim4TwWeotUfI0o4KOuHiuzpnWRbqN/C/ohNW"
      "Lx+2J6ASQ7zKTxvqhRkImog9/hWuWfBpKLZl6Ae1UlZAFMO/7PSSoAAACBAPXNqWl0BgpsGPmjhwKj7Ts8UrU5pTLW"
      "g0TNbmEsw+9J8bzn/Nk3CQGZcMjzXTJxF1/nIM/VnOtwe4RRu0RvVmXbpOEywmyixtdzyi45Fe+q5ET81iXHwZ/i4+"
      "aUtbJ64AZWQ/ajwpkvRGy/vE/E5w/wHIOqWy3pD4H6KjeYWHtM old@dsa\n");
  request.key_file = dsa;
  EXPECT_FALSE(Authorize(request, &outcome, &err));
  EXPECT_EQ(err, "DSA keys are refused (1024 bits, disabled in OpenSSH): make an ed25519 key");
}

TEST_F(AuthorizeTest, RefusesAShellThatRefusesCommands) {
  for (const char* shell : {"/usr/sbin/nologin", "/bin/false"}) {
    TestUser locked_out(home_, shell);
    ASSERT_TRUE(locked_out.ok()) << locked_out.error();
    AuthorizeRequest request = Request();
    request.user = locked_out.name();
    AuthorizeOutcome outcome;
    std::string err;
    EXPECT_FALSE(Authorize(request, &outcome, &err));
    EXPECT_EQ(err, locked_out.name() + "'s login shell " + shell +
                       " refuses to run commands, so sshd cannot start rrsync: give the account "
                       "/bin/sh (usermod -s /bin/sh " +
                       locked_out.name() + ")");
  }
}

// sshd without PAM refuses a locked account (auth.c allowed_user: a password starting with
// "!"); with UsePAM yes it leaves accounts to PAM, whose pam_unix lets a key in.
TEST_F(AuthorizeTest, ALockedAccountIsRefusedWhereSshdRefusesIt) {
  ASSERT_EQ(RunCommand({"usermod", "-L", user_->name()}).exit_code, 0);
  Sshd("UsePAM no\n");
  AuthorizeOutcome outcome;
  std::string err;
  EXPECT_FALSE(Authorize(Request(), &outcome, &err));
  EXPECT_EQ(err, "the account " + user_->name() +
                     " is locked (its password starts with '!') and sshd has UsePAM no: sshd "
                     "refuses every login to it, keys too (usermod -p '*' " +
                     user_->name() + " allows key logins without a password)");
  Sshd("UsePAM yes\n");
  EXPECT_TRUE(Authorize(Request(), &outcome, &err)) << err;
}

// Each byte that would break the forced command's quoting (single quotes in the shell, double
// quotes around command="...") or its line is refused in DIR and in the rrsync path.
TEST(AuthorizeSpecCheck, RefusesBytesThatBreakTheQuoting) {
  PublicKey key;
  std::string err;
  ASSERT_TRUE(ParsePublicKeyText(kAlice, &key, &err)) << err;
  for (const char* bad : {"'", "\"", "\\", "\n", "\r", "\x01", "\x7f"}) {
    AuthorizeSpec spec;
    spec.rrsync_path = "/usr/bin/rrsync";
    spec.dir = std::string("/srv/a") + bad + "b";
    std::string line;
    EXPECT_FALSE(BuildAuthorizedLine(spec, key, &line, &err)) << line;
    EXPECT_EQ(err, "DIR must not hold quotes, backslashes or control characters");
    spec.dir = "/srv/data";
    spec.rrsync_path = std::string("/usr/bin/rr") + bad + "sync";
    EXPECT_FALSE(BuildAuthorizedLine(spec, key, &line, &err)) << line;
    EXPECT_EQ(err,
              "the rrsync path must be absolute, without quotes, backslashes or control "
              "characters");
  }
  // What single quotes do hold safely stays one word: blanks, $, backquotes, ;.
  AuthorizeSpec spec;
  spec.rrsync_path = "/usr/bin/rrsync";
  spec.dir = "/srv/a b/$(touch x)`id`;x";
  std::string line;
  ASSERT_TRUE(BuildAuthorizedLine(spec, key, &line, &err)) << err;
  AuthorizedKey parsed;
  ASSERT_TRUE(ParseAuthorizedKeyLine(line, &parsed, &err)) << err;
  const KeyOption* command = parsed.Find("command");
  ASSERT_NE(command, nullptr);
  EXPECT_EQ(command->value, "/usr/bin/rrsync '/srv/a b/$(touch x)`id`;x'");
}

TEST_F(AuthorizeTest, RefusesAQuoteInDir) {
  const std::string quoted = scratch_.path() + "/it's";
  ASSERT_EQ(mkdir(quoted.c_str(), 0755), 0);
  ProcessResult r =
      RunCommand({RRSYNC_ADMIN_BINARY, "authorize", "--user", user_->name(), "--dir", quoted,
                  "--key", key_file_, "--rrsync", RRSYNC_BINARY, "--sshd-config", sshd_config()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "rrsync-admin error: DIR must not hold quotes, backslashes or control characters\n");
  EXPECT_EQ(access((home_ + "/.ssh").c_str(), F_OK), -1);
}

TEST(AdminCommandLine, EverySubcommandHasHelp) {
  for (const char* sub : {"authorize", "audit", "probe", "ssh-config", "snapshots", "prune"}) {
    ProcessResult r = RunCommand({RRSYNC_ADMIN_BINARY, sub, "--help"});
    EXPECT_EQ(r.exit_code, 0) << sub << ": " << r.err;
    EXPECT_NE(r.out.find(std::string("rrsync-admin ") + sub), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("--help"), std::string::npos) << r.out;
  }
  ProcessResult r = RunCommand({RRSYNC_ADMIN_BINARY, "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* sub : {"authorize", "audit", "probe", "ssh-config", "snapshots", "prune"}) {
    EXPECT_NE(r.out.find(sub), std::string::npos) << r.out;
  }
  r = RunCommand({RRSYNC_ADMIN_BINARY});
  EXPECT_EQ(r.exit_code, 2);
  r = RunCommand({RRSYNC_ADMIN_BINARY, "frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
}

TEST(AdminCommandLine, SshConfigPrintsTheStanza) {
  ProcessResult r = RunCommand({RRSYNC_ADMIN_BINARY, "ssh-config", "--alias", "backup", "--host",
                                "server.example.org", "--key", "~/.ssh/backup", "--user", "bk",
                                "--port", "2222"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "Host backup\n"
            "    HostName server.example.org\n"
            "    User bk\n"
            "    Port 2222\n"
            "    IdentityFile ~/.ssh/backup\n"
            "    IdentitiesOnly yes\n"
            "    ForwardAgent no\n"
            "    ForwardX11 no\n"
            "    BatchMode yes\n"
            "    ControlMaster no\n"
            "    ControlPath none\n");
}

}  // namespace
}  // namespace rrsync
