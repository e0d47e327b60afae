#include "admin_login_files.h"

#include <gtest/gtest.h>

namespace rrsync {
namespace {

PasswdEntry Account(const std::string& shell) {
  PasswdEntry user;
  user.name = "bk";
  user.uid = 4242;
  user.home = "/srv/bk";
  user.shell = shell;
  return user;
}

std::vector<std::string> Paths(const std::vector<LoginFile>& files) {
  std::vector<std::string> out;
  for (const LoginFile& f : files) out.push_back(f.path);
  return out;
}

TEST(AuthorizedKeysFiles, ExpandsTokensAndDefaultsToDebiansPair) {
  EXPECT_EQ(
      AuthorizedKeysFiles(SshdSettings(), Account("/bin/sh")),
      (std::vector<std::string>{"/srv/bk/.ssh/authorized_keys", "/srv/bk/.ssh/authorized_keys2"}));
  SshdSettings sshd =
      ParseSshdSettings("authorizedkeysfile .ssh/authorized_keys /etc/ssh/keys/%u.%U none\n");
  EXPECT_EQ(AuthorizedKeysFiles(sshd, Account("/bin/sh")),
            (std::vector<std::string>{"/srv/bk/.ssh/authorized_keys", "/etc/ssh/keys/bk.4242"}));
}

TEST(LoginFilesFor, SshdFilesThenTheShells) {
  SshdSettings sshd = ParseSshdSettings(
      "authorizedkeysfile .ssh/authorized_keys\npermituserrc yes\npermituserenvironment no\n");
  LoginFileContext context;
  EXPECT_EQ(Paths(LoginFilesFor(sshd, Account("/bin/sh"), context)),
            (std::vector<std::string>{"/srv/bk/.ssh/authorized_keys", "/srv/bk/.ssh/rc",
                                      "/srv/bk/.profile"}));
  context.user_rc = false;
  EXPECT_EQ(Paths(LoginFilesFor(sshd, Account("/bin/bash"), context)),
            (std::vector<std::string>{"/srv/bk/.ssh/authorized_keys", "/srv/bk/.bashrc",
                                      "/srv/bk/.bash_profile", "/srv/bk/.bash_login",
                                      "/srv/bk/.profile", "/srv/bk/.bash_logout"}));
  EXPECT_EQ(Paths(LoginFilesFor(sshd, Account("/usr/bin/zsh"), context))[1], "/srv/bk/.zshenv");
  EXPECT_EQ(Paths(LoginFilesFor(sshd, Account("/usr/sbin/nologin"), context)),
            std::vector<std::string>{"/srv/bk/.ssh/authorized_keys"});
}

TEST(LoginFilesFor, UserEnvironmentFilesWhenSshdOrPamReadThem) {
  SshdSettings sshd = ParseSshdSettings(
      "authorizedkeysfile .ssh/authorized_keys\npermituserrc no\npermituserenvironment yes\n"
      "usepam yes\n");
  LoginFileContext context;
  context.pam_user_env = true;
  EXPECT_EQ(Paths(LoginFilesFor(sshd, Account("/bin/sh"), context)),
            (std::vector<std::string>{"/srv/bk/.ssh/authorized_keys", "/srv/bk/.ssh/environment",
                                      "/srv/bk/.pam_environment", "/srv/bk/.profile"}));
}

TEST(PamTextReadsUserEnvironment, FindsAnActivePamEnvWithUserReadenv) {
  EXPECT_TRUE(PamTextReadsUserEnvironment(
      "session required pam_env.so # [1]\n"
      "session    required     pam_env.so user_readenv=1 envfile=/etc/default/locale\n"));
  EXPECT_FALSE(PamTextReadsUserEnvironment("session required pam_env.so\n"));
  EXPECT_FALSE(PamTextReadsUserEnvironment("# session required pam_env.so user_readenv=1\n"));
  EXPECT_FALSE(PamTextReadsUserEnvironment("session required pam_env.so # user_readenv=1\n"));
}

}  // namespace
}  // namespace rrsync
