#include "config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "test_support.h"

namespace rrsync {
namespace {

using testing::WriteFile;

std::string ParseError(const std::string& text) {
  Config config;
  std::string err;
  EXPECT_FALSE(ParseConfig(text, "/etc/rrsync.conf", &config, &err)) << text;
  return err;
}

Config Parsed(const std::string& text) {
  Config config;
  std::string err;
  EXPECT_TRUE(ParseConfig(text, "/etc/rrsync.conf", &config, &err)) << err;
  return config;
}

TEST(Config, TheCompleteExampleOfConfigMd) {
  Config c = Parsed(
      "# /etc/rrsync.conf\n"
      "rsync = /usr/bin/rsync\n"
      "log file = /var/log/rrsync.log\n"
      "syslog facility = local3\n"
      "log format = json\n"
      "sandbox = require\n"
      "lock = yes\n"
      "refuse options = compress*\n"
      "\n"
      "[backup]\n"
      "  path = /srv/backup\n"
      "  write only = yes\n"
      "  no delete = yes\n"
      "  no overwrite = yes\n"
      "; a comment\n"
      "[logs]\n"
      "  Path = /var/log/apps\n"
      "  read   only = true\n"
      "  munge links = yes\n"
      "  absolute = no\n"
      "  refuse options = * \n"
      "  allow options = a v compress checksum\n");
  EXPECT_EQ(c.rsync_path, "/usr/bin/rsync");
  EXPECT_EQ(c.log_file, "/var/log/rrsync.log");
  EXPECT_EQ(c.syslog_facility, LOG_LOCAL3);
  EXPECT_EQ(c.log_format, LogFormat::kJson);
  EXPECT_EQ(c.sandbox, SandboxMode::kRequire);
  EXPECT_TRUE(c.lock);
  EXPECT_EQ(c.defaults.refuse_options, std::vector<std::string>{"compress*"});
  ASSERT_EQ(c.modules.size(), 2u);
  const ModuleConfig* backup = c.FindModule("backup");
  ASSERT_NE(backup, nullptr);
  EXPECT_EQ(backup->path, "/srv/backup");
  EXPECT_EQ(backup->line, 10);
  EXPECT_TRUE(*backup->flags.write_only);
  EXPECT_TRUE(*backup->flags.no_delete);
  EXPECT_TRUE(*backup->flags.no_overwrite);
  EXPECT_FALSE(backup->flags.read_only.has_value());
  const ModuleConfig* logs = c.FindModule("logs");
  ASSERT_NE(logs, nullptr);
  EXPECT_EQ(logs->path, "/var/log/apps");
  EXPECT_TRUE(*logs->flags.read_only);
  EXPECT_TRUE(*logs->flags.munge_links);
  EXPECT_FALSE(*logs->flags.absolute);
  EXPECT_EQ(logs->flags.refuse_options, std::vector<std::string>{"*"});
  EXPECT_EQ(logs->flags.allow_options,
            (std::vector<std::string>{"a", "v", "compress", "checksum"}));
}

TEST(Config, TheExampleInConfigMdParsesAsDocumented) {
  std::string doc = testing::ReadFile(SOURCE_DIR "/docs/CONFIG.md");
  size_t heading = doc.find("## A complete example");
  ASSERT_NE(heading, std::string::npos);
  size_t begin = doc.find("```\n", heading) + 4;
  size_t end = doc.find("```\n", begin);
  Config c = Parsed(doc.substr(begin, end - begin));
  EXPECT_EQ(c.rsync_path, "/usr/bin/rsync");
  EXPECT_EQ(c.log_file, "/var/log/rrsync/audit.log");
  EXPECT_EQ(c.log_format, LogFormat::kJson);
  EXPECT_EQ(c.syslog_facility, LOG_AUTH);
  EXPECT_EQ(c.sandbox, SandboxMode::kRequire);
  EXPECT_TRUE(c.lock);
  EXPECT_EQ(c.defaults.refuse_options, std::vector<std::string>{"compress*"});
  ASSERT_EQ(c.modules.size(), 3u);
  EXPECT_EQ(c.modules[0].path, "/srv/backup");
  EXPECT_TRUE(*c.modules[0].flags.write_only && *c.modules[0].flags.no_delete &&
              *c.modules[0].flags.no_overwrite);
  EXPECT_EQ(c.modules[1].path, "/var/log/apps");
  EXPECT_TRUE(*c.modules[1].flags.read_only && *c.modules[1].flags.munge_links);
  EXPECT_EQ(c.modules[1].flags.allow_options, (std::vector<std::string>{"a", "v", "checksum"}));
  EXPECT_EQ(c.modules[2].path, "/srv/www");
  EXPECT_TRUE(*c.modules[2].flags.absolute);
}

TEST(Config, Defaults) {
  Config c = Parsed("[m]\npath = /m\n");
  EXPECT_EQ(c.rsync_path, "/usr/bin/rsync");
  EXPECT_EQ(c.log_file, "");
  EXPECT_EQ(c.syslog_facility, LOG_AUTH);
  EXPECT_EQ(c.log_format, LogFormat::kText);
  EXPECT_EQ(c.sandbox, SandboxMode::kAuto);
  EXPECT_TRUE(c.lock);
  EXPECT_EQ(c.syslog_socket, "/dev/log");
  EXPECT_EQ(c.FindModule("other"), nullptr);
}

// wrapper read / wrapper write: global, as -wrapper-read and -wrapper-write (which win), with
// the same refusals.
TEST(Config, WrapperGrants) {
  Config c = Parsed("wrapper read = /usr/lib/python3.11 /opt/x\nwrapper write = /var/log/w\n"
                    "[m]\npath = /m\n");
  EXPECT_EQ(c.wrapper_read, (std::vector<std::string>{"/usr/lib/python3.11", "/opt/x"}));
  EXPECT_EQ(c.wrapper_write, (std::vector<std::string>{"/var/log/w"}));
  EXPECT_EQ(ParseError("wrapper write = /etc/cron.d\n"),
            "/etc/rrsync.conf:1: wrapper write: a wrapper may not be granted writing in /etc: "
            "/etc/cron.d");
  EXPECT_EQ(ParseError("wrapper read = /\n"),
            "/etc/rrsync.conf:1: wrapper read: a wrapper may never be granted \"/\" (it holds "
            "DIR and the whole system)");
  EXPECT_EQ(ParseError("[m]\npath = /m\nwrapper read = /opt\n"),
            "/etc/rrsync.conf:3: 'wrapper read' is a global setting, not a module one");
}

TEST(Config, GlobalSectionMayBeNamed) {
  Config c = Parsed("[global]\nlock = no\n[m]\npath = /m\n");
  EXPECT_FALSE(c.lock);
  EXPECT_EQ(ParseError("[m]\npath = /m\n[global]\nlock = no\n"),
            "/etc/rrsync.conf:3: [global] must come before the first module");
}

TEST(ConfigErrors, EachMessageNamesFileAndLine) {
  EXPECT_EQ(ParseError("colour = blue\n"), "/etc/rrsync.conf:1: unknown key 'colour'");
  EXPECT_EQ(ParseError("\n[m]\npath = /m\nread only = maybe\n"),
            "/etc/rrsync.conf:4: read only must be yes or no, not 'maybe'");
  EXPECT_EQ(ParseError("[m]\nwrite only = yes\n"), "/etc/rrsync.conf:1: module [m] has no path");
  EXPECT_EQ(ParseError("[m]\npath = /a\n[n]\npath = /b\n[m]\npath = /c\n"),
            "/etc/rrsync.conf:5: duplicate module [m] (first at line 1)");
  EXPECT_EQ(ParseError("[m]\npath = /a\npath = /b\n"),
            "/etc/rrsync.conf:3: duplicate key 'path' in [m]");
  EXPECT_EQ(ParseError("[m]\npath = relative/dir\n"),
            "/etc/rrsync.conf:2: path must be absolute: 'relative/dir'");
  EXPECT_EQ(ParseError("path = /x\n"), "/etc/rrsync.conf:1: 'path' belongs in a [module] section");
  EXPECT_EQ(ParseError("[m]\npath = /m\nlog file = /x\n"),
            "/etc/rrsync.conf:3: 'log file' is a global setting, not a module one");
  EXPECT_EQ(ParseError("log format = xml\n"),
            "/etc/rrsync.conf:1: log format must be text or json, not 'xml' (rsyncd.conf's format "
            "strings have no meaning here)");
  EXPECT_EQ(ParseError("sandbox = maybe\n"),
            "/etc/rrsync.conf:1: sandbox must be auto, require or off, not 'maybe'");
  EXPECT_EQ(ParseError("syslog facility = kern\n"),
            "/etc/rrsync.conf:1: unknown syslog facility 'kern'");
  EXPECT_EQ(ParseError("rsync = rsync\n"),
            "/etc/rrsync.conf:1: rsync must be an absolute path: 'rsync'");
  EXPECT_EQ(ParseError("lock = sometimes\n"),
            "/etc/rrsync.conf:1: lock must be yes or no, not 'sometimes'");
  EXPECT_EQ(ParseError("just words\n"), "/etc/rrsync.conf:1: expected 'key = value' or '[module]'");
  EXPECT_EQ(ParseError("[m\n"), "/etc/rrsync.conf:1: a section header must end with ']'");
  EXPECT_EQ(ParseError("[../etc]\npath = /x\n"),
            "/etc/rrsync.conf:1: invalid module name '../etc' (letters, digits, '.', '_' and '-'; "
            "not starting with '.' or '-')");
  EXPECT_EQ(ParseError("[m]\npath = /m\nread only = yes\nwrite only = yes\n"),
            "/etc/rrsync.conf:1: module [m] is both read only and write only");
  EXPECT_EQ(ParseError("[m]\npath = /m\nrefuse options = --delete\n"),
            "/etc/rrsync.conf:3: invalid option name '--delete' in refuse options (write names "
            "without dashes: delete, z, compress*)");
  EXPECT_EQ(ParseError(std::string("a = b\0\n", 7)),
            "/etc/rrsync.conf:1: the file contains a NUL byte");
}

TEST(ConfigErrors, OptionsThatCanNeverBeAllowed) {
  for (const char* never : {"daemon", "debug", "copy-devices", "write-devices", "no-munge-links",
                            "L", "k", "K", "copy-links", "copy-unsafe-links", "keep-dirlinks",
                            "copy-dirlinks"}) {
    EXPECT_EQ(ParseError(std::string("[m]\npath = /m\nallow options = v ") + never + "\n"),
              std::string("/etc/rrsync.conf:3: option '") + never +
                  "' can never be allowed (matched by '" + never + "')");
  }
  // -s is not one of them: rrsync checks the secluded words like a plain command.
  Parsed("[m]\npath = /m\nrefuse options = *\nallow options = s secluded-args protect-args\n");
  // A pattern that would take one of them back is refused too.
  EXPECT_EQ(ParseError("allow options = *\n"),
            "/etc/rrsync.conf:1: option 'daemon' can never be allowed (matched by '*')");
  EXPECT_EQ(ParseError("allow options = copy-*\n"),
            "/etc/rrsync.conf:1: option 'copy-devices' can never be allowed (matched by 'copy-*')");
}

Settings CommandLine(std::vector<std::string> args) {
  Settings s;
  std::string err;
  EXPECT_TRUE(ParseCommandLine(args, &s, &err)) << err;
  return s;
}

TEST(SettingsForModule, TheModuleGivesDirAndFlags) {
  Config c = Parsed(
      "rsync = /opt/rsync\nsandbox = require\nlog file = /var/log/r.log\nno overwrite = yes\n"
      "refuse options = z\n"
      "[ro]\npath = /srv/ro\nread only = yes\nrefuse options = c\nallow options = z\n"
      "[rw]\npath = /srv/rw\nread only = no\nno overwrite = no\nmunge links = yes\n");
  Settings s;
  std::vector<std::string> refuse, allow;
  std::string err;
  ASSERT_TRUE(SettingsForModule(CommandLine({"-config=/c", "-module=ro"}), c, *c.FindModule("ro"),
                                &s, &refuse, &allow, &err))
      << err;
  EXPECT_EQ(s.dir, "/srv/ro");
  EXPECT_EQ(s.access, Access::kReadOnly);
  EXPECT_TRUE(s.no_delete && s.no_lock && s.no_overwrite);
  EXPECT_FALSE(s.munge_links);
  EXPECT_EQ(s.rsync_path, "/opt/rsync");
  EXPECT_EQ(s.sandbox, SandboxMode::kRequire);
  EXPECT_EQ(s.log_path, "/var/log/r.log");
  EXPECT_EQ(refuse, (std::vector<std::string>{"z", "c"}));
  EXPECT_EQ(allow, std::vector<std::string>{"z"});

  ASSERT_TRUE(SettingsForModule(CommandLine({"-config=/c", "-module=rw"}), c, *c.FindModule("rw"),
                                &s, &refuse, &allow, &err));
  EXPECT_EQ(s.access, Access::kReadWrite);
  EXPECT_FALSE(s.no_delete || s.no_lock || s.no_overwrite);
  EXPECT_TRUE(s.munge_links);
}

// As rsyncd.conf(5): a module is read only unless it says otherwise; one that says only
// "write only = yes" is an upload module.
TEST(SettingsForModule, AModuleIsReadOnlyByDefaultAsInRsyncdConf) {
  Config c = Parsed(
      "[plain]\npath = /p\n[up]\npath = /u\nwrite only = yes\n[open]\npath = /o\n"
      "read only = no\n");
  Settings s;
  std::vector<std::string> refuse, allow;
  std::string err;
  for (const auto& [name, access] : {std::pair{"plain", Access::kReadOnly},
                                     std::pair{"up", Access::kWriteOnly},
                                     std::pair{"open", Access::kReadWrite}}) {
    ASSERT_TRUE(SettingsForModule(CommandLine({"-config=/c", std::string("-module=") + name}), c,
                                  *c.FindModule(name), &s, &refuse, &allow, &err))
        << err;
    EXPECT_EQ(s.access, access) << name;
  }
  // A global "read only = no" makes every module read-write unless it says otherwise.
  Config open = Parsed("read only = no\n[m]\npath = /m\n");
  ASSERT_TRUE(SettingsForModule(CommandLine({"-config=/c", "-module=m"}), open,
                                *open.FindModule("m"), &s, &refuse, &allow, &err));
  EXPECT_EQ(s.access, Access::kReadWrite);
}

// A module copied from an rsyncd.conf: its own words work, the daemon's are ignored with a
// warning that names them.
TEST(ParseConfig, TakesRsyncdConfModules) {
  Config c = Parsed(
      "[m]\npath = /m\ncomment = nightly dumps\nmunge symlinks = yes\nuse chroot = yes\n"
      "max connections = 4\n");
  ASSERT_EQ(c.modules.size(), 1u);
  EXPECT_EQ(c.modules[0].flags.munge_links, std::optional<bool>(true));
  EXPECT_EQ(c.warnings,
            (std::vector<std::string>{
                "/etc/rrsync.conf:5: rsyncd.conf key 'use chroot' has no effect here (ignored)",
                "/etc/rrsync.conf:6: rsyncd.conf key 'max connections' has no effect here "
                "(ignored)"}));
  EXPECT_EQ(ParseError("[m]\npath = /m\nmunge links = no\nmunge symlinks = yes\n"),
            "/etc/rrsync.conf:4: munge links and munge symlinks are the same key: give one");
  // Still refused: what neither rrsync nor rsyncd.conf knows.
  EXPECT_EQ(ParseError("[m]\npath = /m\ncolour = blue\n"),
            "/etc/rrsync.conf:3: unknown key 'colour'");
}

TEST(SettingsForModule, CommandLineRestrictionsAddUpAndItsValuesWin) {
  Config c = Parsed(
      "sandbox = require\nlock = no\n[rw]\npath = /srv/rw\nread only = no\n[ro]\npath = /r\n"
      "read only = yes\n");
  Settings s;
  std::vector<std::string> refuse, allow;
  std::string err;
  ASSERT_TRUE(
      SettingsForModule(CommandLine({"-wo", "-no-del", "-munge", "-sandbox=off", "-rsync=/x/rsync",
                                     "-log=l", "-config=/c", "-module=rw"}),
                        c, *c.FindModule("rw"), &s, &refuse, &allow, &err));
  EXPECT_EQ(s.access, Access::kWriteOnly);
  EXPECT_TRUE(s.no_delete && s.munge_links);
  EXPECT_TRUE(s.no_lock);  // lock = no in the file
  EXPECT_EQ(s.sandbox, SandboxMode::kOff);
  EXPECT_EQ(s.rsync_path, "/x/rsync");
  EXPECT_EQ(s.log_path, "l");
  EXPECT_FALSE(SettingsForModule(CommandLine({"-wo", "-config=/c", "-module=ro"}), c,
                                 *c.FindModule("ro"), &s, &refuse, &allow, &err));
  EXPECT_EQ(
      err,
      "module ro is read only and write only at once (/etc/rrsync.conf:6 and the command line)");
  // -wo on the key's line and a module that says nothing of "read only": an upload module.
  Config plain = Parsed("[m]\npath = /m\n");
  ASSERT_TRUE(SettingsForModule(CommandLine({"-wo", "-config=/c", "-module=m"}), plain,
                                *plain.FindModule("m"), &s, &refuse, &allow, &err))
      << err;
  EXPECT_EQ(s.access, Access::kWriteOnly);
}

class ConfigFileTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& text, mode_t mode, uid_t owner) {
    std::string path = tmp_ / "rrsync.conf";
    WriteFile(path, text);
    EXPECT_EQ(chmod(path.c_str(), mode), 0);
    EXPECT_EQ(chown(path.c_str(), owner, 0), 0);
    return path;
  }
  testing::TempDir tmp_;
};

