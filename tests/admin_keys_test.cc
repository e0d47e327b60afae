#include "admin_keys.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin_key_blob.h"
#include "admin_test_util.h"

namespace rrsync {
namespace {

using admin_test::ReadFile;
using admin_test::RunCommand;
using admin_test::ScratchDir;
using admin_test::WriteFile;

constexpr char kAlice[] =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHgHNlTUhZdNSFTGdV2BJF+r4U3elOkYzy1GOKBM8pFq "
    "alice@laptop";
constexpr char kBob[] =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICAZ3fioXDlWMls2WKqmOaWspsGWJ8iQ/4l+QjKrN/2K bob@desk";

PublicKey Parse(const std::string& text) {
  PublicKey key;
  std::string err;
  EXPECT_TRUE(ParsePublicKeyText(text, &key, &err)) << err;
  return key;
}

// ssh-keygen -l's "BITS SHA256:... COMMENT (TYPE)" for a key file.
std::string KeygenLine(const std::string& pub) {
  ProcessResult r = RunCommand({"ssh-keygen", "-l", "-f", pub});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out.substr(0, r.out.find('\n'));
}

// Each algorithm ssh-keygen makes, read back from the blob: the same fingerprint and bits.
TEST(KeyBlob, FingerprintAndBitsMatchSshKeygen) {
  ScratchDir scratch;
  struct Case {
    std::string type, bits;
  };
  for (const Case& c : std::vector<Case>{{"ed25519", ""},
                                         {"rsa", "1024"},
                                         {"rsa", "2048"},
                                         {"rsa", "3072"},
                                         {"ecdsa", "256"},
                                         {"ecdsa", "384"},
                                         {"ecdsa", "521"},
                                         {"dsa", ""}}) {
    const std::string file = scratch.path() + "/" + c.type + c.bits;
    std::vector<std::string> argv = {"ssh-keygen", "-q", "-t", c.type, "-N",
                                     "",           "-C", "c",  "-f",   file};
    if (!c.bits.empty()) argv.insert(argv.end(), {"-b", c.bits});
    if (RunCommand(argv).exit_code != 0) {
      EXPECT_EQ(c.type, "dsa") << "ssh-keygen cannot make " << c.type << c.bits;
      continue;  // newer OpenSSH no longer makes DSA keys
    }
    const PublicKey key = Parse(ReadFile(file + ".pub"));
    EXPECT_EQ(std::to_string(KeyBits(key)) + " " + KeyFingerprint(key) + " c (" +
                  KeyAlgorithmName(key) + ")",
              KeygenLine(file + ".pub"))
        << c.type << c.bits;
    std::string err;
    const bool weak = c.type == "dsa" || c.bits == "1024";
    EXPECT_EQ(CheckKeyStrength(key, &err), !weak) << c.type << c.bits << ": " << err;
    if (c.type == "dsa") {
      EXPECT_EQ(err, "DSA keys are refused (1024 bits, disabled in OpenSSH): make an ed25519 key");
    }
    if (c.bits == "1024") {
      EXPECT_EQ(err,
                "RSA keys under 2048 bits are refused (this one has 1024): make an ed25519 key");
    }
  }
}

TEST(KeyBlob, BrokenBlobs) {
  PublicKey key{"ssh-rsa", "AAAAB3NzaC1yc2EAAAADAQAB", ""};  // no modulus
  EXPECT_EQ(KeyBits(key), 0);
  std::string err;
  EXPECT_FALSE(CheckKeyStrength(key, &err));
  EXPECT_EQ(err, "the ssh-rsa key's blob does not parse");
  key = Parse(kAlice);
  key.type = "ssh-rsa";  // the blob says ssh-ed25519
  EXPECT_EQ(KeyBits(key), 0);
  key.blob = "!!!";
  EXPECT_EQ(KeyFingerprint(key), "");
}

// A server described by scratch files, as in the audit tests: sshd reads both
// ~/.ssh/authorized_keys and ~/.ssh/authorized_keys2 (its default AuthorizedKeysFile).
class KeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mkdir("/run/sshd", 0755);
    dir_ = scratch_.path();
    ASSERT_EQ(RunCommand({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir_ + "/host_key"})
                  .exit_code,
              0);
    for (const char* d : {"/bk", "/bk/.ssh", "/data"})
      ASSERT_EQ(mkdir((dir_ + d).c_str(), 0755), 0);
    WriteFile(dir_ + "/sshd_config", "HostKey " + dir_ + "/host_key\n");
    WriteFile(dir_ + "/passwd", "bk:x:4242:4242:backup:" + dir_ + "/bk:/bin/sh\n");
    WriteFile(dir_ + "/alice.pub", std::string(kAlice) + "\n");
  }

  AuditOptions Options() {
    AuditOptions options;
    options.sshd_config = dir_ + "/sshd_config";
    options.passwd = dir_ + "/passwd";
    return options;
  }
  std::string Keys1() { return dir_ + "/bk/.ssh/authorized_keys"; }
  std::string Keys2() { return dir_ + "/bk/.ssh/authorized_keys2"; }
  std::string Rrsync(const std::string& args) {
    return std::string("restrict,command=\"") + RRSYNC_BINARY + " " + args + "\" ";
  }
  std::vector<std::string> Admin(std::vector<std::string> args) {
    args.insert(args.begin(), RRSYNC_ADMIN_BINARY);
    args.insert(args.end(), {"--sshd-config", dir_ + "/sshd_config", "--passwd", dir_ + "/passwd"});
    return args;
  }

  ScratchDir scratch_;
  std::string dir_;
};

