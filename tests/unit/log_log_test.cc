#include "agent/log/log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace vigil::log {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

TEST(ParseLevel, EveryLevelAndAlias) {
  EXPECT_EQ(*ParseLevel("trace"), Level::kTrace);
  EXPECT_EQ(*ParseLevel("debug"), Level::kDebug);
  EXPECT_EQ(*ParseLevel("info"), Level::kInfo);
  EXPECT_EQ(*ParseLevel("warn"), Level::kWarn);
  EXPECT_EQ(*ParseLevel("warning"), Level::kWarn);
  EXPECT_EQ(*ParseLevel("error"), Level::kError);
  EXPECT_EQ(*ParseLevel("off"), Level::kOff);
  EXPECT_EQ(*ParseLevel("none"), Level::kOff);
}

TEST(ParseLevel, UnknownLevelsNameTheInputAndTheChoices) {
  for (const char* text : {"", "loud", "verbose", "critical", "info ", "err"}) {
    auto l = ParseLevel(text);
    ASSERT_FALSE(l.ok()) << text;
    EXPECT_THAT(l.status().message(), HasSubstr(std::string("'") + text + "'"));
    EXPECT_THAT(l.status().message(), HasSubstr("trace, debug, info, warn, error or off"));
  }
}

TEST(ParseLevel, LevelsAreOrderedFromMostToLeastVerbose) {
  EXPECT_LT(Level::kTrace, Level::kDebug);
  EXPECT_LT(Level::kDebug, Level::kInfo);
  EXPECT_LT(Level::kInfo, Level::kWarn);
  EXPECT_LT(Level::kWarn, Level::kError);
  EXPECT_LT(Level::kError, Level::kOff);
}

TEST(ParseFormat, TextAndJson) {
  EXPECT_EQ(*ParseFormat("text"), Format::kText);
  EXPECT_EQ(*ParseFormat("json"), Format::kJson);
}

TEST(ParseFormat, UnknownFormatsNameTheInput) {
  for (const char* text : {"", "yaml", "JSON", "logfmt"}) {
    auto f = ParseFormat(text);
    ASSERT_FALSE(f.ok()) << text;
    EXPECT_THAT(f.status().message(), HasSubstr(std::string("'") + text + "'"));
  }
}

TEST(JsonEscape, PlainTextIsUnchanged) {
  EXPECT_EQ(JsonEscape(""), "");
  EXPECT_EQ(JsonEscape("started 'sleep' as pid 7"), "started 'sleep' as pid 7");
  EXPECT_EQ(JsonEscape("/bin/sh -c {x}"), "/bin/sh -c {x}");
}

TEST(JsonEscape, QuotesAndBackslashes) {
  EXPECT_EQ(JsonEscape(R"(say "hi")"), R"(say \"hi\")");
  EXPECT_EQ(JsonEscape(R"(C:\path\)"), R"(C:\\path\\)");
  EXPECT_EQ(JsonEscape(R"(\")"), R"(\\\")");
}

TEST(JsonEscape, NewlinesTabsAndCarriageReturns) {
  EXPECT_EQ(JsonEscape("a\nb"), "a\\nb");
  EXPECT_EQ(JsonEscape("a\r\nb"), "a\\r\\nb");
  EXPECT_EQ(JsonEscape("a\tb"), "a\\tb");
}

TEST(JsonEscape, OtherControlCharactersAsUnicodeEscapes) {
  EXPECT_EQ(JsonEscape(std::string_view("\0", 1)), "\\u0000");
  EXPECT_EQ(JsonEscape("\x01"), "\\u0001");
  EXPECT_EQ(JsonEscape("\x08\x0c"), "\\u0008\\u000c");
  EXPECT_EQ(JsonEscape("\x1b[31m"), "\\u001b[31m");
  EXPECT_EQ(JsonEscape("\x1f"), "\\u001f");
}

TEST(JsonEscape, EveryControlCharacterIsEscaped) {
  for (int c = 0; c < 0x20; ++c) {
    const std::string in(1, static_cast<char>(c));
    const std::string out = JsonEscape(in);
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(out[0], '\\') << c;
    for (char o : out)
      EXPECT_GE(static_cast<unsigned char>(o), 0x20) << c;
  }
}

TEST(JsonEscape, DelAndUtf8PassThrough) {
  EXPECT_EQ(JsonEscape("\x7f"), "\x7f");
  EXPECT_EQ(JsonEscape("caf\xc3\xa9 \xe2\x9c\x93"), "caf\xc3\xa9 \xe2\x9c\x93");
}