TEST_F(ConfigFileTest, LoadsARootOwnedFile) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to give the file away";
  Config c;
  std::string err;
  ASSERT_TRUE(LoadConfig(Write("[m]\npath = /m\n", 0644, 0), &c, &err)) << err;
  EXPECT_EQ(c.modules.size(), 1u);
  EXPECT_EQ(c.file, tmp_ / "rrsync.conf");
}

TEST_F(ConfigFileTest, RefusesFilesOthersCouldChange) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to give the file away";
  Config c;
  std::string err;
  std::string path = Write("[m]\npath = /m\n", 0644, 65534);
  EXPECT_FALSE(LoadConfig(path, &c, &err));
  EXPECT_EQ(err, path + ": must be owned by root");
  path = Write("[m]\npath = /m\n", 0664, 0);
  EXPECT_FALSE(LoadConfig(path, &c, &err));
  EXPECT_EQ(err, path + ": must not be writable by group or others");
  path = Write("[m]\npath = /m\n", 0646, 0);
  EXPECT_FALSE(LoadConfig(path, &c, &err));
  EXPECT_EQ(err, path + ": must not be writable by group or others");
  EXPECT_FALSE(LoadConfig(tmp_ / "missing.conf", &c, &err));
  EXPECT_EQ(err, tmp_ / "missing.conf" + ": cannot open: No such file or directory");
  EXPECT_FALSE(LoadConfig(tmp_.path(), &c, &err));
  EXPECT_EQ(err, tmp_.path() + ": not a regular file");
  path = Write("[m]\npath = /m\nbogus = 1\n", 0600, 0);
  EXPECT_FALSE(LoadConfig(path, &c, &err));
  EXPECT_EQ(err, path + ":3: unknown key 'bogus'");
}

