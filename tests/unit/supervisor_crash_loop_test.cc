// The crash-loop rules of one slot: CrashLoopWindow (OTP's restart intensity, a sliding window of
// failure restarts) and CrashLoopDetector (that window, and unstable runs in a row).
#include "agent/supervisor/crash_loop.h"

#include <gtest/gtest.h>

#include <chrono>

namespace vigil {
namespace {

using namespace std::chrono_literals;

constexpr MonoTime kT0 = MonoTime(std::chrono::seconds(1000));

CrashLoopConfig Config(int max_restarts, Duration period) {
  CrashLoopConfig c;
  c.max_restarts = max_restarts;
  c.period = period;
  return c;
}

TEST(CrashLoopWindowTest, UpToMaxRestartsInsideThePeriodIsNoCrashLoop) {
  CrashLoopWindow w(Config(3, 60s));
  EXPECT_FALSE(w.RecordFailure(kT0));
  EXPECT_FALSE(w.RecordFailure(kT0 + 1s));
  EXPECT_FALSE(w.RecordFailure(kT0 + 2s));
  EXPECT_EQ(w.failures_in_window(), 3);
}

TEST(CrashLoopWindowTest, OneMoreThanMaxRestartsInsideThePeriodIsACrashLoop) {
  CrashLoopWindow w(Config(3, 60s));
  w.RecordFailure(kT0);
  w.RecordFailure(kT0 + 1s);
  w.RecordFailure(kT0 + 2s);
  EXPECT_TRUE(w.RecordFailure(kT0 + 59s));
  EXPECT_EQ(w.failures_in_window(), 4);
}

TEST(CrashLoopWindowTest, FailuresAllAtTheSameInstantCount) {
  CrashLoopWindow w(Config(2, 60s));
  EXPECT_FALSE(w.RecordFailure(kT0));
  EXPECT_FALSE(w.RecordFailure(kT0));
  EXPECT_TRUE(w.RecordFailure(kT0));
}

TEST(CrashLoopWindowTest, TheWindowSlides) {
  CrashLoopWindow w(Config(2, 30s));
  EXPECT_FALSE(w.RecordFailure(kT0));
  EXPECT_FALSE(w.RecordFailure(kT0 + 10s));
  EXPECT_FALSE(w.RecordFailure(kT0 + 31s));  // The first one left the window.
  EXPECT_EQ(w.failures_in_window(), 2);
  EXPECT_TRUE(w.RecordFailure(kT0 + 35s));  // 10, 31, 35: three within 30 s.
}

TEST(CrashLoopWindowTest, AFailureExactlyOnePeriodOldHasLeftTheWindow) {
  CrashLoopWindow w(Config(1, 30s));
  EXPECT_FALSE(w.RecordFailure(kT0));
  EXPECT_FALSE(w.RecordFailure(kT0 + 30s));
  EXPECT_EQ(w.failures_in_window(), 1);
  EXPECT_TRUE(w.RecordFailure(kT0 + 30s + 29999ms));
}

TEST(CrashLoopWindowTest, FailuresSpacedWiderThanThePeriodNeverCrashLoop) {
  CrashLoopWindow w(Config(1, 10s));
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(w.RecordFailure(kT0 + Duration(i * 11s))) << i;
    EXPECT_EQ(w.failures_in_window(), 1);
  }
}

TEST(CrashLoopWindowTest, ZeroMaxRestartsMakesTheFirstFailureACrashLoop) {
  CrashLoopWindow w(Config(0, 60s));
  EXPECT_TRUE(w.RecordFailure(kT0));
}

TEST(CrashLoopWindowTest, TheDefaultsAreFiveRestartsInSixtySeconds) {
  const CrashLoopConfig defaults;
  EXPECT_EQ(defaults.max_restarts, 5);
  EXPECT_EQ(defaults.period, 60s);
  EXPECT_EQ(defaults.stability_period, 10s);
  CrashLoopWindow w(defaults);
  // docs/pools.md: with 1 s doubling backoff, failures at 0, 1, 3, 7, 15, 31 s: the sixth is
  // the verdict, after about 31 s.
  for (Duration t : {0s, 1s, 3s, 7s, 15s})
    EXPECT_FALSE(w.RecordFailure(kT0 + t));
  EXPECT_TRUE(w.RecordFailure(kT0 + 31s));
}

TEST(CrashLoopDetectorTest, MoreThanMaxRestartsUnstableRunsInARowIsTheVerdict) {
  CrashLoopDetector d(Config(2, 1ms));
  EXPECT_EQ(d.RecordRun(false, true, kT0), std::nullopt);
  EXPECT_EQ(d.RecordRun(false, false, kT0 + 1h), std::nullopt);  // Success runs count too.
  EXPECT_EQ(d.unstable_runs(), 2);
  const auto verdict = d.RecordRun(false, true, kT0 + 2h);  // However far apart.
  ASSERT_TRUE(verdict.has_value());
  EXPECT_EQ(verdict->rule, CrashLoopRule::kUnstableRuns);
  EXPECT_EQ(verdict->count, 3);
}

TEST(CrashLoopDetectorTest, AStableRunStartsTheCountAgain) {
  CrashLoopDetector d(Config(2, 1ms));
  d.RecordRun(false, true, kT0);
  d.RecordRun(false, true, kT0 + 1s);
  EXPECT_EQ(d.RecordRun(true, true, kT0 + 20s), std::nullopt);  // Stable, if a failure.
  EXPECT_EQ(d.unstable_runs(), 0);
  EXPECT_EQ(d.RecordRun(false, true, kT0 + 30s), std::nullopt);
  EXPECT_EQ(d.RecordRun(false, true, kT0 + 40s), std::nullopt);
  EXPECT_TRUE(d.RecordRun(false, true, kT0 + 50s).has_value());
}

TEST(CrashLoopDetectorTest, TheWindowJudgesFailuresOfStableRunsToo) {
  CrashLoopDetector d(Config(2, 60s));
  EXPECT_EQ(d.RecordRun(true, true, kT0), std::nullopt);
  EXPECT_EQ(d.RecordRun(true, false, kT0 + 1s), std::nullopt);  // A success: not in the window.
  EXPECT_EQ(d.RecordRun(true, true, kT0 + 20s), std::nullopt);
  const auto verdict = d.RecordRun(true, true, kT0 + 40s);
  ASSERT_TRUE(verdict.has_value());
  EXPECT_EQ(verdict->rule, CrashLoopRule::kWindow);
  EXPECT_EQ(verdict->count, 3);
  EXPECT_EQ(d.failures_in_window(), 3);
}

TEST(CrashLoopDetectorTest, WhenBothRulesTripTheUnstableRunsRuleIsNamed) {
  CrashLoopDetector d(Config(1, 60s));
  d.RecordRun(false, true, kT0);
  const auto verdict = d.RecordRun(false, true, kT0 + 1s);
  ASSERT_TRUE(verdict.has_value());
  EXPECT_EQ(verdict->rule, CrashLoopRule::kUnstableRuns);
  EXPECT_EQ(verdict->count, 2);
}

TEST(CrashLoopDetectorTest, ResetForgetsEveryRun) {
  CrashLoopDetector d(Config(1, 60s));
  d.RecordRun(false, true, kT0);
  d.Reset();
  EXPECT_EQ(d.unstable_runs(), 0);
  EXPECT_EQ(d.failures_in_window(), 0);
  EXPECT_EQ(d.RecordRun(false, true, kT0 + 1s), std::nullopt);
}

TEST(CrashLoopDetectorTest, RuleNames) {
  EXPECT_STREQ(CrashLoopRuleName(CrashLoopRule::kUnstableRuns), "unstable_runs");
  EXPECT_STREQ(CrashLoopRuleName(CrashLoopRule::kWindow), "window");
}

}  // namespace
}  // namespace vigil
