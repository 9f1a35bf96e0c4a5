// PublicText: worker bytes into public API strings (agent/control/utf8.h).
#include "agent/control/utf8.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "vigil/v1/lifecycle.pb.h"

namespace vigil::control {
namespace {

using namespace std::string_literals;

TEST(PublicText, KeepsWellFormedText) {
  EXPECT_EQ(PublicText("serving 42 requests"), "serving 42 requests");
  EXPECT_EQ(PublicText("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(PublicText("\xc2\xa0\xef\xbf\xbf\xf4\x8f\xbf\xbf"),
            "\xc2\xa0\xef\xbf\xbf\xf4\x8f\xbf\xbf");
  EXPECT_EQ(PublicText(""), "");
}

TEST(PublicText, KeepsBackslashes) {
  EXPECT_EQ(PublicText(R"(C:\dir \x41)"), R"(C:\dir \x41)");
}

TEST(PublicText, EscapesEachByteThatIsNotUtf8) {
  EXPECT_EQ(PublicText("a\xff\xfe"
                       "b"),
            R"(a\xff\xfeb)");
  EXPECT_EQ(PublicText("\x80"), R"(\x80)");                          // stray continuation byte
  EXPECT_EQ(PublicText("\xc0\xaf"), R"(\xc0\xaf)");                  // overlong '/'
  EXPECT_EQ(PublicText("\xe0\x80\xaf"), R"(\xe0\x80\xaf)");          // overlong, 3 bytes
  EXPECT_EQ(PublicText("\xed\xa0\x80"), R"(\xed\xa0\x80)");          // a UTF-16 surrogate
  EXPECT_EQ(PublicText("\xf4\x90\x80\x80"), R"(\xf4\x90\x80\x80)");  // above U+10FFFF
  EXPECT_EQ(PublicText("end \xe2\x82"), R"(end \xe2\x82)");          // cut short
  // A cut sequence does not swallow the valid character after it.
  EXPECT_EQ(PublicText("\xe2\x82\xc3\xa9"), "\\xe2\\x82\xc3\xa9");
}

TEST(PublicText, EscapesControlCharacters) {
  EXPECT_EQ(PublicText("a\tb\x7f"), R"(a\x09b\x7f)");
  EXPECT_EQ(PublicText("\x1b[2J"), R"(\x1b[2J)");
  EXPECT_EQ(PublicText("x\0y"s), R"(x\x00y)");
  EXPECT_EQ(PublicText("\r\n"), R"(\x0d\x0a)");
  EXPECT_EQ(PublicText("\xc2\x9b"), R"(\xc2\x9b)");  // C1 CSI
}

// Whatever the bytes, the result is a string a proto3 `string` accepts (the full runtime
// rejects a message whose string field is not UTF-8), at most 4 times as long.
TEST(PublicText, AnyBytesGiveValidUtf8) {
  std::mt19937 random(1234);
  for (int round = 0; round < 2000; ++round) {
    std::string bytes(static_cast<size_t>(random() % 64), '\0');
    for (char& c : bytes)
      c = static_cast<char>(random() % 256);
    const std::string text = PublicText(bytes);
    EXPECT_LE(text.size(), 4 * bytes.size());
    v1::Worker w;
    w.set_status_text(text);
    v1::Worker back;
    ASSERT_TRUE(back.ParseFromString(w.SerializeAsString())) << "not UTF-8: " << text;
    EXPECT_EQ(back.status_text(), text);
  }
}

}  // namespace
}  // namespace vigil::control
