#include "rsync_features.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace rrsync {
namespace {

TEST(RsyncFeatures, FindsOptionsOfTheInstalledRsync) {
  RsyncFeatures f;
  f.drop_devices = f.confine_root = false;
  std::string err;
  ASSERT_TRUE(DetectRsyncFeatures("/usr/bin/rsync", &f, &err)) << err;
  EXPECT_TRUE(f.drop_devices);
  EXPECT_TRUE(f.confine_root);
}

TEST(RsyncFeatures, OldRsyncLacksThem) {
  RsyncFeatures f;
  std::string err;
  ASSERT_TRUE(DetectRsyncFeatures(ARGV_RECORDER_OLD_RSYNC, &f, &err)) << err;
  EXPECT_FALSE(f.drop_devices);
  EXPECT_FALSE(f.confine_root);
  ASSERT_TRUE(DetectRsyncFeatures(ARGV_RECORDER, &f, &err)) << err;
  EXPECT_TRUE(f.drop_devices);
  EXPECT_TRUE(f.confine_root);
}

// A wrapper names no options: rrsync cannot tell, and must not take that for an old rsync.
TEST(RsyncFeatures, AScriptCannotTellAndLeavesTheFeaturesAlone) {
  testing::TempDir tmp;
  const std::string script = tmp / "rsync";
  testing::WriteFile(script, "#!/bin/sh\nexec /usr/bin/rsync \"$@\"\n");
  RsyncFeatures f;
  std::string err;
  EXPECT_FALSE(DetectRsyncFeatures(script, &f, &err));
  EXPECT_EQ(err, script + " is not an ELF binary");
  EXPECT_TRUE(f.drop_devices);
  EXPECT_TRUE(f.confine_root);
}

// The binary is read in pieces: a name across the end of one is found, wherever it falls.
TEST(RsyncFeatures, NamesAcrossTheReadsAreFound) {
  testing::TempDir tmp;
  const std::string binary = tmp / "rsync";
  for (size_t at = 16384 - 14; at <= 16384 + 1; ++at) {
    std::string image = std::string(
                            "\x7f"
                            "ELF") +
                        std::string(at - 4, 'x');
    image += std::string("confine-root\0", 13) + std::string(20000, 'y') +
             std::string("drop-D\0", 7) + "z";
    testing::WriteFile(binary, image);
    RsyncFeatures f;
    f.drop_devices = f.confine_root = false;
    std::string err;
    ASSERT_TRUE(DetectRsyncFeatures(binary, &f, &err)) << err;
    EXPECT_TRUE(f.confine_root) << "at " << at;
    EXPECT_TRUE(f.drop_devices) << "at " << at;
  }
  // Only the whole name, with its NUL, counts.
  testing::WriteFile(binary, std::string("\x7f"
                                         "ELF") +
                                 std::string(16370, 'x') + "confine-root" +
                                 std::string("drop-D", 6));
  RsyncFeatures f;
  std::string err;
  ASSERT_TRUE(DetectRsyncFeatures(binary, &f, &err)) << err;
  EXPECT_FALSE(f.confine_root);
  EXPECT_FALSE(f.drop_devices);
  testing::WriteFile(binary, "");
  EXPECT_FALSE(DetectRsyncFeatures(binary, &f, &err));
  EXPECT_EQ(err, "rsync binary is not a regular file: " + binary);
}

TEST(RsyncFeatures, UnreadableBinaryIsAnError) {
  RsyncFeatures f;
  std::string err;
  EXPECT_FALSE(DetectRsyncFeatures("/nonexistent/rsync", &f, &err));
  EXPECT_EQ(err, "unable to read rsync binary /nonexistent/rsync: No such file or directory");
}

}  // namespace
}  // namespace rrsync
