// config/values.h: the value parsers every option shares (flags, VIGIL_* variables, YAML).
#include "agent/config/values.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace vigil {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

std::string ErrorOf(const Status& s) {
  return s.ok() ? "ok" : s.message();
}

TEST(ValuesTest, BoolAcceptsTheFourSpellingsOfEachAnswer) {
  for (const char* yes : {"true", "yes", "on", "1"}) {
    auto b = ParseBoolValue(yes);
    ASSERT_TRUE(b.ok()) << yes;
    EXPECT_TRUE(*b) << yes;
  }
  for (const char* no : {"false", "no", "off", "0"}) {
    auto b = ParseBoolValue(no);
    ASSERT_TRUE(b.ok()) << no;
    EXPECT_FALSE(*b) << no;
  }
}

TEST(ValuesTest, BoolRefusesEmptyOtherCasesAndGarbageQuotingWhatWasGiven) {
  EXPECT_EQ(ErrorOf(ParseBoolValue("").status()),
            "expected true or false (yes/no, on/off, 1/0), got ''");
  for (const char* bad : {"TRUE", "Yes", " 1", "1 ", "2", "maybe", "y"}) {
    auto b = ParseBoolValue(bad);
    EXPECT_FALSE(b.ok()) << bad;
    EXPECT_THAT(ErrorOf(b.status()), HasSubstr("'" + std::string(bad) + "'")) << bad;
  }
  // Bytes that are not text are escaped, never copied into the message.
  EXPECT_THAT(ErrorOf(ParseBoolValue(std::string("a\x01z")).status()), HasSubstr("\\x01"));
}

TEST(ValuesTest, IntIsDecimalWithinItsBoundsBothIncluded) {
  EXPECT_EQ(*ParseIntValue("0", 0, 10), 0);
  EXPECT_EQ(*ParseIntValue("10", 0, 10), 10);
  EXPECT_EQ(*ParseIntValue("-3", -5, 5), -3);
  EXPECT_EQ(ErrorOf(ParseIntValue("11", 0, 10).status()), "must be between 0 and 10, got 11");
  EXPECT_EQ(ErrorOf(ParseIntValue("-1", 0, 10).status()), "must be between 0 and 10, got -1");
  // Past int: out of range, not "not a number".
  EXPECT_EQ(ErrorOf(ParseIntValue("99999999999", 0, 10).status()),
            "must be between 0 and 10, got 99999999999");
}

TEST(ValuesTest, IntRefusesEmptySignsSpacesAndTrailingText) {
  for (const char* bad : {"", "+1", " 1", "1 ", "1.0", "0x10", "1e3", "ten", "--1"}) {
    auto v = ParseIntValue(bad, -100, 100);
    EXPECT_FALSE(v.ok()) << bad;
    EXPECT_EQ(ErrorOf(v.status()), "expected a whole number, got '" + std::string(bad) + "'")
        << bad;
  }
}

TEST(ValuesTest, PortIsMinPortTo65535AndSaysWhenZeroTurnsItOff) {
  EXPECT_EQ(*ParsePortValue("0", 0), 0);
  EXPECT_EQ(*ParsePortValue("65535", 1), 65535);
  EXPECT_EQ(ErrorOf(ParsePortValue("0", 1).status()), "expected a port number 1..65535, got '0'");
  EXPECT_EQ(ErrorOf(ParsePortValue("65536", 0).status()),
            "expected a port number 0..65535 (0: off), got '65536'");
  for (const char* bad : {"", "-1", "http", "80 ", "99999999999"})
    EXPECT_FALSE(ParsePortValue(bad, 0).ok()) << bad;
}

TEST(ValuesTest, DurationUsesTheCommonSyntaxWithinItsBounds) {
  EXPECT_EQ(*ParseDurationValue("1s", 1s, 24h), 1s);
  EXPECT_EQ(*ParseDurationValue("24h", 1s, 24h), 24h);
  EXPECT_EQ(*ParseDurationValue("1m30s", 1s, 24h), 90s);
  EXPECT_EQ(ErrorOf(ParseDurationValue("500ms", 1s, 24h).status()),
            "must be between 1s and 24h, got '500ms'");
  EXPECT_EQ(ErrorOf(ParseDurationValue("25h", 1s, 24h).status()),
            "must be between 1s and 24h, got '25h'");
  EXPECT_EQ(ErrorOf(ParseDurationValue("2s", 1500ms, 90s).status()), "ok");
  EXPECT_EQ(ErrorOf(ParseDurationValue("1s", 1500ms, 90s).status()),
            "must be between 1500ms and 90s, got '1s'");
  EXPECT_THAT(ErrorOf(ParseDurationValue("", 0s, 1h).status()), HasSubstr("empty"));
  EXPECT_THAT(ErrorOf(ParseDurationValue("soon", 0s, 1h).status()), HasSubstr("'soon'"));
}

}  // namespace
}  // namespace vigil
