// PostedWork: the handle's posted work runs after the current event, in order, and never once the
// handle is gone.
#include "agent/event/posted_work.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/fakes/fake_clock.h"
#include "tests/fakes/fake_scheduler.h"

namespace vigil::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class PostedWorkTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  FakeScheduler scheduler_{clock_};
  std::vector<std::string> ran_;
};

TEST_F(PostedWorkTest, RunsInPostingOrderOnlyOnceTheEventIsOver) {
  PostedWork work(scheduler_);
  work.Post([&] { ran_.push_back("a"); });
  work.Post([&] { ran_.push_back("b"); });
  EXPECT_THAT(ran_, IsEmpty());
  EXPECT_EQ(work.pending(), 2u);
  scheduler_.RunPosted();
  EXPECT_THAT(ran_, ElementsAre("a", "b"));
  EXPECT_EQ(work.pending(), 0u);
  scheduler_.RunPosted();
  EXPECT_THAT(ran_, ElementsAre("a", "b"));  // Once each.
}

TEST_F(PostedWorkTest, DestroyingTheHandleCancelsWhatHasNotRun) {
  auto work = std::make_unique<PostedWork>(scheduler_);
  work->Post([&] { ran_.push_back("lost with its owner"); });
  work.reset();
  EXPECT_EQ(scheduler_.posted(), 0u);
  scheduler_.RunPosted();
  EXPECT_THAT(ran_, IsEmpty());
}

TEST_F(PostedWorkTest, ACallbackMayDestroyItsHandleAndTheRestIsCancelled) {
  auto work = std::make_unique<PostedWork>(scheduler_);
  work->Post([&] {
    ran_.push_back("first");
    work.reset();
  });
  work->Post([&] { ran_.push_back("second"); });
  scheduler_.RunPosted();
  EXPECT_THAT(ran_, ElementsAre("first"));
}

TEST_F(PostedWorkTest, ACallbackMayPostMoreWhichRunsInTheSamePass) {
  PostedWork work(scheduler_);
  work.Post([&] {
    ran_.push_back("first");
    work.Post([&] { ran_.push_back("then"); });
  });
  scheduler_.RunPosted();
  EXPECT_THAT(ran_, ElementsAre("first", "then"));
  EXPECT_EQ(work.pending(), 0u);
}

TEST_F(PostedWorkTest, CancelAllKeepsTheHandleUsable) {
  PostedWork work(scheduler_);
  work.Post([&] { ran_.push_back("cancelled"); });
  work.CancelAll();
  work.Post([&] { ran_.push_back("kept"); });
  scheduler_.RunPosted();
  EXPECT_THAT(ran_, ElementsAre("kept"));
}

}  // namespace
}  // namespace vigil::testing
