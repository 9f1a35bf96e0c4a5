// The fakes are test infrastructure other tests rely on: check the behaviour they promise.
#include "tests/fakes/fake_scheduler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/fakes/fake_clock.h"

namespace vigil::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(FakeClock, StartsAtAFixedInstantAndMovesOnlyWhenTold) {
  FakeClock clock;
  EXPECT_EQ(clock.Now(), FakeClock::kStart);
  clock.Advance(5s);
  EXPECT_EQ(clock.Now(), FakeClock::kStart + 5s);
  clock.Set(FakeClock::kStart + 1h);
  EXPECT_EQ(clock.Now(), FakeClock::kStart + 1h);
}

class FakeSchedulerTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  FakeScheduler scheduler_{clock_};
  std::vector<std::string> ran_;
};

TEST_F(FakeSchedulerTest, NothingRunsUntilTheClockReachesTheDeadline) {
  scheduler_.RunAt(clock_.Now() + 10s, [&] { ran_.push_back("a"); });
  scheduler_.AdvanceBy(10s - 1ns);
  EXPECT_THAT(ran_, IsEmpty());
  scheduler_.AdvanceBy(1ns);
  EXPECT_THAT(ran_, ElementsAre("a"));
}

TEST_F(FakeSchedulerTest, ClockReadsEachDeadlineWhileItsCallbackRuns) {
  const MonoTime start = clock_.Now();
  std::vector<MonoTime> seen;
  scheduler_.RunAt(start + 2s, [&] { seen.push_back(clock_.Now()); });
  scheduler_.RunAt(start + 1s, [&] { seen.push_back(clock_.Now()); });
  scheduler_.AdvanceBy(1h);
  EXPECT_THAT(seen, ElementsAre(start + 1s, start + 2s));
  EXPECT_EQ(clock_.Now(), start + 1h);
}

TEST_F(FakeSchedulerTest, CallbacksMayScheduleMoreTimersThatFallDueInTheSameAdvance) {
  const MonoTime start = clock_.Now();
  scheduler_.RunAt(start + 1s, [&] {
    ran_.push_back("first");
    scheduler_.RunAt(clock_.Now() + 1s, [&] { ran_.push_back("second"); });
    scheduler_.RunAt(clock_.Now() + 1h, [&] { ran_.push_back("late"); });
  });
  scheduler_.AdvanceBy(5s);
  EXPECT_THAT(ran_, ElementsAre("first", "second"));
  EXPECT_EQ(scheduler_.pending(), 1u);
}

TEST_F(FakeSchedulerTest, CallbackMayCancelATimerDueAtTheSameInstant) {
  const MonoTime t = clock_.Now() + 1s;
  TimerId second = kNoTimer;
  scheduler_.RunAt(t, [&] {
    ran_.push_back("first");
    scheduler_.Cancel(second);
  });
  second = scheduler_.RunAt(t, [&] { ran_.push_back("second"); });
  scheduler_.AdvanceBy(1s);
  EXPECT_THAT(ran_, ElementsAre("first"));
  EXPECT_EQ(scheduler_.pending(), 0u);
}

TEST_F(FakeSchedulerTest, CancelIsANoOpForFiredAndUnknownTimers) {
  TimerId a = scheduler_.RunAt(clock_.Now(), [&] { ran_.push_back("a"); });
  scheduler_.RunDue();
  scheduler_.Cancel(a);
  scheduler_.Cancel(kNoTimer);
  scheduler_.Cancel(999);
  EXPECT_THAT(ran_, ElementsAre("a"));
  EXPECT_EQ(scheduler_.fired(), 1u);
}

TEST_F(FakeSchedulerTest, PastDeadlinesRunWithoutMovingTheClockBackwards) {
  const MonoTime start = clock_.Now();
  scheduler_.RunAt(start - 1s, [&] { ran_.push_back("past"); });
  scheduler_.RunDue();
  EXPECT_THAT(ran_, ElementsAre("past"));
  EXPECT_EQ(clock_.Now(), start);
}

}  // namespace
TEST_F(FakeSchedulerTest, PostedWorkRunsWhenTheTestEndsTheEventInPostingOrder) {
  scheduler_.Post([&] {
    ran_.push_back("a");
    scheduler_.Post([&] { ran_.push_back("c"); });
  });
  scheduler_.Post([&] { ran_.push_back("b"); });
  EXPECT_THAT(ran_, IsEmpty());
  EXPECT_EQ(scheduler_.posted(), 2u);
  scheduler_.RunPosted();
  EXPECT_THAT(ran_, ElementsAre("a", "b", "c"));
  EXPECT_EQ(scheduler_.posted(), 0u);
}

TEST_F(FakeSchedulerTest, WorkPostedByATimerRunsBeforeTheNextTimerAndCancelledWorkNever) {
  const MonoTime start = clock_.Now();
  scheduler_.RunAt(start + 1s, [&] {
    ran_.push_back("timer 1");
    scheduler_.Post([&] { ran_.push_back("posted"); });
    scheduler_.Cancel(scheduler_.Post([&] { ran_.push_back("cancelled"); }));
  });
  scheduler_.RunAt(start + 1s, [&] { ran_.push_back("timer 2"); });
  scheduler_.AdvanceBy(1s);
  EXPECT_THAT(ran_, ElementsAre("timer 1", "posted", "timer 2"));
}

}  // namespace vigil::testing
