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

TEST(CommandLine, HelpNeedsNoDir) {
  Settings s;
  std::string err;
  ASSERT_TRUE(Parse({"-h"}, &s, &err));
  EXPECT_TRUE(s.help);
  EXPECT_NE(UsageText().find("-sandbox=auto|require|off"), std::string::npos);
}

}  // namespace
}  // namespace rrsync
