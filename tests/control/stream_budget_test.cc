// StreamBudget: the total is never exceeded by queued messages; when it would be, the stream
// furthest behind is cut off, not the one that happens to receive the next message.
#include "agent/control/stream_budget.h"

#include <gtest/gtest.h>

namespace vigil::control {
namespace {

class FakeStream final : public BudgetedStream {
 public:
  FakeStream(StreamBudget& budget, size_t queued) : budget_(budget) {
    queued_bytes_ = queued;
    budget_.Take(queued);
    budget_.Register(this);
  }
  ~FakeStream() override { budget_.Unregister(this); }
  bool TryCutOff() override {
    if (!cuttable) return false;
    budget_.Give(queued_bytes_);
    queued_bytes_ = 0;
    cut = true;
    return true;
  }
  bool cuttable = true;
  bool cut = false;

 private:
  StreamBudget& budget_;
};

TEST(StreamBudgetTest, WithinTheTotalEverythingIsTaken) {
  StreamBudget budget(100, 1000);
  FakeStream a(budget, 0);
  EXPECT_TRUE(budget.TakeQueued(&a, 1000));
  EXPECT_EQ(budget.used(), 1000u);
  budget.Give(1000);
  EXPECT_EQ(budget.used(), 0u);
}

TEST(StreamBudgetTest, OverTheTotalTheStreamFurthestBehindIsCut) {
  StreamBudget budget(1000, 1000);
  FakeStream reader(budget, 10);
  FakeStream stalled(budget, 900);
  FakeStream other(budget, 50);
  EXPECT_TRUE(budget.TakeQueued(&reader, 100));  // 1060 > 1000: the stalled one goes.
  EXPECT_TRUE(stalled.cut);
  EXPECT_FALSE(other.cut);
  EXPECT_FALSE(reader.cut);
  EXPECT_EQ(budget.used(), 160u);
}

TEST(StreamBudgetTest, TheStreamFurthestBehindIsToldToGoItself) {
  StreamBudget budget(1000, 1000);
  FakeStream stalled(budget, 900);
  FakeStream reader(budget, 10);
  EXPECT_FALSE(budget.TakeQueued(&stalled, 100));
  EXPECT_FALSE(reader.cut);
  EXPECT_EQ(budget.used(), 910u);
}

TEST(StreamBudgetTest, AStreamThatCannotBeCutNowLeavesItToTheCaller) {
  StreamBudget budget(1000, 1000);
  FakeStream reader(budget, 10);
  FakeStream busy(budget, 900);
  busy.cuttable = false;
  EXPECT_FALSE(budget.TakeQueued(&reader, 100));
  EXPECT_EQ(budget.used(), 910u);
}

}  // namespace
}  // namespace vigil::control
