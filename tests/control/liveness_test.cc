// Liveness: "the core answers" (agent/control/liveness.h), on a fake clock; the watch thread on
// the real one.
#include "agent/control/liveness.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "tests/fakes/fake_clock.h"

namespace vigil::control {
namespace {

using namespace std::chrono_literals;
using vigil::testing::FakeClock;

class LivenessTest : public ::testing::Test {
 protected:
  LivenessTest() {
    liveness_.set_ping([this] { ++pings_; });
  }
  FakeClock clock_;
  Liveness liveness_{clock_};  // Defaults: 3 misses of 2 s.
  int pings_ = 0;
};

TEST_F(LivenessTest, AFreshAnswerIsUsedWithoutAPing) {
  EXPECT_TRUE(liveness_.Check());
  clock_.Advance(1900ms);
  EXPECT_TRUE(liveness_.Check());
  EXPECT_EQ(pings_, 0);
}

TEST_F(LivenessTest, ACheckAfterTheAnswerWentStalePingsOnce) {
  clock_.Advance(2s);
  EXPECT_TRUE(liveness_.Check());
  EXPECT_TRUE(liveness_.Check());
  EXPECT_EQ(pings_, 1);  // One outstanding at a time.
  liveness_.OnAnswer();
  clock_.Advance(1s);
  EXPECT_TRUE(liveness_.Check());
  EXPECT_EQ(pings_, 1);  // The answer is fresh.
}

TEST_F(LivenessTest, NotServingAfterThreeMissedAnswersNotBefore) {
  clock_.Advance(10s);  // Idle for a while: no ping was needed.
  EXPECT_EQ(pings_, 0);
  EXPECT_TRUE(liveness_.Check());  // Sends the ping.
  clock_.Advance(2s);
  EXPECT_TRUE(liveness_.Check());  // 1 miss
  clock_.Advance(2s);
  EXPECT_TRUE(liveness_.Check());  // 2 misses
  clock_.Advance(1999ms);
  EXPECT_TRUE(liveness_.Check());
  clock_.Advance(1ms);
  EXPECT_FALSE(liveness_.Check());  // 3 misses
  clock_.Advance(1h);
  EXPECT_FALSE(liveness_.Check());
  EXPECT_EQ(pings_, 1);  // Never more than one waiting in the core's socket.
  liveness_.OnAnswer();  // It came back.
  EXPECT_TRUE(liveness_.Check());
}

TEST_F(LivenessTest, AnyFrameFromTheCoreIsAnAnswer) {
  clock_.Advance(3s);
  EXPECT_TRUE(liveness_.Check());
  clock_.Advance(5s);
  liveness_.OnAnswer();  // An event of a drain in progress, say.
  clock_.Advance(1s);
  EXPECT_TRUE(liveness_.Check());
}

TEST_F(LivenessTest, NoPingAfterStop) {
  liveness_.Stop();
  clock_.Advance(3s);
  liveness_.Check();
  EXPECT_EQ(pings_, 0);
}

// A liveness Watch: with no check arriving, the watch thread notices the missed answers.
TEST(LivenessWatch, ReportsChangesWithoutChecks) {
  const MonotonicClock clock;
  Liveness liveness(clock, LivenessOptions{20ms, 3});
  std::atomic<int> pings{0};
  liveness.set_ping([&] { ++pings; });
  std::mutex mu;
  std::condition_variable cv;
  std::vector<bool> seen;
  const int id = liveness.Subscribe(
      [&](bool alive) {
        std::lock_guard<std::mutex> lock(mu);
        seen.push_back(alive);
        cv.notify_all();
      },
      true);
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return !seen.empty(); }));
    EXPECT_EQ(seen, std::vector<bool>{false});
  }
  EXPECT_GE(pings.load(), 1);
  liveness.OnAnswer();
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return seen.size() >= 2; }));
    EXPECT_EQ(seen[1], true);
  }
  liveness.Unsubscribe(id);
}

}  // namespace
}  // namespace vigil::control
