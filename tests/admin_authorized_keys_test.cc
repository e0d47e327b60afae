#include "admin_authorized_keys.h"

#include <gtest/gtest.h>

namespace rrsync {
namespace {

constexpr char kAliceBlob[] =
    "AAAAC3NzaC1lZDI1NTE5AAAAIHgHNlTUhZdNSFTGdV2BJF+r4U3elOkYzy1GOKBM8pFq";
constexpr char kBobBlob[] = "AAAAC3NzaC1lZDI1NTE5AAAAICAZ3fioXDlWMls2WKqmOaWspsGWJ8iQ/4l+QjKrN/2K";

std::string Alice() { return std::string("ssh-ed25519 ") + kAliceBlob + " alice@laptop"; }
std::string Bob() { return std::string("ssh-ed25519 ") + kBobBlob + " bob@desk"; }

PublicKey AliceKey() { return {"ssh-ed25519", kAliceBlob, "alice@laptop"}; }

TEST(ParseAuthorizedKeyLine, PlainKey) {
  AuthorizedKey key;
  std::string err;
  ASSERT_TRUE(ParseAuthorizedKeyLine(Alice(), &key, &err)) << err;
  EXPECT_TRUE(key.options.empty());
  EXPECT_EQ(key.key.type, "ssh-ed25519");
  EXPECT_EQ(key.key.blob, kAliceBlob);
  EXPECT_EQ(key.key.comment, "alice@laptop");
}

TEST(ParseAuthorizedKeyLine, OptionsWithQuotedValues) {
  AuthorizedKey key;
  std::string err;
  ASSERT_TRUE(ParseAuthorizedKeyLine(
      "Restrict,command=\"rrsync -ro \\\"/srv/a b\\\"\",from=\"10.0.0.0/8,!10.1.*\" " + Alice(),
      &key, &err))
      << err;
  ASSERT_EQ(key.options.size(), 3u);
  EXPECT_EQ(key.options[0].name, "restrict");
  EXPECT_FALSE(key.options[0].has_value);
  ASSERT_NE(key.Find("command"), nullptr);
  EXPECT_EQ(key.Find("command")->value, "rrsync -ro \"/srv/a b\"");
  ASSERT_NE(key.Find("from"), nullptr);
  EXPECT_EQ(key.Find("from")->value, "10.0.0.0/8,!10.1.*");
  EXPECT_EQ(key.key.comment, "alice@laptop");
}

TEST(ParseAuthorizedKeyLine, RejectsBrokenLines) {
  AuthorizedKey key;
  std::string err;
  EXPECT_FALSE(ParseAuthorizedKeyLine("command=\"unterminated " + Alice(), &key, &err));
  EXPECT_EQ(err, "option command has an unterminated quoted value");
  EXPECT_FALSE(ParseAuthorizedKeyLine("ssh-ed25519 notbase64!", &key, &err));
  EXPECT_EQ(err, "the key data is not valid base64 for a ssh-ed25519 key");
  EXPECT_FALSE(ParseAuthorizedKeyLine("restrict ssh-foo AAAA", &key, &err));
  EXPECT_EQ(err, "unknown key type \"ssh-foo\"");
  // The blob of an ed25519 key under an RSA name: the embedded type does not match.
  EXPECT_FALSE(ParseAuthorizedKeyLine(std::string("ssh-rsa ") + kAliceBlob, &key, &err));
  EXPECT_EQ(err, "the key data is not valid base64 for a ssh-rsa key");
}

TEST(ParsePublicKeyText, AcceptsOnePlainKey) {
  PublicKey key;
  std::string err;
  ASSERT_TRUE(ParsePublicKeyText("\n" + Alice() + "\n", &key, &err)) << err;
  EXPECT_EQ(key.blob, kAliceBlob);
}

TEST(ParsePublicKeyText, RefusesPrivateKeysOptionsAndSeveralKeys) {
  PublicKey key;
  std::string err;
  EXPECT_FALSE(
      ParsePublicKeyText("-----BEGIN OPENSSH PRIVATE "
                         "KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMw\n"
                         "-----END OPENSSH PRIVATE KEY-----\n",
                         &key, &err));
  EXPECT_EQ(err, "this is a private key; pass the .pub file");
  EXPECT_FALSE(ParsePublicKeyText("restrict " + Alice() + "\n", &key, &err));
  EXPECT_EQ(err, "the key line carries options; pass a plain public key");
  EXPECT_FALSE(ParsePublicKeyText(Alice() + "\n" + Bob() + "\n", &key, &err));
  EXPECT_EQ(err, "more than one key line");
  EXPECT_FALSE(ParsePublicKeyText("", &key, &err));
  EXPECT_EQ(err, "no public key found");
}

TEST(IsKnownKeyType, PlainCertificateAndSecurityKeyTypes) {
  EXPECT_TRUE(IsKnownKeyType("ssh-ed25519"));
  EXPECT_TRUE(IsKnownKeyType("ssh-ed25519-cert-v01@openssh.com"));
  EXPECT_TRUE(IsKnownKeyType("sk-ssh-ed25519@openssh.com"));
  EXPECT_TRUE(IsKnownKeyType("sk-ssh-ed25519-cert-v01@openssh.com"));
  EXPECT_TRUE(IsKnownKeyType("ecdsa-sha2-nistp384"));
  EXPECT_FALSE(IsKnownKeyType("restrict"));
  EXPECT_FALSE(IsKnownKeyType("command=\"x\""));
}

TEST(FormatAuthorizedKeyLine, RoundTripsAndEscapesQuotes) {
  AuthorizedKey key;
  key.options = {{"restrict", "", false}, {"command", "rrsync \"x\" /srv", true}};
  key.key = AliceKey();
  std::string line = FormatAuthorizedKeyLine(key);
  EXPECT_EQ(line, "restrict,command=\"rrsync \\\"x\\\" /srv\" " + Alice());
  AuthorizedKey parsed;
  std::string err;
  ASSERT_TRUE(ParseAuthorizedKeyLine(line, &parsed, &err)) << err;
  ASSERT_NE(parsed.Find("command"), nullptr);
  EXPECT_EQ(parsed.Find("command")->value, "rrsync \"x\" /srv");
}

TEST(ShellQuote, QuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(ShellQuote("/var/backup"), "/var/backup");
  EXPECT_EQ(ShellQuote("/srv/my files"), "'/srv/my files'");
  EXPECT_EQ(ShellQuote("/srv/$HOME"), "'/srv/$HOME'");
}

TEST(SplitShellWords, QuotesAndEscapes) {
  std::vector<std::string> words;
  std::string err;
  ASSERT_TRUE(SplitShellWords("/usr/bin/rrsync -ro '/srv/a b' \"c d\" e\\ f", &words, &err));
  EXPECT_EQ(words, (std::vector<std::string>{"/usr/bin/rrsync", "-ro", "/srv/a b", "c d", "e f"}));
  EXPECT_FALSE(SplitShellWords("rrsync /srv; sh", &words, &err));
  EXPECT_EQ(err, "shell syntax ';' in the command");
  EXPECT_FALSE(SplitShellWords("rrsync '/srv", &words, &err));
  EXPECT_EQ(err, "unbalanced single quote");
}

TEST(MergeAuthorizedKey, AppendsANewKeyAndKeepsEverythingElse) {
  const std::string existing = "# my keys\n" + Bob() + "\n\nnot a key at all\n";
  MergeResult r = MergeAuthorizedKey(existing, AliceKey(), "restrict " + Alice());
  EXPECT_EQ(r.action, MergeAction::kAdded);
  EXPECT_EQ(r.text, existing + "restrict " + Alice() + "\n");
}

TEST(MergeAuthorizedKey, AddsTheMissingFinalNewline) {
  MergeResult r = MergeAuthorizedKey(Bob(), AliceKey(), Alice());
  EXPECT_EQ(r.text, Bob() + "\n" + Alice() + "\n");
}

TEST(MergeAuthorizedKey, ReplacesTheLineForTheSameKeyInPlace) {
  const std::string existing = Bob() + "\ncommand=\"old\" " + Alice() + "\n# end\n";
  MergeResult r = MergeAuthorizedKey(existing, AliceKey(), "restrict,command=\"new\" " + Alice());
  EXPECT_EQ(r.action, MergeAction::kReplaced);
  EXPECT_EQ(r.text, Bob() + "\nrestrict,command=\"new\" " + Alice() + "\n# end\n");
}

TEST(MergeAuthorizedKey, DropsLaterLinesForTheSameKey) {
  // sshd would fall back to the bare second line when the first one's from= does not match.
  const std::string existing =
      "from=\"10.0.0.1\",command=\"x\" " + Alice() + "\n" + Bob() + "\n" + Alice() + "\n";
  MergeResult r = MergeAuthorizedKey(existing, AliceKey(), "restrict " + Alice());
  EXPECT_EQ(r.action, MergeAction::kReplaced);
  EXPECT_EQ(r.removed_duplicates, 1);
  EXPECT_EQ(r.text, "restrict " + Alice() + "\n" + Bob() + "\n");
}

TEST(MergeAuthorizedKey, SameLineTwiceIsUnchanged) {
  const std::string line = "restrict " + Alice();
  MergeResult first = MergeAuthorizedKey("", AliceKey(), line);
  MergeResult second = MergeAuthorizedKey(first.text, AliceKey(), line);
  EXPECT_EQ(second.action, MergeAction::kUnchanged);
  EXPECT_EQ(second.text, first.text);
}

}  // namespace
}  // namespace rrsync
