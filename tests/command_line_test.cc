#include "command_line.h"

#include <gtest/gtest.h>

namespace rrsync {
namespace {

bool Parse(std::vector<std::string> args, Settings* s, std::string* err) {
  return ParseCommandLine(args, s, err);
}

TEST(CommandLine, DirOnlyIsReadWriteWithLock) {
  Settings s;
  std::string err;
  ASSERT_TRUE(Parse({"/srv/backup"}, &s, &err)) << err;
  EXPECT_EQ(s.dir, "/srv/backup");
  EXPECT_EQ(s.access, Access::kReadWrite);
  EXPECT_FALSE(s.no_lock);
  EXPECT_FALSE(s.no_delete);
  EXPECT_EQ(s.rsync_path, "/usr/bin/rsync");
  EXPECT_EQ(s.log_path, "rrsync.log");
  EXPECT_EQ(s.sandbox, SandboxMode::kAuto);
}

TEST(CommandLine, ReadOnlyImpliesNoDelAndNoLock) {
  Settings s;
  std::string err;
  ASSERT_TRUE(Parse({"-ro", "d"}, &s, &err));
  EXPECT_EQ(s.access, Access::kReadOnly);
  EXPECT_TRUE(s.no_delete);
  EXPECT_TRUE(s.no_lock);
}

TEST(CommandLine, EveryFlag) {
  Settings s;
  std::string err;
  ASSERT_TRUE(Parse({"-wo", "-munge", "-absolute", "-no-del", "-no-lock", "-no-overwrite",
                     "-rsync=/opt/rsync", "-log", "/var/log/r.log", "-sandbox=require", "d"},
                    &s, &err))
      << err;
  EXPECT_EQ(s.access, Access::kWriteOnly);
  EXPECT_TRUE(s.munge_links && s.absolute && s.no_delete && s.no_lock && s.no_overwrite);
  EXPECT_EQ(s.rsync_path, "/opt/rsync");
  EXPECT_EQ(s.log_path, "/var/log/r.log");
  EXPECT_EQ(s.sandbox, SandboxMode::kRequire);
  Settings t;
  ASSERT_TRUE(Parse({"d", "-rsync", "/x/rsync", "-sandbox", "off"}, &t, &err)) << err;
  EXPECT_EQ(t.rsync_path, "/x/rsync");
  EXPECT_EQ(t.sandbox, SandboxMode::kOff);
}

TEST(CommandLine, UsageErrors) {
  struct Case {
    std::vector<std::string> args;
    std::string err;
  } cases[] = {
      {{}, "the following arguments are required: DIR"},
      {{"-ro"}, "the following arguments are required: DIR"},
      {{"-ro", "-wo", "d"}, "argument -wo: not allowed with argument -ro"},
      {{"-bogus", "d"}, "unrecognized arguments: -bogus"},
      {{"-ro=1", "d"}, "unrecognized arguments: -ro=1"},
      {{"d", "e"}, "unrecognized arguments: e"},
      {{"-rsync=rsync", "d"}, "argument -rsync: the rsync path must be absolute: rsync"},
      {{"d", "-rsync"}, "argument -rsync: expected one argument"},
      {{"-sandbox=maybe", "d"},
       "argument -sandbox: invalid choice: 'maybe' (choose from 'auto', 'require', 'off')"},
  };
  for (const Case& c : cases) {
    Settings s;
    std::string err;
    EXPECT_FALSE(Parse(c.args, &s, &err));
    EXPECT_EQ(err, c.err);
  }
}

// -wrapper-read and -wrapper-write: absolute paths in normal form, never "/", /proc, /sys or
// /dev, and no writing in the system's programs and configuration.
TEST(CommandLine, WrapperGrants) {
  Settings s;
  std::string err;
  ASSERT_TRUE(Parse({"-wrapper-read=/usr/lib/python3.11,/opt/x", "-wrapper-write", "/var/log/w",
                     "dir"},
                    &s, &err))
      << err;
  EXPECT_EQ(s.wrapper_read, (std::vector<std::string>{"/usr/lib/python3.11", "/opt/x"}));
  EXPECT_EQ(s.wrapper_write, (std::vector<std::string>{"/var/log/w"}));
  EXPECT_TRUE(s.wrapper_read_given && s.wrapper_write_given);
  const std::pair<const char*, const char*> refused[] = {
      {"-wrapper-read=/", "argument -wrapper-read: a wrapper may never be granted \"/\" (it "
                          "holds DIR and the whole system)"},
      {"-wrapper-write=log", "argument -wrapper-write: a wrapper's grants must be absolute "
                             "paths: log"},
      {"-wrapper-read=/srv/../etc", "argument -wrapper-read: a wrapper's grant must be a path in "
                                    "normal form (no \".\", \"..\", \"//\" or trailing "
                                    "\"/\"): /srv/../etc"},
      {"-wrapper-read=/srv/", "argument -wrapper-read: a wrapper's grant must be a path in "
                              "normal form (no \".\", \"..\", \"//\" or trailing \"/\"): "
                              "/srv/"},
      {"-wrapper-read=/proc/self", "argument -wrapper-read: a wrapper may not be granted "
                                   "anything in /proc: /proc/self"},
      {"-wrapper-read=/dev", "argument -wrapper-read: a wrapper may not be granted anything in "
                             "/dev: /dev"},
      {"-wrapper-write=/etc/cron.d", "argument -wrapper-write: a wrapper may not be granted "
                                     "writing in /etc: /etc/cron.d"},
      {"-wrapper-write=/usr/local/lib", "argument -wrapper-write: a wrapper may not be granted "
                                        "writing in /usr: /usr/local/lib"},
  };
  for (const auto& [flag, why] : refused) {
    Settings t;
    EXPECT_FALSE(Parse({flag, "dir"}, &t, &err)) << flag;
    EXPECT_EQ(err, why);
  }
  // Reading /etc or /usr is what a wrapper's interpreter does; only writing there is refused.
  Settings r;
  EXPECT_TRUE(Parse({"-wrapper-read=/etc/wrapper.conf", "dir"}, &r, &err)) << err;
  // A name that only begins like a system directory is not in it.
  EXPECT_TRUE(Parse({"-wrapper-write=/etcetera", "dir"}, &r, &err)) << err;
}

TEST(CommandLine, HelpNeedsNoDir) {
  Settings s;
  std::string err;
  ASSERT_TRUE(Parse({"-h"}, &s, &err));
  EXPECT_TRUE(s.help);
  EXPECT_NE(UsageText().find("-sandbox=auto|require|off"), std::string::npos);
}

}  // namespace
}  // namespace rrsync
