#include "base64.h"

#include <gtest/gtest.h>

namespace rrsync {
namespace {

TEST(DecodeBase64, DecodesWithAndWithoutPadding) {
  std::string out;
  ASSERT_TRUE(DecodeBase64("c3NoLWVkMjU1MTk=", &out));
  EXPECT_EQ(out, "ssh-ed25519");
  ASSERT_TRUE(DecodeBase64("c3NoLWVkMjU1MTk", &out));
  EXPECT_EQ(out, "ssh-ed25519");
}

TEST(DecodeBase64, RefusesWhatIsNotBase64) {
  std::string out;
  EXPECT_FALSE(DecodeBase64("c3N=oLW", &out));
  EXPECT_FALSE(DecodeBase64("c3N*", &out));
  EXPECT_FALSE(DecodeBase64("", &out));
  EXPECT_FALSE(DecodeBase64("==", &out));
}

}  // namespace
}  // namespace rrsync
