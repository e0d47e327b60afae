// Snapshot mode's rules in the pure parts: the flags that go with -snapshots, the options a
// snapshot session refuses, and the words rrsync adds (the pull's exclude, the link-dest level's
// --link-dest and --confine-root).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "command_line.h"
#include "config.h"
#include "decision.h"
#include "path_resolution.h"
#include "test_support.h"

namespace rrsync {
namespace {

constexpr char kPull[] = "rsync --server --sender -vlogDtpre.iLsfxCIvu . ";
constexpr char kPush[] = "rsync --server -vlogDtpre.iLsfxCIvu . ";

std::string ParseError(const std::vector<std::string>& args) {
  Settings settings;
  std::string err;
  return ParseCommandLine(args, &settings, &err) ? "parsed" : err;
}

TEST(SnapshotFlags, GoWithTheLockAndWithoutAbsolutePaths) {
  Settings settings;
  std::string err;
  ASSERT_TRUE(ParseCommandLine({"-snapshots", "/srv"}, &settings, &err)) << err;
  EXPECT_TRUE(settings.snapshots);
  EXPECT_EQ(ParseError({"-ro", "-snapshots", "/srv"}), "parsed");
  EXPECT_EQ(ParseError({"-wo", "-snapshots", "/srv"}), "parsed");
  EXPECT_EQ(ParseError({"-snapshots", "-no-lock", "/srv"}),
            "argument -snapshots: not allowed with argument -no-lock");
  EXPECT_EQ(ParseError({"-snapshots", "-absolute", "/srv"}),
            "argument -snapshots: not allowed with argument -absolute");
  EXPECT_NE(UsageText().find("-snapshots"), std::string::npos);
}

// `snapshots = yes` in a module is -snapshots, with the same companions refused.
TEST(SnapshotConfig, ModuleKeyTurnsSnapshotModeOn) {
  Config config;
  std::string err;
  ASSERT_TRUE(
      ParseConfig("[laptop]\npath = /srv/laptop\nread only = no\nsnapshots = yes\n"
                  "[plain]\npath = /srv/plain\n",
                  "/etc/rrsync.conf", &config, &err))
      << err;
  Settings command_line, settings;
  std::vector<std::string> refuse, allow;
  ASSERT_TRUE(SettingsForModule(command_line, config, *config.FindModule("laptop"), &settings,
                                &refuse, &allow, &err))
      << err;
  EXPECT_TRUE(settings.snapshots);
  ASSERT_TRUE(SettingsForModule(command_line, config, *config.FindModule("plain"), &settings,
                                &refuse, &allow, &err))
      << err;
  EXPECT_FALSE(settings.snapshots);
  config = Config();
  ASSERT_TRUE(
      ParseConfig("lock = no\n[laptop]\npath = /srv/laptop\nread only = no\n"
                  "snapshots = yes\n",
                  "/etc/rrsync.conf", &config, &err))
      << err;
  EXPECT_FALSE(SettingsForModule(command_line, config, *config.FindModule("laptop"), &settings,
                                 &refuse, &allow, &err));
  EXPECT_EQ(err, "module laptop: snapshots = yes needs the lock (lock = no or -no-lock)");
}

class SnapshotDecision : public ::testing::Test {
 protected:
  SnapshotDecision() {
    dir_ = NormalizePath(tmp_ / "dir");
    testing::MakeDirs(dir_ + "/2026-01-01T000000Z/sub");
    testing::MakeDirs(dir_ + "/.rrsync-incoming-2026-01-02T000000Z/tree");
    settings_.dir = dir_;
    settings_.snapshots = true;
  }
  // The words handed to rsync, or "refused: ...".
  std::string Words(const std::string& command, const std::string& link_dest = "") {
    DecisionInput input;
    input.settings = &settings_;
    input.dir = dir_;
    input.features = RsyncFeatures();
    input.command = command;
    input.snapshot_link_dest = link_dest;
    if (!link_dest.empty()) input.confine_root = "/confine";
    Decision d = Decide(input, fs_);
    if (d.verdict != Verdict::kRunRsync) return "refused: " + d.refusal;
    std::string out;
    for (const ServerWord& w : d.request.words) out += (out.empty() ? "" : " ") + w.text;
    return out;
  }

  testing::TempDir tmp_;
  std::string dir_;
  Settings settings_;
  RealFilesystem fs_;
};

TEST_F(SnapshotDecision, PullExcludesAndRefusesThePushInProgress) {
  const std::string words = Words(std::string(kPull) + ".");
  EXPECT_NE(words.find(" --exclude=/.rrsync-incoming-* "), std::string::npos) << words;
  EXPECT_EQ(Words(std::string(kPull) + ".rrsync-incoming-2026-01-02T000000Z/tree"),
            "refused: unsafe arg: .rrsync-incoming-2026-01-02T000000Z/tree (a snapshot push in "
            "progress)");
  EXPECT_EQ(Words(std::string(kPull) + "/.rrsync-incoming-x"),
            "refused: unsafe arg: /.rrsync-incoming-x (a snapshot push in progress)");
  EXPECT_EQ(Words(std::string(kPull) + "/.rrsync-incoming-*"),
            "refused: unsafe arg: /.rrsync-incoming-* (a snapshot push in progress)");
}

TEST_F(SnapshotDecision, RefusesWhatWouldWriteIntoASnapshot) {
  for (const char* command :
       {"rsync --server --sender --remove-source-files -vlogDtpre.iLsfxCIvu . x",
        "rsync --server --remove-source-files -vlogDtpre.iLsfxCIvu . x"})
    EXPECT_EQ(Words(command),
              "refused: option --remove-source-files has been disabled on this server.");
  EXPECT_EQ(Words("rsync --server --sender --log-file=log -vlogDtpre.iLsfxCIvu . x"),
            "refused: option --log-file has been disabled on this server.");
  // The overlay level confines the rest: allowed.
  EXPECT_EQ(Words("rsync --server --inplace --append -vlogDtpre.iLsfxCIvu . x").substr(0, 18),
            "--server --inplace");
}

TEST_F(SnapshotDecision, LinkDestLevelAddsLinkDestAndRefusesInPlaceWrites) {
  const std::string words = Words(std::string(kPush) + ".", dir_ + "/2026-01-01T000000Z");
  EXPECT_NE(words.find(" --confine-root=/confine "), std::string::npos) << words;
  EXPECT_NE(words.find(" --link-dest=" + dir_ + "/2026-01-01T000000Z "), std::string::npos)
      << words;
  EXPECT_EQ(Words("rsync --server --inplace -vlogDtpre.iLsfxCIvu . .", "/l"),
            "refused: option --inplace has been disabled on this server.");
  EXPECT_EQ(Words("rsync --server --append -vlogDtpre.iLsfxCIvu . .", "/l"),
            "refused: option --append has been disabled on this server.");
}

}  // namespace
}  // namespace rrsync