TEST_F(KeysTest, ListsEveryKeyOfEveryFileWithModeAndProblems) {
  WriteFile(Keys1(),
            "# backups\n" + Rrsync("-wo -snapshots " + dir_ + "/data") + kAlice + "\n" +
                "command=\"" + RRSYNC_BINARY + " -ro " + dir_ + "/data\" " + kBob + "\n",
            0600);
  WriteFile(Keys2(), std::string(kAlice) + "\nnot a key line\n", 0600);
  ProcessResult r = RunCommand(Admin({"keys", "--user", "bk"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string alice_fp = KeyFingerprint(Parse(kAlice));
  const std::string bob_fp = KeyFingerprint(Parse(kBob));
  EXPECT_EQ(r.out,
            Keys1() + " line 2\n" + "  key:      256 " + alice_fp + " alice@laptop (ED25519)\n" +
                "  options:  restrict,command=\"" + RRSYNC_BINARY + " -wo -snapshots " + dir_ +
                "/data\"\n" +
                "  mode:     write-only, snapshots\n"
                "  dir:      " +
                dir_ + "/data\n" + "  problems: none\n" + Keys1() + " line 3\n" +
                "  key:      256 " + bob_fp + " bob@desk (ED25519)\n" + "  options:  command=\"" +
                RRSYNC_BINARY + " -ro " + dir_ + "/data\"\n" +
                "  mode:     read-only\n"
                "  dir:      " +
                dir_ + "/data\n" +
                "  problem:  FAIL key.restrict: rrsync key (bob@desk) lacks restrict: the client "
                "can forward ports and the agent, and get a pty\n" +
                Keys2() + " line 1\n" + "  key:      256 " + alice_fp +
                " alice@laptop (ED25519)\n" +
                "  options:  none\n"
                "  mode:     shell\n"
                "  problem:  WARN key.without_command: key (alice@laptop) has no forced command: "
                "it opens a shell for bk\n"
                "  problem:  FAIL key.duplicate: key (alice@laptop) is the rrsync key of "
                "~/.ssh/authorized_keys line 2 but has no forced command here: sshd may pick "
                "this line and open a shell; remove it\n" +
                Keys2() + " line 2\n" +
                "  problem:  WARN key.unparsable: line not understood (unknown key type \"a\"): "
                "check it by hand\n");

  r = RunCommand(Admin({"keys", "--user", "bk", "--json"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"fingerprint\": \"" + alice_fp + "\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"mode\": \"write-only, snapshots\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"check\": \"key.duplicate\""), std::string::npos) << r.out;

  r = RunCommand(Admin({"keys", "--user", "nobody-here"}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "rrsync-admin error: no such user \"nobody-here\" in " + dir_ + "/passwd\n");
}

TEST_F(KeysTest, RevokeRemovesTheKeyFromEveryFileKeepingModeAndOwner) {
  const std::string first =
      "# backups\n" + Rrsync("-ro " + dir_ + "/data") + kAlice + "\n" + std::string(kBob) + "\n";
  WriteFile(Keys1(), first, 0640);
  ASSERT_EQ(chown(Keys1().c_str(), 4242, 4242), 0);
  WriteFile(Keys2(), "garbage line\n" + std::string(kAlice) + "\n", 0600);

  ProcessResult r =
      RunCommand(Admin({"revoke", "--user", "bk", "--key", dir_ + "/alice.pub", "--dry-run"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string fp = KeyFingerprint(Parse(kAlice));
  EXPECT_EQ(r.out, "would remove " + Keys1() + " line 2: " + fp + " alice@laptop\n" +
                       "would remove " + Keys2() + " line 2: " + fp + " alice@laptop\n");
  EXPECT_EQ(ReadFile(Keys1()), first);

  r = RunCommand(Admin({"revoke", "--user", "bk", "--fingerprint", fp}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "removed " + Keys1() + " line 2: " + fp + " alice@laptop\n" + "removed " +
                       Keys2() + " line 2: " + fp + " alice@laptop\n");
  EXPECT_EQ(ReadFile(Keys1()), "# backups\n" + std::string(kBob) + "\n");
  EXPECT_EQ(ReadFile(Keys2()), "garbage line\n");
  struct stat st;
  ASSERT_EQ(stat(Keys1().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_uid, 4242u);
  EXPECT_EQ(st.st_gid, 4242u);
  EXPECT_EQ(RunCommand({"ls", "-A", dir_ + "/bk/.ssh"}).out, "authorized_keys\nauthorized_keys2\n");

  r = RunCommand(Admin({"revoke", "--user", "bk", "--fingerprint", fp}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "rrsync-admin error: no key matches " + fp +
                       " in the files sshd reads for bk (" + Keys1() + ", " + Keys2() + ")\n");
  r = RunCommand(Admin({"revoke", "--user", "bk"}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "rrsync-admin error: revoke needs --fingerprint F or --key FILE.pub\n");
}

TEST_F(KeysTest, RevokeNeverWritesThroughASymlink) {
  WriteFile(dir_ + "/elsewhere", std::string(kAlice) + "\n", 0600);
  ASSERT_EQ(symlink((dir_ + "/elsewhere").c_str(), Keys1().c_str()), 0);
  ProcessResult r = RunCommand(Admin({"revoke", "--user", "bk", "--key", dir_ + "/alice.pub"}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "rrsync-admin error: Failed to read \"" + Keys1() +
                       "\" (it must be a regular file): Too many levels of symbolic links\n");
  EXPECT_EQ(ReadFile(dir_ + "/elsewhere"), std::string(kAlice) + "\n");
}

}  // namespace
}  // namespace rrsync
