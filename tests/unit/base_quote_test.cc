#include "agent/base/quote.h"

#include <gtest/gtest.h>

#include <string>

#include "agent/base/utf8.h"

namespace vigil {
namespace {

TEST(Quoted, ShortTextIsQuotedAsItIs) {
  EXPECT_EQ(Quoted("soon"), "'soon'");
  EXPECT_EQ(Quoted(""), "''");
  EXPECT_EQ(Quoted("caf\xc3\xa9"), "'caf\xc3\xa9'");
}

TEST(Quoted, ControlCharactersAndBadBytesAreEscaped) {
  EXPECT_EQ(Quoted("a\nb\x1b[31m"), "'a\\x0ab\\x1b[31m'");
  EXPECT_EQ(Quoted("\xff\xfe"), "'\\xff\\xfe'");
}

// Regression (issue 10, defect 15): a 1 MB config value was echoed in a 1 MB error line.
TEST(Quoted, LongTextIsCutAndItsLengthSaid) {
  const std::string huge(1 << 20, 'x');
  const std::string q = Quoted(huge);
  EXPECT_LT(q.size(), 200u);
  EXPECT_EQ(q, "'" + std::string(kMaxQuoted, 'x') + "...' (1048576 bytes)");
}

TEST(Quoted, ACutNeverSplitsACharacter) {
  std::string text(kMaxQuoted - 1, 'a');
  text += "\xe2\x82\xac\xe2\x82\xac";  // two euro signs straddling the cut
  const std::string q = Quoted(text);
  EXPECT_TRUE(IsValidUtf8(q));
  EXPECT_NE(q.find("...' (" + std::to_string(text.size()) + " bytes)"), std::string::npos);
}

}  // namespace
}  // namespace vigil
