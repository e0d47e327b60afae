#include "escape.h"

#include <gtest/gtest.h>

namespace rrsync {
namespace {

TEST(EscapeUntrusted, KeepsPrintableText) {
  EXPECT_EQ(EscapeUntrusted("a b/c\\d 'é'"), "a b/c\\d 'é'");
}

TEST(EscapeUntrusted, EscapesControlsAndInvalidUtf8) {
  EXPECT_EQ(EscapeUntrusted("a\nb\x1b[31m\x7f"), "a\\x0ab\\x1b[31m\\x7f");
  EXPECT_EQ(EscapeUntrusted("\xff\xc3"), "\\xff\\xc3");
  EXPECT_EQ(EscapeUntrusted("\xc2\x85"), "\\u0085");            // NEL, a C1 control
  EXPECT_EQ(EscapeUntrusted("x\xe2\x80\xaey"), "x\\u202ey");    // right-to-left override
}

TEST(EscapeUntrusted, CapsLength) {
  std::string long_text(5000, 'a');
  std::string out = EscapeUntrusted(long_text, 100);
  EXPECT_EQ(out, std::string(100, 'a') + "...");
}

TEST(EscapeAndShorten, KeepsTheEnd) {
  std::string message = "post-realpath open failed (race detected): " + std::string(5000, 'x') +
                        " File name too long";
  std::string out = EscapeAndShorten(message, 200);
  EXPECT_EQ(out.size(), 150u + 3u + 50u);
  EXPECT_TRUE(out.starts_with("post-realpath open failed (race detected): xxx")) << out;
  EXPECT_TRUE(out.ends_with("xxx File name too long")) << out;
  EXPECT_NE(out.find("x...x"), std::string::npos);
  EXPECT_EQ(EscapeAndShorten("short\n", 200), "short\\x0a");
  // Never cut inside a character.
  std::string wide;
  for (int i = 0; i < 300; ++i) wide += "\xc3\xa9";
  std::string cut = EscapeAndShorten(wide, 101);
  EXPECT_EQ(EscapeUntrusted(cut), cut);
}

TEST(PythonRepr, QuotesAsPython) {
  EXPECT_EQ(PythonRepr("abc"), "'abc'");
  EXPECT_EQ(PythonRepr("it's"), "\"it's\"");
  EXPECT_EQ(PythonRepr("'\""), "'\\'\"'");
  EXPECT_EQ(PythonRepr("a\\b\tc\n"), "'a\\\\b\\tc\\n'");
  EXPECT_EQ(PythonRepr("\x01\x7f"), "'\\x01\\x7f'");
  EXPECT_EQ(PythonRepr("caf\xc3\xa9"), "'caf\xc3\xa9'");
  EXPECT_EQ(PythonRepr("\xff"), "'\\udcff'");
  EXPECT_EQ(PythonRepr("\xc2\xa0"), "'\\xa0'");
}

}  // namespace
}  // namespace rrsync
