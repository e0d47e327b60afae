#include "server_command.h"

#include <gtest/gtest.h>

namespace rrsync {
namespace {

using Words = std::vector<std::string>;

TEST(SplitServerWords, SplitsOnWhitespace) {
  EXPECT_EQ(SplitServerWords("-v  . a\tb"), (Words{"-v", ".", "a", "b"}));
  EXPECT_EQ(SplitServerWords(""), Words{});
}

TEST(SplitServerWords, BackslashKeepsTheNextCharacter) {
  EXPECT_EQ(SplitServerWords(". a\\ b c\\\\ d"), (Words{".", "a\\ b", "c\\\\", "d"}));
  // A backslash that has nothing to escape is dropped.
  EXPECT_EQ(SplitServerWords("a\\"), (Words{"a"}));
  EXPECT_EQ(SplitServerWords("a\\\nb"), (Words{"a", "b"}));
}

TEST(SplitServerWords, UnicodeWhitespaceSeparates) {
  EXPECT_EQ(SplitServerWords("a\xc2\xa0" "b\x1c" "c"), (Words{"a", "b", "c"}));
  EXPECT_EQ(SplitServerWords("a\\\xc2\xa0" "b"), (Words{"a\\\xc2\xa0" "b"}));
}

TEST(SplitServerWords, KeepsControlCharactersAndInvalidBytes) {
  EXPECT_EQ(SplitServerWords(std::string_view("a\x01\0b \x7f", 6)),
            (Words{std::string("a\x01\0b", 4), "\x7f"}));
  // A lone \x85 is an invalid byte, not U+0085 (which is whitespace).
  EXPECT_EQ(SplitServerWords("a\x85" "b \xff\xfe"), (Words{"a\x85" "b", "\xff\xfe"}));
  EXPECT_EQ(SplitServerWords("a\xc2\x85" "b"), (Words{"a", "b"}));
  EXPECT_EQ(SplitServerWords("caf\xc3\xa9 \\\xc3\xa9x"), (Words{"caf\xc3\xa9", "\\\xc3\xa9x"}));
}

TEST(RemoveBackslashes, RemovesOneLevel) {
  EXPECT_EQ(RemoveBackslashes("a\\ b"), "a b");
  EXPECT_EQ(RemoveBackslashes("a\\\\b"), "a\\b");
  EXPECT_EQ(RemoveBackslashes("a\\"), "a\\");
}

}  // namespace
}  // namespace rrsync
