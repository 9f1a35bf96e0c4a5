#include "agent/base/duration.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace vigil {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

Duration Parsed(const std::string& text) {
  auto d = ParseDuration(text);
  EXPECT_TRUE(d.ok()) << text << ": " << d.status().message();
  return d.ok() ? *d : Duration(-1);
}

std::string ErrorOf(const std::string& text) {
  auto d = ParseDuration(text);
  EXPECT_FALSE(d.ok()) << "'" << text << "' parsed as " << (d.ok() ? d->count() : 0) << "ns";
  return d.ok() ? "" : d.status().message();
}

TEST(ParseDuration, EachUnit) {
  EXPECT_EQ(Parsed("7ns"), 7ns);
  EXPECT_EQ(Parsed("7us"), 7us);
  EXPECT_EQ(Parsed("7ms"), 7ms);
  EXPECT_EQ(Parsed("7s"), 7s);
  EXPECT_EQ(Parsed("7m"), 7min);
  EXPECT_EQ(Parsed("7h"), 7h);
}

TEST(ParseDuration, ZeroIsAllowed) {
  EXPECT_EQ(Parsed("0"), 0s);
  EXPECT_EQ(Parsed("0s"), 0s);
  EXPECT_EQ(Parsed("0ms"), 0s);
}

TEST(ParseDuration, CombinationsAddUp) {
  EXPECT_EQ(Parsed("1m30s"), 90s);
  EXPECT_EQ(Parsed("1h2m3s4ms5us6ns"), 1h + 2min + 3s + 4ms + 5us + 6ns);
  EXPECT_EQ(Parsed("500ms500ms"), 1s);  // Repeated units are simply summed.
}

TEST(ParseDuration, BareNumberMeansSeconds) {
  EXPECT_EQ(Parsed("30"), 30s);
  EXPECT_EQ(Parsed("1.5"), 1500ms);
}

TEST(ParseDuration, FractionalValues) {
  EXPECT_EQ(Parsed("2.5s"), 2500ms);
  EXPECT_EQ(Parsed("0.1s"), 100ms);
  EXPECT_EQ(Parsed(".5s"), 500ms);
  EXPECT_EQ(Parsed("1.5m"), 90s);
  EXPECT_EQ(Parsed("0.5ms"), 500us);
  EXPECT_EQ(Parsed("1.5ns"), 2ns);  // Rounded to the nearest nanosecond.
}

TEST(ParseDuration, EmptyIsRejectedAsEmpty) {
  std::string msg = ErrorOf("");
  EXPECT_THAT(msg, HasSubstr("invalid duration ''"));
  EXPECT_THAT(msg, HasSubstr("empty"));
}

TEST(ParseDuration, NegativeIsRejectedNamingTheText) {
  std::string msg = ErrorOf("-5s");
  EXPECT_THAT(msg, HasSubstr("'-5s'"));
  EXPECT_THAT(msg, HasSubstr("negative"));
}

TEST(ParseDuration, UnknownUnitIsRejectedNamingTheText) {
  for (const char* text : {"5x", "5sec", "5S", "5d", "1e3s"}) {
    std::string msg = ErrorOf(text);
    EXPECT_THAT(msg, HasSubstr(std::string("'") + text + "'")) << text;
    EXPECT_THAT(msg, HasSubstr("unknown unit")) << text;
  }
}

TEST(ParseDuration, TrailingGarbageIsRejected) {
  for (const char* text : {"5s ", "5sx", "5s!", "1m30s-"}) {
    std::string msg = ErrorOf(text);
    EXPECT_THAT(msg, HasSubstr(std::string("'") + text + "'")) << text;
  }
}

TEST(ParseDuration, NumberAfterUnitWithoutUnitIsRejected) {
  // "1m30" must not silently mean 1m30s (or 1m30ns).
  EXPECT_THAT(ErrorOf("1m30"), HasSubstr("missing unit"));
}

