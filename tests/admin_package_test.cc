// The Debian package: built with cpack, inspected with dpkg-deb, then installed and removed for
// real to prove the diversion of the rsync package's /usr/bin/rrsync and its return. The
// machine is left as it was found, also when a check fails.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <regex>
#include <set>

#include "admin_test_util.h"

namespace rrsync {
namespace {

using admin_test::ReadFile;
using admin_test::RunCommand;
using admin_test::ScratchDir;
using admin_test::Shell;

const std::string kDebName = std::string("rrsync_") + PACKAGE_VERSION + "_amd64.deb";

// The paths under /usr that a man page's FILES section names (`.B /usr/...` lines).
std::set<std::string> FilesSection(const std::string& page) {
  std::string text = ReadFile(std::string(SOURCE_DIR) + "/man/" + page);
  size_t start = text.find(".SH FILES\n");
  size_t end = text.find("\n.SH ", start + 1);
  std::set<std::string> paths;
  if (start == std::string::npos) return paths;
  std::string section = text.substr(start, end - start);
  std::regex line(R"(\n\.B (/usr/[^\n]+))");
  for (std::sregex_iterator it(section.begin(), section.end(), line), e; it != e; ++it) {
    std::string p = (*it)[1];
    p = std::regex_replace(p, std::regex(R"(\\-)"), "-");
    paths.insert(p);
  }
  return paths;
}

// Builds the .deb once per test binary run, into a scratch directory.
class PackageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    scratch_ = new ScratchDir;
    ProcessResult r = RunCommand({"cpack", "--config", CPACK_CONFIG, "-B", scratch_->path()}, 300);
    build_log_ = r.out + r.err;
    if (r.exit_code == 0) deb_ = scratch_->path() + "/" + kDebName;
  }
  static void TearDownTestSuite() {
    delete scratch_;
    scratch_ = nullptr;
  }
  void SetUp() override {
    ASSERT_FALSE(deb_.empty()) << build_log_;
    ASSERT_EQ(access(deb_.c_str(), R_OK), 0) << deb_ << " missing:\n" << build_log_;
  }

  static ScratchDir* scratch_;
  static std::string deb_;
  static std::string build_log_;
};

ScratchDir* PackageTest::scratch_ = nullptr;
std::string PackageTest::deb_;
std::string PackageTest::build_log_;

