// Timer: the handle cancels what it armed when destroyed, re-armed or cancelled.
#include "agent/event/timer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <utility>
#include <vector>

#include "tests/fakes/fake_clock.h"
#include "tests/fakes/fake_scheduler.h"

namespace vigil::testing {
namespace {

using namespace std::chrono_literals;

class TimerTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  FakeScheduler scheduler_{clock_};
  int fired_ = 0;
};

TEST_F(TimerTest, FiresOnceAtItsDeadline) {
  Timer timer(scheduler_);
  timer.ArmAt(clock_.Now() + 5s, [&] { ++fired_; });
  EXPECT_TRUE(timer.armed());
  scheduler_.AdvanceBy(5s - 1ns);
  EXPECT_EQ(fired_, 0);
  scheduler_.AdvanceBy(1ns);
  EXPECT_EQ(fired_, 1);
  EXPECT_FALSE(timer.armed());
  scheduler_.AdvanceBy(1h);
  EXPECT_EQ(fired_, 1);
}

// ArmNow: after the current event (posted work), not through the timer queue.
TEST_F(TimerTest, ArmNowRunsOnceAfterTheCurrentEventWithoutATimer) {
  Timer timer(scheduler_);
  timer.ArmNow([&] { ++fired_; });
  EXPECT_TRUE(timer.armed());
  EXPECT_EQ(scheduler_.scheduled(), 0u);  // No deadline queued.
  EXPECT_EQ(fired_, 0);
  scheduler_.RunPosted();
  EXPECT_EQ(fired_, 1);
  EXPECT_FALSE(timer.armed());
  scheduler_.AdvanceBy(1h);
  EXPECT_EQ(fired_, 1);
}

TEST_F(TimerTest, ArmNowIsCancelledLikeADeadline) {
  {
    Timer destroyed(scheduler_);
    destroyed.ArmNow([&] { ++fired_; });
  }
  Timer cancelled(scheduler_);
  cancelled.ArmNow([&] { ++fired_; });
  cancelled.Cancel();
  Timer rearmed(scheduler_);
  rearmed.ArmNow([&] { fired_ += 10; });
  rearmed.ArmAt(clock_.Now() + 1s, [&] { fired_ += 100; });  // Replaces the posted run.
  Timer replaced(scheduler_);
  replaced.ArmAt(clock_.Now() + 1s, [&] { fired_ += 1000; });
  replaced.ArmNow([&] { fired_ += 10000; });  // Replaces the deadline.
  scheduler_.RunPosted();
  EXPECT_EQ(fired_, 10000);
  scheduler_.AdvanceBy(1h);
  EXPECT_EQ(fired_, 10100);
}

TEST_F(TimerTest, DestroyingTheHandleCancelsTheTimer) {
  {
    Timer timer(scheduler_);
    timer.ArmAt(clock_.Now() + 1s, [&] { ++fired_; });
  }
  scheduler_.AdvanceBy(1h);
  EXPECT_EQ(fired_, 0);
}

TEST_F(TimerTest, ReArmingReplacesThePreviousDeadline) {
  Timer timer(scheduler_);
  std::vector<int> ran;
  timer.ArmAt(clock_.Now() + 1s, [&] { ran.push_back(1); });
  timer.ArmAt(clock_.Now() + 2s, [&] { ran.push_back(2); });
  scheduler_.AdvanceBy(1h);
  EXPECT_EQ(ran, std::vector<int>{2});
}

TEST_F(TimerTest, CancelIsIdempotentAndADefaultTimerIsInert) {
  Timer timer(scheduler_);
  timer.Cancel();
  timer.ArmAt(clock_.Now() + 1s, [&] { ++fired_; });
  timer.Cancel();
  timer.Cancel();
  scheduler_.AdvanceBy(1h);
  EXPECT_EQ(fired_, 0);
  Timer inert;
  inert.ArmAt(clock_.Now(), [&] { ++fired_; });
  EXPECT_FALSE(inert.armed());
  scheduler_.AdvanceBy(1h);
  EXPECT_EQ(fired_, 0);
}

TEST_F(TimerTest, AMovedTimerStillFiresAndTheMovedFromOneIsInert) {
  std::vector<Timer> timers;
  timers.emplace_back(scheduler_);
  timers[0].ArmAt(clock_.Now() + 1s, [&] { ++fired_; });
  for (int i = 0; i < 16; ++i)
    timers.emplace_back(scheduler_);  // Reallocates: moves timer 0.
  scheduler_.AdvanceBy(1s);
  EXPECT_EQ(fired_, 1);

  Timer a(scheduler_);
  a.ArmAt(clock_.Now() + 1s, [&] { ++fired_; });
  Timer b = std::move(a);
  EXPECT_TRUE(b.armed());
  a.Cancel();  // The moved-from handle owns nothing: this must not cancel b's timer.
  scheduler_.AdvanceBy(1s);
  EXPECT_EQ(fired_, 2);
}

TEST_F(TimerTest, MoveAssignmentCancelsWhatTheTargetHadArmed) {
  Timer a(scheduler_);
  Timer b(scheduler_);
  std::vector<char> ran;
  a.ArmAt(clock_.Now() + 1s, [&] { ran.push_back('a'); });
  b.ArmAt(clock_.Now() + 1s, [&] { ran.push_back('b'); });
  b = std::move(a);
  scheduler_.AdvanceBy(1h);
  EXPECT_EQ(ran, std::vector<char>{'a'});
}

TEST_F(TimerTest, ACallbackCanReArmItsOwnTimer) {
  Timer timer(scheduler_);
  std::function<void()> tick = [&] {
    if (++fired_ < 3) timer.ArmAt(clock_.Now() + 1s, tick);
  };
  timer.ArmAt(clock_.Now() + 1s, tick);
  scheduler_.AdvanceBy(10s);
  EXPECT_EQ(fired_, 3);
  EXPECT_FALSE(timer.armed());
}

TEST_F(TimerTest, ACallbackCanDestroyItsOwnTimer) {
  auto timer = std::make_unique<Timer>(scheduler_);
  timer->ArmAt(clock_.Now() + 1s, [&] {
    ++fired_;
    timer.reset();
  });
  scheduler_.AdvanceBy(1s);
  EXPECT_EQ(fired_, 1);
  EXPECT_EQ(timer, nullptr);
}

// A watchdog pushed back at every ping: no scheduler work per push; the callback runs once, at
// the last deadline, never at the ones it was pushed past.
TEST_F(TimerTest, APostponedTimerRunsOnceAtItsLastDeadlineWithoutSchedulingPerPush) {
  Timer timer(scheduler_);
  const MonoTime start = clock_.Now();
  timer.ArmAt(start + 10s, [&] { ++fired_; });
  const size_t scheduled = scheduler_.scheduled();
  for (int ping = 1; ping <= 25; ++ping)
    EXPECT_TRUE(timer.Postpone(start + 10s + ping * 1s));
  EXPECT_EQ(scheduler_.scheduled(), scheduled);
  scheduler_.AdvanceBy(10s);  // the deadline first scheduled: it schedules the last one
  EXPECT_EQ(fired_, 0);
  EXPECT_TRUE(timer.armed());
  EXPECT_EQ(scheduler_.scheduled(), scheduled + 1);
  scheduler_.AdvanceBy(25s - 1ns);
  EXPECT_EQ(fired_, 0);
  scheduler_.AdvanceBy(1ns);
  EXPECT_EQ(fired_, 1);
  EXPECT_FALSE(timer.armed());
}

TEST_F(TimerTest, PostponeRefusesAnEarlierDeadlineAndTimersNotArmedWithArmAt) {
  Timer timer(scheduler_);
  EXPECT_FALSE(timer.Postpone(clock_.Now() + 1s));  // not armed
  timer.ArmAt(clock_.Now() + 10s, [&] { ++fired_; });
  EXPECT_FALSE(timer.Postpone(clock_.Now() + 5s));
  EXPECT_TRUE(timer.Postpone(clock_.Now() + 10s));  // the same deadline: nothing to do
  scheduler_.AdvanceBy(10s);
  EXPECT_EQ(fired_, 1);
  EXPECT_FALSE(timer.Postpone(clock_.Now() + 1s));  // fired
  timer.ArmNow([&] { ++fired_; });
  EXPECT_FALSE(timer.Postpone(clock_.Now() + 1s));
  timer.ArmNextTurn([&] { ++fired_; });
  EXPECT_FALSE(timer.Postpone(clock_.Now() + 1s));
  timer.ArmAt(clock_.Now() + 1s, [&] { ++fired_; });
  timer.Cancel();
  EXPECT_FALSE(timer.Postpone(clock_.Now() + 2s));
}

TEST_F(TimerTest, APostponedTimerIsCancelledAndReArmedLikeAnyOther) {
  Timer timer(scheduler_);
  timer.ArmAt(clock_.Now() + 1s, [&] { fired_ += 100; });
  ASSERT_TRUE(timer.Postpone(clock_.Now() + 3s));
  scheduler_.AdvanceBy(2s);  // past the first deadline: waiting for the new one
  timer.Cancel();
  scheduler_.AdvanceBy(10s);
  EXPECT_EQ(fired_, 0);

  timer.ArmAt(clock_.Now() + 1s, [&] { fired_ += 100; });
  ASSERT_TRUE(timer.Postpone(clock_.Now() + 3s));
  scheduler_.AdvanceBy(2s);
  timer.ArmAt(clock_.Now() + 5s, [&] { ++fired_; });  // a new callback replaces the old one
  scheduler_.AdvanceBy(10s);
  EXPECT_EQ(fired_, 1);
}

// The callback of a postponed timer can arm the timer again, and postpone that.
TEST_F(TimerTest, APostponedTimersCallbackCanArmItAgain) {
  Timer timer(scheduler_);
  std::function<void()> tick = [&] {
    if (++fired_ < 3) {
      timer.ArmAt(clock_.Now() + 1s, tick);
      EXPECT_TRUE(timer.Postpone(clock_.Now() + 2s));
    }
  };
  timer.ArmAt(clock_.Now() + 1s, tick);
  ASSERT_TRUE(timer.Postpone(clock_.Now() + 2s));
  scheduler_.AdvanceBy(1s);
  EXPECT_EQ(fired_, 0);
  scheduler_.AdvanceBy(1s);
  EXPECT_EQ(fired_, 1);
  scheduler_.AdvanceBy(4s);
  EXPECT_EQ(fired_, 3);
  EXPECT_FALSE(timer.armed());
}

}  // namespace
}  // namespace vigil::testing
