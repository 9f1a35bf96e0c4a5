#include "agent/event/deadline_queue.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace vigil {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr MonoTime T0 = MonoTime(100s);

class DeadlineQueueTest : public ::testing::Test {
 protected:
  TimerId Add(MonoTime deadline, std::string label) {
    return queue_.Add(deadline, [this, label] { ran_.push_back(label); });
  }
  void RunDue(MonoTime now) {
    for (auto& callback : queue_.PopDue(now))
      callback();
  }

  DeadlineQueue queue_;
  std::vector<std::string> ran_;
};

TEST_F(DeadlineQueueTest, EmptyQueueHasNoEarliestAndNothingDue) {
  EXPECT_EQ(queue_.size(), 0u);
  EXPECT_FALSE(queue_.Earliest().has_value());
  EXPECT_THAT(queue_.PopDue(T0 + 1000h), IsEmpty());
}

TEST_F(DeadlineQueueTest, IdsAreUniqueAndNeverNoTimer) {
  TimerId a = Add(T0, "a");
  TimerId b = Add(T0, "b");
  EXPECT_NE(a, kNoTimer);
  EXPECT_NE(b, kNoTimer);
  EXPECT_NE(a, b);
}

TEST_F(DeadlineQueueTest, PopsInDeadlineOrderRegardlessOfInsertionOrder) {
  Add(T0 + 3s, "c");
  Add(T0 + 1s, "a");
  Add(T0 + 2s, "b");
  RunDue(T0 + 10s);
  EXPECT_THAT(ran_, ElementsAre("a", "b", "c"));
  EXPECT_EQ(queue_.size(), 0u);
}

TEST_F(DeadlineQueueTest, TiesRunInInsertionOrder) {
  Add(T0, "first");
  Add(T0, "second");
  Add(T0 - 1s, "earlier");
  Add(T0, "third");
  RunDue(T0);
  EXPECT_THAT(ran_, ElementsAre("earlier", "first", "second", "third"));
}

TEST_F(DeadlineQueueTest, EarliestTracksTheSoonestPendingDeadline) {
  Add(T0 + 5s, "x");
  EXPECT_EQ(queue_.Earliest(), T0 + 5s);
  TimerId y = Add(T0 + 1s, "y");
  EXPECT_EQ(queue_.Earliest(), T0 + 1s);
  queue_.Cancel(y);
  EXPECT_EQ(queue_.Earliest(), T0 + 5s);
  RunDue(T0 + 5s);
  EXPECT_FALSE(queue_.Earliest().has_value());
}

TEST_F(DeadlineQueueTest, PopDueIncludesDeadlineEqualToNowAndNothingLater) {
  Add(T0 - 1ns, "before");
  Add(T0, "at");
  Add(T0 + 1ns, "after");
  RunDue(T0);
  EXPECT_THAT(ran_, ElementsAre("before", "at"));
  EXPECT_EQ(queue_.size(), 1u);
  EXPECT_EQ(queue_.Earliest(), T0 + 1ns);
}

TEST_F(DeadlineQueueTest, PopDueBeforeEverythingPopsNothing) {
  Add(T0, "a");
  EXPECT_THAT(queue_.PopDue(T0 - 1ns), IsEmpty());
  EXPECT_EQ(queue_.size(), 1u);
}

TEST_F(DeadlineQueueTest, PoppedTimersAreGoneForGood) {
  TimerId a = Add(T0, "a");
  RunDue(T0);
  RunDue(T0 + 1h);
  EXPECT_THAT(ran_, ElementsAre("a"));
  EXPECT_FALSE(queue_.Cancel(a));  // Cancel after firing: a no-op.
}

TEST_F(DeadlineQueueTest, CancelBeforeFiringRemovesIt) {
  TimerId a = Add(T0, "a");
  Add(T0, "b");
  EXPECT_TRUE(queue_.Cancel(a));
  EXPECT_EQ(queue_.size(), 1u);
  RunDue(T0);
  EXPECT_THAT(ran_, ElementsAre("b"));
}

TEST_F(DeadlineQueueTest, CancelTwiceOrUnknownIsANoOp) {
  TimerId a = Add(T0, "a");
  EXPECT_TRUE(queue_.Cancel(a));
  EXPECT_FALSE(queue_.Cancel(a));
  EXPECT_FALSE(queue_.Cancel(kNoTimer));
  EXPECT_FALSE(queue_.Cancel(12345));
  EXPECT_EQ(queue_.size(), 0u);
}

TEST_F(DeadlineQueueTest, CancellingOneOfTiedTimersKeepsTheOthers) {
  Add(T0, "a");
  TimerId b = Add(T0, "b");
  Add(T0, "c");
  queue_.Cancel(b);
  RunDue(T0);
  EXPECT_THAT(ran_, ElementsAre("a", "c"));
}

TEST_F(DeadlineQueueTest, TimersAddedAfterAPopAreKept) {
  Add(T0, "a");
  RunDue(T0);
  Add(T0, "b");  // Already due: runs at the next pop.
  EXPECT_EQ(queue_.Earliest(), T0);
  RunDue(T0);
  EXPECT_THAT(ran_, ElementsAre("a", "b"));
}

}  // namespace
}  // namespace vigil
