#include "admin_ssh_config.h"

#include <gtest/gtest.h>

namespace rrsync {
namespace {

TEST(SshConfigStanza, ExactText) {
  SshConfigSpec spec;
  spec.alias = "backup";
  spec.host = "server.example.org";
  spec.key_file = "~/.ssh/backup_ed25519";
  spec.user = "backup";
  spec.port = 2222;
  std::string stanza, err;
  ASSERT_TRUE(FormatSshConfigStanza(spec, &stanza, &err)) << err;
  EXPECT_EQ(stanza,
            "Host backup\n"
            "    HostName server.example.org\n"
            "    User backup\n"
            "    Port 2222\n"
            "    IdentityFile ~/.ssh/backup_ed25519\n"
            "    IdentitiesOnly yes\n"
            "    ForwardAgent no\n"
            "    ForwardX11 no\n"
            "    BatchMode yes\n"
            "    ControlMaster no\n"
            "    ControlPath none\n");
}

TEST(SshConfigStanza, LeavesOutUserAndPortAndQuotesAKeyPathWithSpaces) {
  SshConfigSpec spec;
  spec.alias = "nas";
  spec.host = "192.0.2.7";
  spec.key_file = "/home/me/my keys/nas";
  std::string stanza, err;
  ASSERT_TRUE(FormatSshConfigStanza(spec, &stanza, &err)) << err;
  EXPECT_EQ(stanza,
            "Host nas\n"
            "    HostName 192.0.2.7\n"
            "    IdentityFile \"/home/me/my keys/nas\"\n"
            "    IdentitiesOnly yes\n"
            "    ForwardAgent no\n"
            "    ForwardX11 no\n"
            "    BatchMode yes\n"
            "    ControlMaster no\n"
            "    ControlPath none\n");
}

TEST(SshConfigStanza, RefusesValuesThatWouldChangeTheFile) {
  std::string stanza, err;
  SshConfigSpec spec{"backup", "h", "~/.ssh/k", "", 0};
  spec.alias = "*";
  EXPECT_FALSE(FormatSshConfigStanza(spec, &stanza, &err));
  EXPECT_EQ(err, "the alias must be one word without pattern characters");
  spec.alias = "a\n    ProxyCommand sh";
  EXPECT_FALSE(FormatSshConfigStanza(spec, &stanza, &err));
  spec.alias = "backup";
  spec.host = "h x";
  EXPECT_FALSE(FormatSshConfigStanza(spec, &stanza, &err));
  EXPECT_EQ(err, "the host must be one word without pattern characters");
  spec.host = "h";
  spec.key_file = "k\nProxyCommand sh";
  EXPECT_FALSE(FormatSshConfigStanza(spec, &stanza, &err));
  EXPECT_EQ(err, "the key file name must not be empty or hold quotes or control characters");
}

}  // namespace
}  // namespace rrsync
