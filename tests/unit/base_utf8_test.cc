#include "agent/base/utf8.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

TEST(Utf8, ValidTextIsValid) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("ready: 12 of 12"));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));  // é € 😀
  EXPECT_TRUE(IsValidUtf8("\xf4\x8f\xbf\xbf"));                           // U+10FFFF
}

TEST(Utf8, MalformedSequencesAreNot) {
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\x80"));              // a stray continuation byte
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // an overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // overlong, three bytes
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // a surrogate (U+D800)
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));          // cut short
  EXPECT_FALSE(IsValidUtf8("ok\xc3"));            // cut short at the end
}

TEST(Utf8, EscapeKeepsValidTextUnchanged) {
  EXPECT_EQ(EscapeInvalidUtf8("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(EscapeInvalidUtf8(""), "");
}

TEST(Utf8, EscapeWritesEachBadByteAsHex) {
  EXPECT_EQ(EscapeInvalidUtf8("a\xff\xfe"
                              "b"),
            "a\\xff\\xfeb");
  // The good sequence after a bad byte is kept whole.
  EXPECT_EQ(EscapeInvalidUtf8("\xe2\x82\xc3\xa9"), "\\xe2\\x82\xc3\xa9");
  EXPECT_TRUE(IsValidUtf8(EscapeInvalidUtf8("\xc0\xaf\xed\xa0\x80\xf8")));
}

TEST(Utf8, EveryByteStringEscapesToValidUtf8) {
  // All two-byte strings: the result is always valid, and valid input is never changed.
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      const std::string in{static_cast<char>(a), static_cast<char>(b)};
      const std::string out = EscapeInvalidUtf8(in);
      ASSERT_TRUE(IsValidUtf8(out)) << a << " " << b;
      if (IsValidUtf8(in)) {
        ASSERT_EQ(out, in);
      }
    }
  }
}

}  // namespace
}  // namespace vigil