TEST(ParseDuration, UnitWithoutNumberIsRejected) {
  EXPECT_THAT(ErrorOf("s"), HasSubstr("expected a number"));
  EXPECT_THAT(ErrorOf(" 5s"), HasSubstr("expected a number"));
  EXPECT_THAT(ErrorOf("abc"), HasSubstr("'abc'"));
}

TEST(ParseDuration, MalformedNumberIsRejected) {
  EXPECT_THAT(ErrorOf("1..2s"), HasSubstr("bad number"));
  EXPECT_THAT(ErrorOf("1.2.3"), HasSubstr("'1.2.3'"));
}

TEST(ParseDuration, HugeValuesAreRejectedNotWrapped) {
  EXPECT_THAT(ErrorOf("9999999999h"), HasSubstr("too large"));
  EXPECT_THAT(ErrorOf("300y"), HasSubstr("'300y'"));
}

// Regression (issue 10, defect 9): values up to 292 years were accepted, and two of them added
// up wrapped into the past.
TEST(ParseDuration, NothingOverTenYearsIsAccepted) {
  EXPECT_THAT(ErrorOf("1500000h"), HasSubstr("too large: at most 87600h (10 years)"));
  EXPECT_THAT(ErrorOf("87601h"), HasSubstr("too large"));
  auto max = ParseDuration("87600h");
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(*max, kMaxDuration);
  // Any few of them add up without overflow.
  EXPECT_GT(kMaxDuration * 20, kMaxDuration);
}

TEST(SaturatingArithmetic, AddsAndSubtractsExactlyInRange) {
  EXPECT_EQ(SaturatingAdd(Duration(5s), Duration(2s)), 7s);
  EXPECT_EQ(SaturatingSub(Duration(5s), Duration(7s)), -2s);
  const MonoTime t(100s);
  EXPECT_EQ(SaturatingAdd(t, 5s), MonoTime(105s));
}

TEST(SaturatingArithmetic, PinsAtTheEndsInsteadOfWrapping) {
  EXPECT_EQ(SaturatingAdd(Duration::max(), Duration(1ns)), Duration::max());
  EXPECT_EQ(SaturatingAdd(Duration(1h), Duration::max()), Duration::max());
  EXPECT_EQ(SaturatingAdd(Duration::min(), Duration(-1ns)), Duration::min());
  EXPECT_EQ(SaturatingSub(Duration::min(), Duration(1ns)), Duration::min());
  EXPECT_EQ(SaturatingSub(Duration(0s), Duration::min()), Duration::max());
  // A deadline "now + absurd" is never, not the past.
  const MonoTime now(std::chrono::hours(24 * 365));
  EXPECT_EQ(SaturatingAdd(now, Duration::max()), MonoTime::max());
  EXPECT_GT(SaturatingAdd(now, Duration::max() - 1h), now);
}

TEST(SaturatingArithmetic, CoarseUnitsConvertWithoutOverflow) {
  // Regression (issue 10, defect 9): a Drain deadline of INT64_MAX ms wrapped to "now" in the
  // conversion to nanoseconds and fast-stopped every worker.
  EXPECT_EQ(SaturatingCast(std::chrono::milliseconds(std::numeric_limits<int64_t>::max())),
            Duration::max());
  EXPECT_EQ(SaturatingCast(std::chrono::milliseconds(std::numeric_limits<int64_t>::min())),
            Duration::min());
  EXPECT_EQ(SaturatingCast(std::chrono::microseconds(1500)), Duration(1500us));
  EXPECT_EQ(SaturatingCast(std::chrono::milliseconds(30000)), Duration(30s));
}

TEST(ParseDuration, ErrorsGiveExamples) {
  EXPECT_THAT(ErrorOf("x"), HasSubstr("examples: 30s"));
}

TEST(FormatDuration, WholeSeconds) {
  EXPECT_EQ(FormatDuration(0s), "0s");
  EXPECT_EQ(FormatDuration(5s), "5s");
  EXPECT_EQ(FormatDuration(90s), "90s");
  EXPECT_EQ(FormatDuration(1h), "3600s");
}