TEST_F(PackageTest, ControlFields) {
  ProcessResult r = RunCommand({"dpkg-deb", "-f", deb_, "Package", "Version", "Architecture"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, std::string("Package: rrsync\nVersion: ") + PACKAGE_VERSION +
                       "\nArchitecture: amd64\n");
  r = RunCommand({"dpkg-deb", "-f", deb_, "Depends"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("rsync"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("openssh-server"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("libc6"), std::string::npos) << r.out;
}

TEST_F(PackageTest, FilesAreWhereTheManPagesSay) {
  ScratchDir root;
  ASSERT_EQ(RunCommand({"dpkg-deb", "-x", deb_, root.path()}).exit_code, 0);
  std::set<std::string> named = FilesSection("rrsync.1");
  std::set<std::string> admin = FilesSection("rrsync-admin.8");
  named.insert(admin.begin(), admin.end());
  // The diverted script is made by the maintainer scripts on installation, not shipped.
  named.erase("/usr/bin/rrsync.distrib");
  named.erase("/usr/sbin/sshd");
  EXPECT_EQ(named, (std::set<std::string>{"/usr/bin/rrsync", "/usr/bin/rrsync-admin",
                                          "/usr/share/man/man1/rrsync.1.gz",
                                          "/usr/share/man/man8/rrsync-admin.8.gz"}));
  for (const std::string& p : named) {
    struct stat st;
    ASSERT_EQ(lstat((root.path() + p).c_str(), &st), 0) << p;
    EXPECT_TRUE(S_ISREG(st.st_mode)) << p;
    EXPECT_EQ(st.st_mode & 07777, p.find("/bin/") != std::string::npos ? 0755u : 0644u) << p;
  }
  // Nothing else but directories and the copyright-free basics: the package ships exactly these.
  ProcessResult list = Shell("cd " + root.path() + " && find . -type f | sort");
  EXPECT_EQ(list.out,
            "./usr/bin/rrsync\n./usr/bin/rrsync-admin\n./usr/share/man/man1/rrsync.1.gz\n"
            "./usr/share/man/man8/rrsync-admin.8.gz\n");
  // The man pages are the compressed sources.
  EXPECT_EQ(Shell("zcat " + root.path() + "/usr/share/man/man1/rrsync.1.gz").out,
            ReadFile(std::string(SOURCE_DIR) + "/man/rrsync.1"));
  // The packaged programs run and know their version.
  ProcessResult version = RunCommand({root.path() + "/usr/bin/rrsync-admin", "--version"});
  EXPECT_EQ(version.out, std::string(PACKAGE_VERSION) + "\n");
  ProcessResult probe =
      Shell("SSH_ORIGINAL_COMMAND='rrsync-probe v1' " + root.path() + "/usr/bin/rrsync -ro /");
  EXPECT_EQ(probe.exit_code, 0) << probe.err;
  EXPECT_EQ(probe.out,
            std::string("rrsync-probe ok version=") + PACKAGE_VERSION + " mode=read-only\n");
}

TEST_F(PackageTest, MaintainerScriptsAreShipped) {
  ScratchDir control;
  ASSERT_EQ(RunCommand({"dpkg-deb", "-e", deb_, control.path()}).exit_code, 0);
  for (const char* script : {"preinst", "postinst", "prerm", "postrm"}) {
    struct stat st;
    ASSERT_EQ(stat((control.path() + "/" + script).c_str(), &st), 0) << script;
    EXPECT_EQ(st.st_mode & 0777, 0755u) << script;
    EXPECT_EQ(ReadFile(control.path() + "/" + script),
              ReadFile(std::string(SOURCE_DIR) + "/packaging/" + script));
  }
}

std::string Sha256(const std::string& path) {
  ProcessResult r = RunCommand({"sha256sum", path});
  return r.exit_code == 0 ? r.out.substr(0, 64) : "";
}

// dpkg's status of the package: "" when dpkg has no record of it at all.
std::string PackageStatus() {
  ProcessResult r = RunCommand({"dpkg-query", "-W", "-f=${Status}", "rrsync"});
  if (r.exit_code != 0 || r.out.find("not-installed") != std::string::npos) return "";
  return r.out;
}

bool PackageInstalled() { return PackageStatus() == "install ok installed"; }

std::string Diversions() { return RunCommand({"dpkg-divert", "--list", "*rrsync*"}).out; }

// Installs the package for real. Only runs when it is not installed already (then it would not
// be ours to remove) and the rsync package provides the script to divert.
class PackageInstallTest : public PackageTest {
 protected:
  void SetUp() override {
    PackageTest::SetUp();
    if (HasFatalFailure()) return;
    if (!PackageStatus().empty()) {
      GTEST_SKIP() << "dpkg knows package rrsync already (" << PackageStatus()
                   << "); not touching it";
    }
    if (!Diversions().empty()) GTEST_SKIP() << "rrsync diversions exist already:\n" << Diversions();
    if (access("/usr/bin/rrsync", F_OK) != 0) GTEST_SKIP() << "no /usr/bin/rrsync to divert";
    script_sha_ = Sha256("/usr/bin/rrsync");
    man_sha_ = Sha256("/usr/share/man/man1/rrsync.1.gz");
    armed_ = true;
  }

  // Puts the machine back whatever happened: the package purged, no diversion left, rsync's
  // files in their places.
  void TearDown() override {
    if (!armed_) return;
    if (!PackageStatus().empty()) RunCommand({"dpkg", "--purge", "rrsync"}, 300);
    if (!Diversions().empty()) {
      RunCommand({"dpkg-divert", "--package", "rrsync", "--remove", "--rename", "--divert",
                  "/usr/bin/rrsync.distrib", "/usr/bin/rrsync"});
      RunCommand({"dpkg-divert", "--package", "rrsync", "--remove", "--rename", "--divert",
                  "/usr/share/man/man1/rrsync.distrib.1.gz", "/usr/share/man/man1/rrsync.1.gz"});
    }
    EXPECT_EQ(PackageStatus(), "");
    EXPECT_EQ(Diversions(), "");
    EXPECT_EQ(Sha256("/usr/bin/rrsync"), script_sha_);
    EXPECT_EQ(Sha256("/usr/share/man/man1/rrsync.1.gz"), man_sha_);
  }

  bool armed_ = false;
  std::string script_sha_, man_sha_;
};

TEST_F(PackageInstallTest, DivertsDebiansRrsyncAndGivesItBack) {
  ProcessResult install = RunCommand({"dpkg", "-i", deb_}, 300);
  ASSERT_EQ(install.exit_code, 0) << install.out << install.err;
  EXPECT_TRUE(PackageInstalled());

  EXPECT_EQ(RunCommand({"dpkg-divert", "--truename", "/usr/bin/rrsync"}).out,
            "/usr/bin/rrsync.distrib\n");
  EXPECT_EQ(RunCommand({"dpkg-divert", "--truename", "/usr/share/man/man1/rrsync.1.gz"}).out,
            "/usr/share/man/man1/rrsync.distrib.1.gz\n");
  EXPECT_EQ(Sha256("/usr/bin/rrsync.distrib"), script_sha_);
  EXPECT_EQ(Sha256("/usr/share/man/man1/rrsync.distrib.1.gz"), man_sha_);
  // /usr/bin/rrsync is now ours: it answers the probe, which the script refuses.
  ProcessResult probe = Shell("SSH_ORIGINAL_COMMAND='rrsync-probe v1' /usr/bin/rrsync -wo /");
  EXPECT_EQ(probe.out,
            std::string("rrsync-probe ok version=") + PACKAGE_VERSION + " mode=write-only\n");
  EXPECT_EQ(Shell("zcat /usr/share/man/man1/rrsync.1.gz").out,
            ReadFile(std::string(SOURCE_DIR) + "/man/rrsync.1"));
  EXPECT_EQ(RunCommand({"/usr/bin/rrsync-admin", "--version"}).out,
            std::string(PACKAGE_VERSION) + "\n");
  // Every /usr path the man pages name is there, the diverted script included.
  std::set<std::string> named = FilesSection("rrsync.1");
  std::set<std::string> admin = FilesSection("rrsync-admin.8");
  named.insert(admin.begin(), admin.end());
  for (const std::string& p : named) EXPECT_EQ(access(p.c_str(), F_OK), 0) << p;
  // The rsync package is intact as far as dpkg is concerned.
  ProcessResult verify = RunCommand({"dpkg", "--verify", "rsync"});
  EXPECT_EQ(verify.out, "");

  ProcessResult remove = RunCommand({"dpkg", "-r", "rrsync"}, 300);
  ASSERT_EQ(remove.exit_code, 0) << remove.out << remove.err;
  // dpkg keeps a record until purge, because of the postrm script.
  EXPECT_EQ(PackageStatus(), "deinstall ok config-files");
  EXPECT_EQ(Diversions(), "");
  EXPECT_EQ(Sha256("/usr/bin/rrsync"), script_sha_);
  EXPECT_EQ(Sha256("/usr/share/man/man1/rrsync.1.gz"), man_sha_);
  EXPECT_EQ(access("/usr/bin/rrsync-admin", F_OK), -1);
  EXPECT_EQ(access("/usr/bin/rrsync.distrib", F_OK), -1);
  probe = Shell("SSH_ORIGINAL_COMMAND='rrsync-probe v1' /usr/bin/rrsync -wo /");
  EXPECT_EQ(probe.exit_code, 1);
  EXPECT_NE(probe.err.find("error: SSH_ORIGINAL_COMMAND does not run rsync"), std::string::npos)
      << probe.err;

  ProcessResult purge = RunCommand({"dpkg", "--purge", "rrsync"}, 300);
  ASSERT_EQ(purge.exit_code, 0) << purge.out << purge.err;
  EXPECT_EQ(PackageStatus(), "");
  EXPECT_EQ(Diversions(), "");
  EXPECT_EQ(Sha256("/usr/bin/rrsync"), script_sha_);
}

}  // namespace
}  // namespace rrsync