TEST(CommandLineConfig, ParsesConfigModuleAndModules) {
  Settings s = CommandLine({"-ro", "-config=/etc/rrsync.conf", "-modules=backup,logs"});
  EXPECT_EQ(s.config_path, "/etc/rrsync.conf");
  EXPECT_EQ(s.modules, (std::vector<std::string>{"backup", "logs"}));
  EXPECT_EQ(s.dir, "");
  Settings t = CommandLine({"-config", "/c", "-module", "m"});
  EXPECT_EQ(t.module, "m");
  auto error = [](std::vector<std::string> args) {
    Settings fresh;
    std::string err;
    EXPECT_FALSE(ParseCommandLine(args, &fresh, &err));
    return err;
  };
  EXPECT_EQ(error({"-config=/c", "-module=m", "/dir"}),
            "-config takes no DIR (the module's path is the directory): /dir");
  EXPECT_EQ(error({"-config=/c"}), "-config needs exactly one of -module=NAME and -modules=A,B");
  EXPECT_EQ(error({"-config=/c", "-module=a", "-modules=b"}),
            "-config needs exactly one of -module=NAME and -modules=A,B");
  EXPECT_EQ(error({"-module=a", "/dir"}), "-module and -modules need -config=FILE");
  EXPECT_EQ(error({"-modules=a"}), "-module and -modules need -config=FILE");
  EXPECT_EQ(error({"-config=etc/rrsync.conf", "-module=a"}),
            "argument -config: the config path must be absolute: etc/rrsync.conf");
  EXPECT_EQ(error({"-config=/c", "-modules=a,,b"}), "argument -modules: invalid module name: ''");
  EXPECT_EQ(error({"-config=/c", "-module=../x"}), "argument -module: invalid module name: '../x'");
  EXPECT_EQ(error({"-config=/c", "-module=a", "-ro", "-wo"}),
            "argument -wo: not allowed with argument -ro");
}

TEST(CommandLineConfig, UsageMentionsTheNewFlags) {
  std::string usage = UsageText();
  EXPECT_NE(usage.find("-config=FILE"), std::string::npos);
  EXPECT_NE(usage.find("-module=NAME"), std::string::npos);
  EXPECT_NE(usage.find("-modules=A,B"), std::string::npos);
}

}  // namespace
}  // namespace rrsync
