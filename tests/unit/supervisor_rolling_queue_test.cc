// RollingQueue: one queue for rolling restarts and recycling, a batch at a time, the next batch
// only once the last one is back.
#include "agent/supervisor/rolling_queue.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace vigil {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class RollingQueueTest : public ::testing::Test {
 protected:
  // Slots drawn by the next batch, given which slots are settled and which can be replaced.
  std::vector<int> Next() {
    std::vector<int> out;
    for (const RollingQueue::Entry& e :
         queue_.NextBatch([&](int slot) { return settled_.count(slot) > 0; },
                          [&](int slot) { return stopped_.count(slot) == 0; })) {
      out.push_back(e.slot);
      causes_.push_back(e.cause);
      settled_.erase(e.slot);  // Being replaced: not back until the test says so.
    }
    return out;
  }

  RollingQueue queue_;
  std::set<int> settled_{0, 1, 2, 3, 4, 5};
  std::set<int> stopped_;  // not running: nothing to replace
  std::vector<StopCause> causes_;
};

TEST_F(RollingQueueTest, ARestartGoesMaxUnavailableAtATimeEachBatchOnceTheLastIsBack) {
  queue_.Restart({0, 1, 2, 3, 4}, 2);
  EXPECT_THAT(Next(), ElementsAre(0, 1));
  EXPECT_THAT(Next(), IsEmpty());  // 0 and 1 are not back.
  settled_.insert(0);
  EXPECT_THAT(Next(), IsEmpty());  // 1 is not back.
  settled_.insert(1);
  EXPECT_THAT(Next(), ElementsAre(2, 3));
  settled_.insert({2, 3});
  EXPECT_THAT(Next(), ElementsAre(4));
  settled_.insert(4);
  EXPECT_THAT(Next(), IsEmpty());
  EXPECT_EQ(queue_.queued(), 0u);
  EXPECT_TRUE(queue_.batch().empty());
}

TEST_F(RollingQueueTest, RecyclingIsARollingRestartOfOneSlotAtATime) {
  queue_.Recycle(3);
  queue_.Recycle(1);
  EXPECT_THAT(Next(), ElementsAre(3));
  EXPECT_EQ(causes_.back(), StopCause::kRecycle);
  EXPECT_THAT(Next(), IsEmpty());
  settled_.insert(3);
  EXPECT_THAT(Next(), ElementsAre(1));
}

TEST_F(RollingQueueTest, ASlotQueuedOrBeingReplacedIsNotQueuedTwice) {
  queue_.Recycle(1);
  queue_.Recycle(1);
  EXPECT_THAT(Next(), ElementsAre(1));
  queue_.Recycle(1);  // Being recycled now.
  EXPECT_EQ(queue_.queued(), 0u);
}

// A recycle falling due during a rolling restart waits for the restart's batches: replacing
// workers never takes down more than the restart allows.
TEST_F(RollingQueueTest, ARecycleDuringARestartWaitsItsTurnAndABatchHoldsOneCause) {
  queue_.Restart({0, 1}, 1);
  EXPECT_THAT(Next(), ElementsAre(0));
  queue_.Recycle(4);
  settled_.insert(0);
  EXPECT_THAT(Next(), ElementsAre(1));
  settled_.insert(1);
  EXPECT_THAT(Next(), ElementsAre(4));
  EXPECT_THAT(causes_, ElementsAre(StopCause::kRestart, StopCause::kRestart, StopCause::kRecycle));
}

TEST_F(RollingQueueTest, ARestartReplacesTheQueuedRestartAndTakesOverQueuedRecycles) {
  queue_.Recycle(2);
  queue_.Restart({0, 1, 2}, 3);
  EXPECT_EQ(queue_.queued(), 3u);  // 2 once, for the restart.
  queue_.Restart({1}, 1);          // The second request replaces the first's queue.
  EXPECT_THAT(Next(), ElementsAre(1));
  settled_.insert(1);
  EXPECT_THAT(Next(), IsEmpty());
}

TEST_F(RollingQueueTest, SlotsThatAreNotRunningAreSkippedAndGoneSlotsCountAsBack) {
  stopped_.insert(1);
  queue_.Restart({0, 1, 2}, 2);
  EXPECT_THAT(Next(), ElementsAre(0, 2));  // 1 has nothing to replace.
  settled_.insert({0, 2});
  EXPECT_THAT(Next(), IsEmpty());
  EXPECT_EQ(queue_.queued(), 0u);
}

TEST_F(RollingQueueTest, ClearForgetsTheQueueAndTheBatch) {
  queue_.Restart({0, 1, 2}, 1);
  EXPECT_THAT(Next(), ElementsAre(0));
  queue_.Clear();
  EXPECT_EQ(queue_.queued(), 0u);
  EXPECT_TRUE(queue_.batch().empty());
  EXPECT_THAT(Next(), IsEmpty());  // Nothing waits on slot 0 any more, nothing is left.
}

TEST_F(RollingQueueTest, AZeroOrNegativeMaxUnavailableMeansOne) {
  queue_.Restart({0, 1}, 0);
  EXPECT_THAT(Next(), ElementsAre(0));
}

}  // namespace
}  // namespace vigil
