// OomWatch against FakeOs::oom_kill_count: a SIGKILLed worker is OOM-killed when the counter
// rose since the baseline, one kill consumed per worker; no counter, never.
#include "agent/supervisor/oom_watch.h"

#include <gtest/gtest.h>

#include "tests/fakes/fake_os.h"

namespace vigil {
namespace {

using ::vigil::testing::FakeOs;

TEST(OomWatchTest, WithoutACounterNothingIsEverOomKilled) {
  FakeOs os;
  OomWatch watch(os);
  watch.Prime();
  EXPECT_FALSE(watch.ConsumeKill());
  EXPECT_FALSE(watch.ConsumeKill());
}

TEST(OomWatchTest, AnUnchangedCounterIsNoKill) {
  FakeOs os;
  os.oom_kill_count = 4;
  OomWatch watch(os);
  watch.Prime();
  EXPECT_FALSE(watch.ConsumeKill());
}

TEST(OomWatchTest, ARiseOfTwoAccountsForExactlyTwoKills) {
  FakeOs os;
  os.oom_kill_count = 0;
  OomWatch watch(os);
  watch.Prime();
  os.oom_kill_count = 2;
  EXPECT_TRUE(watch.ConsumeKill());
  EXPECT_TRUE(watch.ConsumeKill());
  EXPECT_FALSE(watch.ConsumeKill());
  EXPECT_FALSE(watch.ConsumeKill());
}

TEST(OomWatchTest, PrimeTakesTheCurrentCountAsTheBaseline) {
  FakeOs os;
  os.oom_kill_count = 10;  // Kills from before Vigil started.
  OomWatch watch(os);
  watch.Prime();
  EXPECT_FALSE(watch.ConsumeKill());
  os.oom_kill_count = 11;
  EXPECT_TRUE(watch.ConsumeKill());
  EXPECT_FALSE(watch.ConsumeKill());
}

TEST(OomWatchTest, WithoutPrimeTheBaselineIsZero) {
  FakeOs os;
  os.oom_kill_count = 1;
  OomWatch watch(os);
  EXPECT_TRUE(watch.ConsumeKill());
  EXPECT_FALSE(watch.ConsumeKill());
}

TEST(OomWatchTest, LaterRisesAreCountedFromWhatWasConsumed) {
  FakeOs os;
  os.oom_kill_count = 3;
  OomWatch watch(os);
  watch.Prime();
  os.oom_kill_count = 4;
  EXPECT_TRUE(watch.ConsumeKill());
  os.oom_kill_count = 6;
  EXPECT_TRUE(watch.ConsumeKill());
  EXPECT_TRUE(watch.ConsumeKill());
  EXPECT_FALSE(watch.ConsumeKill());
}

TEST(OomWatchTest, AnUnconsumedKillMarksTheNextSigkilledWorker) {
  FakeOs os;
  os.oom_kill_count = 0;
  OomWatch watch(os);
  watch.Prime();
  os.oom_kill_count = 1;             // A worker's own child was OOM-killed; no worker died then.
  EXPECT_TRUE(watch.ConsumeKill());  // The next SIGKILLed worker takes it.
}

TEST(OomWatchTest, ACounterThatDisappearsIsNoKillAndComesBackWhereItWas) {
  FakeOs os;
  os.oom_kill_count = 2;
  OomWatch watch(os);
  watch.Prime();
  os.oom_kill_count = std::nullopt;
  EXPECT_FALSE(watch.ConsumeKill());
  os.oom_kill_count = 3;
  EXPECT_TRUE(watch.ConsumeKill());
  EXPECT_FALSE(watch.ConsumeKill());
}

TEST(OomWatchTest, ACounterThatWentDownIsNoKill) {
  FakeOs os;
  os.oom_kill_count = 5;
  OomWatch watch(os);
  watch.Prime();
  os.oom_kill_count = 1;  // Another cgroup's counter (a move): never a kill.
  EXPECT_FALSE(watch.ConsumeKill());
}

}  // namespace
}  // namespace vigil