// Setup() installs a stderr logger; capture fd 2 to check the line formats end to end.
class LogSetupTest : public ::testing::Test {
 protected:
  void SetUp() override { saved_ = spdlog::default_logger(); }
  void TearDown() override {
    ::vigil::log::Setup(Level::kWarn, Format::kText);  // Back to text for the tests that follow.
    spdlog::set_default_logger(saved_);
  }

  std::string Capture(Level level, Format format, void (*log_something)()) {
    ::testing::internal::CaptureStderr();
    ::vigil::log::Setup(level, format);
    log_something();
    return ::testing::internal::GetCapturedStderr();
  }

  // The JSON members after the fixed "time" member, for exact comparison.
  static std::string AfterTime(const std::string& line) {
    const std::string prefix = R"({"time":")";
    EXPECT_EQ(line.rfind(prefix, 0), 0u) << line;
    const size_t end = line.find("\",", prefix.size());
    EXPECT_NE(end, std::string::npos) << line;
    return end == std::string::npos ? line : line.substr(end + 2);
  }

  std::shared_ptr<spdlog::logger> saved_;
};

TEST_F(LogSetupTest, TextLinesArePrefixedWithVigilAndTheLevel) {
  std::string out = Capture(Level::kWarn, Format::kText, [] { Warn("cannot run '{}'", "x"); });
  EXPECT_EQ(out, "vigil: warning: cannot run 'x'\n");
}

TEST_F(LogSetupTest, LevelFiltersLowerLevels) {
  std::string out = Capture(Level::kWarn, Format::kText, [] {
    Info("hidden");
    Debug("hidden");
    Trace("hidden");
    Error("shown");
  });
  EXPECT_EQ(out, "vigil: error: shown\n");
  out = Capture(Level::kOff, Format::kText, [] { Error("hidden"); });
  EXPECT_EQ(out, "");
}

TEST_F(LogSetupTest, EnabledFollowsTheLevel) {
  Capture(Level::kInfo, Format::kText, [] {});
  EXPECT_FALSE(Enabled(Level::kDebug));
  EXPECT_TRUE(Enabled(Level::kInfo));
  EXPECT_TRUE(Enabled(Level::kError));
}

TEST_F(LogSetupTest, JsonLinesHaveTimeLevelLoggerAndEscapedMessage) {
  std::string out =
      Capture(Level::kTrace, Format::kJson, [] { Error("bad \"name\"\nnext\\line"); });
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back(), '\n');
  out.pop_back();
  EXPECT_THAT(out,
              MatchesRegex(R"(\{"time":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z",.*)"));
  EXPECT_EQ(AfterTime(out),
            R"("level":"error","logger":"vigil","msg":"bad \"name\"\nnext\\line"})");
}

TEST_F(LogSetupTest, TextEventsAppendFieldsLogfmtStyle) {
  std::string out = Capture(Level::kInfo, Format::kText, [] {
    Event(Level::kInfo, "worker_exited", "worker exited",
          {{"pool", "web"},
           {"slot", 0},
           {"reason", "exited code"},
           {"cmd", "say \"hi\""},
           {"empty", ""}});
  });
  EXPECT_EQ(out,
            "vigil: info: worker exited pool=web slot=0 reason=\"exited code\" "
            "cmd=\"say \\\"hi\\\"\" empty=\"\"\n");
}

TEST_F(LogSetupTest, JsonEventsCarryTheEventNameAndUnquotedNumbers) {
  std::string out = Capture(Level::kInfo, Format::kJson, [] {
    Event(Level::kWarn, "worker_exited", "worker \"exited\"",
          {{"pool", "web"}, {"slot", 3}, {"code", -1}, {"note", std::string("a\nb")}});
  });
  ASSERT_FALSE(out.empty());
  out.pop_back();
  EXPECT_EQ(AfterTime(out),
            R"("level":"warning","logger":"vigil","event":"worker_exited",)"
            R"("msg":"worker \"exited\"","pool":"web","slot":3,"code":-1,"note":"a\nb"})");
}

TEST_F(LogSetupTest, EventsBelowTheLevelAreNotWritten) {
  std::string out = Capture(Level::kWarn, Format::kJson, [] {
    Event(Level::kInfo, "x", "hidden", {{"k", 1}});
  });
  EXPECT_EQ(out, "");
}

}  // namespace
}  // namespace vigil::log
