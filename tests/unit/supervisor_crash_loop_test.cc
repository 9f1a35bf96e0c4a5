// CrashLoopWindow: OTP's restart intensity, a sliding window of failure restarts per slot.
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
  CrashLoopWindow w(defaults);
  // docs/pools.md: with 1 s doubling backoff, failures at 0, 1, 3, 7, 15, 31 s: the sixth is
  // the verdict, after about 31 s.
  for (Duration t : {0s, 1s, 3s, 7s, 15s})
    EXPECT_FALSE(w.RecordFailure(kT0 + t));
  EXPECT_TRUE(w.RecordFailure(kT0 + 31s));
}

}  // namespace
}  // namespace vigil