TEST(FormatDuration, FractionalSeconds) {
  EXPECT_EQ(FormatDuration(1500ms), "1.5s");
  EXPECT_EQ(FormatDuration(2250ms), "2.25s");
}

TEST(FormatDuration, SubSecondUnits) {
  EXPECT_EQ(FormatDuration(250ms), "250ms");
  EXPECT_EQ(FormatDuration(1us), "1us");
  EXPECT_EQ(FormatDuration(1500ns), "1500ns");
  EXPECT_EQ(FormatDuration(7ns), "7ns");
  EXPECT_EQ(FormatDuration(1ms + 1ns), "1000001ns");
}

TEST(FormatDuration, ExactRenderingsParseBack) {
  for (Duration d : {Duration(0s), Duration(5s), Duration(1500ms), Duration(250ms), Duration(1us),
                     Duration(1500ns), Duration(90s)}) {
    auto back = ParseDuration(FormatDuration(d));
    ASSERT_TRUE(back.ok()) << FormatDuration(d);
    EXPECT_EQ(*back, d) << FormatDuration(d);
  }
}

// Regression test for a fixed bug: FormatDuration uses printf "%.3g" for fractional seconds >= 1s,
// so 1000.5s renders as "1e+03s" (exponent notation, which ParseDuration rejects) and 100.5s as
// "100s" (reads as an exact value, off by 0.5s). `--kill-grace 1000.5s` logs "up to 1e+03s after
// SIGTERM".
TEST(FormatDuration, LargeFractionalSecondsStayReadableAndParseable) {
  EXPECT_EQ(FormatDuration(1000500ms), "1000.5s");
  auto back = ParseDuration(FormatDuration(1000500ms));
  ASSERT_TRUE(back.ok()) << FormatDuration(1000500ms);
  EXPECT_EQ(*back, 1000500ms);
  EXPECT_NE(FormatDuration(100500ms), "100s");
}

// Regression test for a fixed bug found by tests/fuzz/duration_fuzz.cc: ParseDuration read
// numbers as doubles, exact only to 2^53 ns (about 104 days), so FormatDuration's exact
// "3472326098.227849265s" read back 463 ns off; and "1.5ns"-style rounding of big values could
// land past the range check.
TEST(ParseDuration, ReadsEveryNanosecondExactly) {
  EXPECT_EQ(Parsed("315359999.227849265s"), Duration(315359999227849265));  // just under 10 y
  EXPECT_EQ(Parsed("9007199.254740993s"), Duration(9007199254740993));
}

TEST(ParseDuration, TheLargestDurationIsExactAndOneMoreIsTooLarge) {
  EXPECT_EQ(Parsed(FormatDuration(kMaxDuration)), kMaxDuration);
  EXPECT_THAT(ErrorOf(FormatDuration(kMaxDuration + 1ns)), HasSubstr("too large"));
  EXPECT_THAT(ErrorOf("2562047h47m16.854775807s"), HasSubstr("too large"));  // INT64_MAX ns
  EXPECT_THAT(ErrorOf("18446744073709551616s"), HasSubstr("too large"));
  EXPECT_THAT(ErrorOf("99999999999999999999999999999999999999999ns"), HasSubstr("too large"));
  EXPECT_THAT(ErrorOf("2562047h2562047h"), HasSubstr("too large"));  // the sum, not each part
}

TEST(FormatDuration, EveryDurationInRangeParsesBack) {
  for (int64_t ns : {int64_t{1}, int64_t{999999999}, int64_t{1000000001}, int64_t{9007199254740993},
                     int64_t{123456789012345678}, kMaxDuration.count() - 1, kMaxDuration.count()}) {
    auto back = ParseDuration(FormatDuration(Duration(ns)));
    ASSERT_TRUE(back.ok()) << FormatDuration(Duration(ns));
    EXPECT_EQ(back->count(), ns) << FormatDuration(Duration(ns));
  }
}

}  // namespace
}  // namespace vigil
