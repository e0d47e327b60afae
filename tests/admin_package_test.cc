// The Debian package: built with cpack, inspected with dpkg-deb, lintian, mandoc, readelf and
// logrotate, built twice to compare the bytes, then installed, upgraded, removed and purged in a
// scratch root (dpkg --root), where the diversion of the rsync package's /usr/bin/rrsync and its
// return are checked. The host's dpkg database and /usr are never touched.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "admin_test_util.h"
#include "config.h"

namespace rrsync {
namespace {

using admin_test::ReadFile;
using admin_test::RunCommand;
using admin_test::ScratchDir;
using admin_test::Shell;
using admin_test::WriteFile;

const std::string kDebName = std::string("rrsync_") + PACKAGE_VERSION + "_amd64.deb";
const std::string kSourceDir = SOURCE_DIR;

// The paths under /usr that a man page's FILES section names (`.B /usr/...` lines).
std::set<std::string> FilesSection(const std::string& page) {
  std::string text = ReadFile(kSourceDir + "/man/" + page);
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

std::string Sha256(const std::string& path) {
  ProcessResult r = RunCommand({"sha256sum", path});
  return r.exit_code == 0 ? r.out.substr(0, 64) : "";
}

bool HaveProgram(const std::string& name) {
  return Shell("command -v " + name + " >/dev/null").exit_code == 0;
}

// Runs cpack into `dir`; the .deb's path, or "" with the log in *log.
std::string BuildDeb(const std::string& dir, std::string* log) {
  ProcessResult r = RunCommand({"cpack", "--config", CPACK_CONFIG, "-B", dir}, 300);
  *log = r.out + r.err;
  return r.exit_code == 0 ? dir + "/" + kDebName : "";
}

// Builds the .deb once per test binary run, into a scratch directory, and unpacks it.
class PackageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    scratch_ = new ScratchDir;
    deb_ = BuildDeb(scratch_->path() + "/deb", &build_log_);
    if (!deb_.empty()) {
      unpacked_ = scratch_->path() + "/root";
      RunCommand({"dpkg-deb", "-x", deb_, unpacked_});
    }
  }
  static void TearDownTestSuite() {
    delete scratch_;
    scratch_ = nullptr;
  }
  void SetUp() override {
    ASSERT_FALSE(deb_.empty()) << build_log_;
    ASSERT_EQ(access(deb_.c_str(), R_OK), 0) << deb_ << " missing:\n" << build_log_;
  }
  static std::string Field(const std::string& name) {
    ProcessResult r = RunCommand({"dpkg-deb", "-f", deb_, name});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  static ScratchDir* scratch_;
  static std::string deb_;
  static std::string unpacked_;  // the package's files, as dpkg-deb -x leaves them
  static std::string build_log_;
};

ScratchDir* PackageTest::scratch_ = nullptr;
std::string PackageTest::deb_;
std::string PackageTest::unpacked_;
std::string PackageTest::build_log_;

TEST_F(PackageTest, ControlFields) {
  ProcessResult r = RunCommand({"dpkg-deb", "-f", deb_, "Package", "Version", "Architecture"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, std::string("Package: rrsync\nVersion: ") + PACKAGE_VERSION +
                       "\nArchitecture: amd64\n");
  // rsync is what rrsync runs; an ssh server only where keys log in (a client that only
  // probes needs none), so it is recommended, not required.
  std::string depends = Field("Depends");
  EXPECT_NE(depends.find("rsync"), std::string::npos) << depends;
  EXPECT_NE(depends.find("libc6"), std::string::npos) << depends;
  EXPECT_EQ(depends.find("openssh-server"), std::string::npos) << depends;
  EXPECT_EQ(Field("Recommends"), "openssh-server\n");
  EXPECT_EQ(Field("Maintainer"), "rrsync maintainers <rrsync@rrsync.invalid>\n");
}

TEST_F(PackageTest, FilesAreWhereTheManPagesSay) {
  const std::string& root = unpacked_;
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
    ASSERT_EQ(lstat((root + p).c_str(), &st), 0) << p;
    EXPECT_TRUE(S_ISREG(st.st_mode)) << p;
    EXPECT_EQ(st.st_mode & 07777, p.find("/bin/") != std::string::npos ? 0755u : 0644u) << p;
  }
  // Exactly these files: the programs, their man pages, the docs and the logrotate snippet.
  ProcessResult list = Shell("cd " + root + " && find . -type f | sort");
  EXPECT_EQ(list.out,
            "./etc/logrotate.d/rrsync\n"
            "./usr/bin/rrsync\n"
            "./usr/bin/rrsync-admin\n"
            "./usr/share/doc/rrsync/README.md\n"
            "./usr/share/doc/rrsync/changelog.gz\n"
            "./usr/share/doc/rrsync/copyright\n"
            "./usr/share/doc/rrsync/docs/CONFIG.md\n"
            "./usr/share/doc/rrsync/docs/PERFORMANCE.md\n"
            "./usr/share/doc/rrsync/docs/SANDBOX.md\n"
            "./usr/share/doc/rrsync/docs/TROUBLESHOOTING.md\n"
            "./usr/share/doc/rrsync/examples/rrsync.conf\n"
            "./usr/share/man/man1/rrsync.1.gz\n"
            "./usr/share/man/man8/rrsync-admin.8.gz\n");
  // The man pages and docs are the sources.
  EXPECT_EQ(Shell("zcat " + root + "/usr/share/man/man1/rrsync.1.gz").out,
            ReadFile(kSourceDir + "/man/rrsync.1"));
  EXPECT_EQ(ReadFile(root + "/usr/share/doc/rrsync/README.md"),
            ReadFile(kSourceDir + "/README.md"));
  EXPECT_EQ(ReadFile(root + "/etc/logrotate.d/rrsync"),
            ReadFile(kSourceDir + "/packaging/logrotate"));
  // The packaged programs run and know their version.
  ProcessResult version = RunCommand({root + "/usr/bin/rrsync-admin", "--version"});
  EXPECT_EQ(version.out, std::string(PACKAGE_VERSION) + "\n");
  ProcessResult probe =
      Shell("SSH_ORIGINAL_COMMAND='rrsync-probe v1' " + root + "/usr/bin/rrsync -ro /");
  EXPECT_EQ(probe.exit_code, 0) << probe.err;
  EXPECT_EQ(probe.out,
            std::string("rrsync-probe ok version=") + PACKAGE_VERSION + " mode=read-only\n");
}

TEST_F(PackageTest, MaintainerScriptsAndConffilesAreShipped) {
  ScratchDir control;
  ASSERT_EQ(RunCommand({"dpkg-deb", "-e", deb_, control.path()}).exit_code, 0);
  for (const char* script : {"preinst", "postinst", "postrm"}) {
    struct stat st;
    ASSERT_EQ(stat((control.path() + "/" + script).c_str(), &st), 0) << script;
    EXPECT_EQ(st.st_mode & 0777, 0755u) << script;
    EXPECT_EQ(ReadFile(control.path() + "/" + script),
              ReadFile(kSourceDir + "/packaging/" + script));
  }
  // A prerm would have nothing to do (lintian: maintainer-script-empty).
  EXPECT_NE(access((control.path() + "/prerm").c_str(), F_OK), 0);
  EXPECT_EQ(ReadFile(control.path() + "/conffiles"), "/etc/logrotate.d/rrsync\n");
}

// lintian's verdict, the way Debian's archive would see the .deb: no error, no warning. Its
// output is printed whatever it says, so a failure shows every tag.
TEST_F(PackageTest, LintianIsClean) {
  if (!HaveProgram("lintian"))
    GTEST_SKIP() << "lintian is not installed (scripts/deps installs it)";
  ProcessResult r = RunCommand({"lintian", "--no-cfg", "--fail-on", "error,warning", deb_}, 300);
  std::cout << "lintian " << kDebName << ": exit " << r.exit_code << "\n" << r.out;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // The hardening tags are informational, so shown only with -I: none of them either.
  r = RunCommand({"lintian", "--no-cfg", "-I", "--fail-on", "none", deb_}, 300);
  EXPECT_EQ(r.out.find("hardening-no-"), std::string::npos) << r.out;
}

// Both man pages pass mandoc's strictest check (STYLE included) without a word.
TEST_F(PackageTest, ManPagesAreLintClean) {
  if (!HaveProgram("mandoc")) GTEST_SKIP() << "mandoc is not installed (scripts/deps installs it)";
  for (const char* page : {"man/rrsync.1", "man/rrsync-admin.8"}) {
    ProcessResult r = RunCommand({"mandoc", "-T", "lint", kSourceDir + "/" + page});
    EXPECT_EQ(r.out + r.err, "") << page;
    EXPECT_EQ(r.exit_code, 0) << page;
  }
  // The JSON line of audit --json keeps its quotes (a .B line would eat them as delimiters).
  ProcessResult text = RunCommand({"mandoc", "-T", "utf8", kSourceDir + "/man/rrsync-admin.8"});
  std::string plain = std::regex_replace(text.out, std::regex(".\b"), "");
  plain = std::regex_replace(plain, std::regex(R"(\s+)"), " ");
  EXPECT_NE(plain.find(R"({"findings": [{"status", "check", "subject", "message"}...], "pass": N,)"
                       R"( "warn": N, "fail": N})"),
            std::string::npos)
      << plain;
}

// The example config the package ships is the one docs/CONFIG.md shows, and rrsync's own reader
// accepts it.
TEST_F(PackageTest, ExampleConfigParses) {
  const std::string path = unpacked_ + "/usr/share/doc/rrsync/examples/rrsync.conf";
  std::string text = ReadFile(path);
  ASSERT_FALSE(text.empty());
  Config config;
  std::string err;
  EXPECT_TRUE(ParseConfig(text, path, &config, &err)) << err;
  EXPECT_EQ(config.modules.size(), 3u);
  std::string doc = ReadFile(kSourceDir + "/docs/CONFIG.md");
  size_t at = doc.find("## A complete example\n\n```\n");
  ASSERT_NE(at, std::string::npos);
  at = doc.find("```\n", at) + 4;
  EXPECT_EQ(doc.substr(at, doc.find("```\n", at) - at), text);
}

TEST_F(PackageTest, LogrotateAcceptsTheSnippet) {
  if (!HaveProgram("logrotate")) GTEST_SKIP() << "logrotate is not installed";
  ScratchDir state;
  // -d: a dry run that parses the file and changes nothing (its state file is the scratch one).
  ProcessResult r = RunCommand(
      {"logrotate", "-d", "-s", state.path() + "/status", unpacked_ + "/etc/logrotate.d/rrsync"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ((r.out + r.err).find("error"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.err.find("rotating pattern: /var/log/rrsync/*.log"), std::string::npos) << r.err;
}

TEST_F(PackageTest, CopyrightAndChangelog) {
  const std::string doc = unpacked_ + "/usr/share/doc/rrsync/";
  std::string copyright = ReadFile(doc + "copyright");
  EXPECT_TRUE(copyright.starts_with(
      "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"));
  EXPECT_NE(copyright.find("\nLicense: GPL-3+\n"), std::string::npos);
  EXPECT_NE(copyright.find("\"/usr/share/common-licenses/GPL-3\""), std::string::npos);
  // LICENSE is the full GPL-3 text, as Debian ships it.
  if (access("/usr/share/common-licenses/GPL-3", R_OK) == 0) {
    EXPECT_EQ(ReadFile(kSourceDir + "/LICENSE"), ReadFile("/usr/share/common-licenses/GPL-3"));
  }
  ProcessResult changelog = Shell("zcat " + doc + "changelog.gz | head -1");
  EXPECT_EQ(changelog.out,
            std::string("rrsync (") + PACKAGE_VERSION + ") unstable; urgency=medium\n");
}

// Every compressed file carries no name and no time (gzip -n): bytes 4..7 of the header are the
// time, byte 3 the flags (FNAME is 0x08).
TEST_F(PackageTest, CompressedFilesHaveNoTimestamp) {
  for (const char* gz : {"/usr/share/doc/rrsync/changelog.gz", "/usr/share/man/man1/rrsync.1.gz",
                         "/usr/share/man/man8/rrsync-admin.8.gz"}) {
    std::string bytes = ReadFile(unpacked_ + gz);
    ASSERT_GE(bytes.size(), 10u) << gz;
    EXPECT_EQ(bytes.substr(4, 4), std::string(4, '\0')) << gz;
    EXPECT_EQ(bytes[3] & 0x08, 0) << gz;
  }
}

// Two cpack runs at different wall-clock times give the same bytes: every file and archive
// member carries SOURCE_DATE_EPOCH (the last commit's time), and no path of the build is in the
// programs.
TEST_F(PackageTest, IsReproducible) {
  sleep(2);  // a later second than the first build
  ScratchDir again;
  std::string log;
  std::string second = BuildDeb(again.path(), &log);
  ASSERT_FALSE(second.empty()) << log;
  EXPECT_EQ(Sha256(second), Sha256(deb_));
  // One time for everything in the data archive.
  ProcessResult tar = Shell("dpkg-deb --fsys-tarfile " + deb_ + " | tar -tv --full-time");
  ASSERT_EQ(tar.exit_code, 0) << tar.err;
  std::set<std::string> times;
  std::istringstream lines(tar.out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string perms, owner, size, date, time;
    words >> perms >> owner >> size >> date >> time;
    times.insert(date + " " + time);
  }
  EXPECT_EQ(times.size(), 1u) << tar.out;
  for (const char* program : {"/usr/bin/rrsync", "/usr/bin/rrsync-admin"}) {
    std::string bytes = ReadFile(unpacked_ + program);
    ASSERT_FALSE(bytes.empty()) << program;
    EXPECT_EQ(bytes.find(kSourceDir), std::string::npos) << program << " holds " << kSourceDir;
    EXPECT_EQ(bytes.find(BUILD_DIR), std::string::npos) << program << " holds " << BUILD_DIR;
  }
}

// What Debian's hardening=+all gives, as readelf sees it: a PIE, full RELRO (GNU_RELRO and
// BIND_NOW), stack canaries, fortified libc calls, and rrsync still linking libc alone.
TEST_F(PackageTest, BinariesAreHardened) {
  for (const char* program : {"/usr/bin/rrsync", "/usr/bin/rrsync-admin"}) {
    const std::string path = unpacked_ + program;
    ProcessResult header = RunCommand({"readelf", "-h", "-l", "-d", "-W", path});
    ASSERT_EQ(header.exit_code, 0) << header.err;
    EXPECT_TRUE(std::regex_search(header.out, std::regex(R"(Type:\s+DYN )"))) << program;
    EXPECT_NE(header.out.find("GNU_RELRO"), std::string::npos) << program;
    EXPECT_TRUE(std::regex_search(header.out, std::regex(R"(\(FLAGS\)\s+BIND_NOW)"))) << program;
    EXPECT_TRUE(std::regex_search(header.out, std::regex(R"(\(FLAGS_1\)\s+Flags: NOW PIE)")))
        << program << "\n"
        << header.out;
    ProcessResult symbols = RunCommand({"readelf", "--dyn-syms", "-W", path});
    EXPECT_NE(symbols.out.find("__stack_chk_fail"), std::string::npos) << program;
    EXPECT_TRUE(std::regex_search(symbols.out, std::regex(R"( __\w+_chk@)"))) << program;
  }
  // rrsync links glibc alone (libc.so.6 and its loader), whatever the flags added.
  ProcessResult dynamic = RunCommand({"readelf", "-d", "-W", unpacked_ + "/usr/bin/rrsync"});
  std::set<std::string> needed;
  std::regex library(R"(\(NEEDED\)\s+Shared library: \[([^\]]+)\])");
  for (std::sregex_iterator it(dynamic.out.begin(), dynamic.out.end(), library), e; it != e; ++it) {
    needed.insert((*it)[1]);
  }
  EXPECT_EQ(needed, (std::set<std::string>{"libc.so.6", "ld-linux-x86-64.so.2"})) << dynamic.out;
}

// ---------------------------------------------------------------------------------------------
// Installation into a scratch root: dpkg --root=ROOT keeps its database in ROOT/var/lib/dpkg and
// its files in ROOT; --force-script-chrootless runs the maintainer scripts on the host with
// DPKG_ROOT=ROOT, where dpkg-divert (which honours DPKG_ROOT) changes ROOT's diversions only.
// The rsync package and the libraries are small stand-ins built here, rsync's holding a
// /usr/bin/rrsync and its man page to divert.

std::string DiversionsIn(const std::string& root) {
  return RunCommand({"dpkg-divert", "--root", root, "--list", "*rrsync*"}).out;
}

class ScratchRootTest : public PackageTest {
 protected:
  void SetUp() override {
    PackageTest::SetUp();
    if (HasFatalFailure()) return;
    host_diversions_ = RunCommand({"dpkg-divert", "--list", "*rrsync*"}).out;
    host_status_ = RunCommand({"dpkg-query", "-W", "-f=${Status}", "rrsync"}).out;
    host_script_ = Sha256("/usr/bin/rrsync");
    root_ = scratch_root_.path() + "/root";
    const std::string admin = root_ + "/var/lib/dpkg";
    for (const char* d : {"/info", "/updates", "/triggers"}) {
      ASSERT_EQ(Shell("mkdir -p " + admin + d).exit_code, 0);
    }
    WriteFile(admin + "/status", "");
    WriteFile(admin + "/available", "");
    // What the package depends on, as empty stand-ins of the host's versions (rsync's with the
    // script to divert).
    std::string depends = Field("Depends");
    std::regex name(R"(([a-z0-9][a-z0-9+.-]+)(?: \([^)]*\))?)");
    for (std::sregex_iterator it(depends.begin(), depends.end(), name), e; it != e; ++it) {
      ASSERT_NO_FATAL_FAILURE(InstallStandIn((*it)[1]));
    }
  }

  // Builds and installs an empty package `name` at the host's version (or 9999).
  void InstallStandIn(const std::string& name) {
    ProcessResult v = RunCommand({"dpkg-query", "-W", "-f=${Version}", name});
    std::string version = v.exit_code == 0 && !v.out.empty() ? v.out : "9999";
    const std::string tree = scratch_root_.path() + "/standin-" + name;
    ASSERT_EQ(Shell("mkdir -p " + tree + "/DEBIAN").exit_code, 0);
    WriteFile(tree + "/DEBIAN/control", "Package: " + name + "\nVersion: " + version +
                                            "\nArchitecture: amd64\nMaintainer: test "
                                            "<test@rrsync.invalid>\nDescription: stand-in\n");
    if (name == "rsync") {
      ASSERT_EQ(Shell("mkdir -p " + tree + "/usr/bin " + tree + "/usr/share/man/man1").exit_code,
                0);
      WriteFile(tree + "/usr/bin/rrsync", "#!/bin/sh\necho \"rsync's rrsync script\"\n", 0755);
      ASSERT_EQ(Shell("echo \"rsync's rrsync page\" | gzip -n > " + tree +
                      "/usr/share/man/man1/rrsync.1.gz")
                    .exit_code,
                0);
    }
    const std::string deb = tree + ".deb";
    ProcessResult b = RunCommand({"dpkg-deb", "--root-owner-group", "-b", tree, deb});
    ASSERT_EQ(b.exit_code, 0) << b.out << b.err;
    ProcessResult i = Dpkg({"-i", deb});
    ASSERT_EQ(i.exit_code, 0) << i.out << i.err;
  }

  ProcessResult Dpkg(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"dpkg", "--root=" + root_, "--force-script-chrootless",
                                     "--log=" + scratch_root_.path() + "/dpkg.log"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, 300);
  }

  std::string Status() {
    ProcessResult r = RunCommand({"dpkg-query", "--root=" + root_, "-W", "-f=${Status}", "rrsync"});
    if (r.exit_code != 0 || r.out.find("not-installed") != std::string::npos) return "";
    return r.out;
  }

  // The host is as it was: no rrsync package, no new diversion, its /usr/bin/rrsync unchanged.
  void TearDown() override {
    EXPECT_EQ(RunCommand({"dpkg-divert", "--list", "*rrsync*"}).out, host_diversions_);
    EXPECT_EQ(RunCommand({"dpkg-query", "-W", "-f=${Status}", "rrsync"}).out, host_status_);
    EXPECT_EQ(Sha256("/usr/bin/rrsync"), host_script_);
  }

  ScratchDir scratch_root_;
  std::string root_;
  std::string host_diversions_, host_status_, host_script_;
};

TEST_F(ScratchRootTest, DivertsRsyncsRrsyncAndGivesItBack) {
  const std::string script = Sha256(root_ + "/usr/bin/rrsync");
  const std::string page = Sha256(root_ + "/usr/share/man/man1/rrsync.1.gz");
  ASSERT_FALSE(script.empty());
  EXPECT_EQ(DiversionsIn(root_), "");

  ProcessResult install = Dpkg({"-i", deb_});
  ASSERT_EQ(install.exit_code, 0) << install.out << install.err;
  EXPECT_EQ(Status(), "install ok installed");
  EXPECT_NE(install.err.find("rrsync: check the server with: rrsync-admin audit"),
            std::string::npos)
      << install.err;
  auto check_installed = [&] {
    EXPECT_EQ(RunCommand({"dpkg-divert", "--root", root_, "--truename", "/usr/bin/rrsync"}).out,
              "/usr/bin/rrsync.distrib\n");
    EXPECT_EQ(RunCommand(
                  {"dpkg-divert", "--root", root_, "--truename", "/usr/share/man/man1/rrsync.1.gz"})
                  .out,
              "/usr/share/man/man1/rrsync.distrib.1.gz\n");
    EXPECT_EQ(Sha256(root_ + "/usr/bin/rrsync.distrib"), script);
    EXPECT_EQ(Sha256(root_ + "/usr/share/man/man1/rrsync.distrib.1.gz"), page);
    // ROOT's /usr/bin/rrsync is now ours: it answers the probe.
    ProcessResult probe =
        Shell("SSH_ORIGINAL_COMMAND='rrsync-probe v1' " + root_ + "/usr/bin/rrsync -wo /");
    EXPECT_EQ(probe.out,
              std::string("rrsync-probe ok version=") + PACKAGE_VERSION + " mode=write-only\n");
    EXPECT_EQ(Shell("zcat " + root_ + "/usr/share/man/man1/rrsync.1.gz").out,
              ReadFile(kSourceDir + "/man/rrsync.1"));
    EXPECT_EQ(access((root_ + "/etc/logrotate.d/rrsync").c_str(), F_OK), 0);
    // The rsync stand-in is intact as far as dpkg is concerned.
    EXPECT_EQ(RunCommand({"dpkg", "--root=" + root_, "--verify", "rsync"}).out, "");
  };
  check_installed();

  // An upgrade (the same version again): preinst's diversions are already there.
  ProcessResult upgrade = Dpkg({"-i", deb_});
  ASSERT_EQ(upgrade.exit_code, 0) << upgrade.out << upgrade.err;
  // postinst greets a first installation only.
  EXPECT_EQ(upgrade.err.find("rrsync: check the server"), std::string::npos) << upgrade.err;
  check_installed();

  ProcessResult remove = Dpkg({"-r", "rrsync"});
  ASSERT_EQ(remove.exit_code, 0) << remove.out << remove.err;
  // The conffile stays until purge.
  EXPECT_EQ(Status(), "deinstall ok config-files");
  EXPECT_EQ(DiversionsIn(root_), "");
  EXPECT_EQ(Sha256(root_ + "/usr/bin/rrsync"), script);
  EXPECT_EQ(Sha256(root_ + "/usr/share/man/man1/rrsync.1.gz"), page);
  EXPECT_NE(access((root_ + "/usr/bin/rrsync-admin").c_str(), F_OK), 0);
  EXPECT_NE(access((root_ + "/usr/bin/rrsync.distrib").c_str(), F_OK), 0);
  EXPECT_EQ(access((root_ + "/etc/logrotate.d/rrsync").c_str(), F_OK), 0);

  ProcessResult purge = Dpkg({"--purge", "rrsync"});
  ASSERT_EQ(purge.exit_code, 0) << purge.out << purge.err;
  EXPECT_EQ(Status(), "");
  EXPECT_EQ(DiversionsIn(root_), "");
  EXPECT_NE(access((root_ + "/etc/logrotate.d/rrsync").c_str(), F_OK), 0);
  EXPECT_EQ(Sha256(root_ + "/usr/bin/rrsync"), script);
}

}  // namespace
}  // namespace rrsync
