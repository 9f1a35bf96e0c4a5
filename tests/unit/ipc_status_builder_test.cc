// StatusBuilder (agent/ipc/status_builder.h): the snapshot and drain progress the core sends
// vigil-control, built from a Supervisor whose pools run against the fakes. States, counts,
// pids, last exits, STATUS= text, times as wall-clock milliseconds, and the straggler names'
// cap.
#include "agent/ipc/status_builder.h"

#include <time.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "tests/fakes/supervisor_harness.h"

namespace vigil {
namespace {

using namespace std::chrono_literals;
using ::vigil::testing::ExitedWith;
using ::vigil::testing::KilledBy;
using ::vigil::testing::MakePool;
using ::vigil::testing::SupervisorHarness;

// vigil.v1 values, as the public API numbers them (lifecycle.proto).
enum V1State { kBackoff = 1, kStarting = 2, kReady = 3, kStopping = 4, kExited = 5 };
enum V1Phase { kPhaseStarting = 1, kPhaseReady = 2, kPhaseStopping = 3, kPhaseDone = 5 };

class StatusBuilderTest : public SupervisorHarness {
 protected:
  StatusBuilder builder() { return StatusBuilder(sup(), clock_); }
};

// One pool with a worker in each state: ready (with a STATUS=), starting, backoff after a
// failure, exited for good after a success once ready (restart: on-failure), stopping after a
// scale-down.
TEST_F(StatusBuilderTest, APoolWithAWorkerInEachState) {
  config_.pools = {MakePool("a"), MakePool("b")};
  config_.pools[0].replicas = 5;  // pids 100-104; b's worker is 105
  config_.pools[0].readiness.mode = ReadinessMode::kNotify;
  config_.pools[0].restart = RestartPolicy::kOnFailure;
  config_.pools[0].success_exit_codes.set(0);  // The loader's default; MakePool has none.
  config_.pools[0].backoff.initial = 10s;
  Start();
  Send("a", 0, "READY=1\nSTATUS=serving", 100);
  ASSERT_EQ(sup().Scale("a", 4).code, 0);  // First: a scale starts exited workers again.
  Reap(102, ExitedWith(1));
  Send("a", 3, "READY=1", 103);
  Reap(103, ExitedWith(0));
  scheduler_.AdvanceBy(3s);  // Every worker entered its state 3 s ago.

  const int64_t before = clock_.WallUnixMs();
  const internal::v1::Snapshot s = builder().Snapshot();
  const int64_t after = clock_.WallUnixMs();

  EXPECT_EQ(static_cast<int>(s.phase()), kPhaseReady);
  EXPECT_TRUE(s.ready());
  EXPECT_FALSE(s.has_drain());
  EXPECT_TRUE(s.first());
  EXPECT_TRUE(s.last());
  ASSERT_EQ(s.pools_size(), 2);
  const auto& a = s.pools(0);
  EXPECT_EQ(a.name(), "a");
  EXPECT_EQ(a.desired(), 4);
  EXPECT_EQ(a.ready(), 1);  // The exited one no longer counts.
  EXPECT_EQ(a.starting(), 1);
  EXPECT_EQ(a.backoff(), 1);
  EXPECT_FALSE(a.failed());
  EXPECT_TRUE(a.pool_ready());
  EXPECT_EQ(a.slots(), 5);  // The stopping worker keeps its slot until it is gone.
  ASSERT_EQ(a.workers_size(), 5);

  const int expected_state[] = {kReady, kStarting, kBackoff, kExited, kStopping};
  const int expected_pid[] = {100, 101, 0, 0, 104};
  for (int i = 0; i < 5; ++i) {
    const auto& w = a.workers(i);
    EXPECT_EQ(w.slot(), i);
    EXPECT_EQ(static_cast<int>(w.state()), expected_state[i]) << "slot " << i;
    EXPECT_EQ(w.pid(), expected_pid[i]) << "slot " << i;
  }
  EXPECT_EQ(a.workers(0).status_text(), "serving");
  EXPECT_EQ(a.workers(0).restarts(), 0);
  EXPECT_FALSE(a.workers(0).has_last_exit());
  EXPECT_FALSE(a.workers(1).has_last_exit());

  const auto& failed = a.workers(2).last_exit();
  EXPECT_EQ(failed.reason(), "boot_failure");  // Exit 1 before READY=1.
  EXPECT_EQ(failed.code(), 1);
  EXPECT_EQ(failed.signal(), 0);
  EXPECT_FALSE(failed.graceful());
  EXPECT_TRUE(failed.before_ready());
  const auto& done = a.workers(3).last_exit();
  EXPECT_EQ(done.reason(), "exited");
  EXPECT_EQ(done.code(), 0);
  EXPECT_TRUE(done.graceful());
  EXPECT_FALSE(done.before_ready());

  // Entered its state 3 s ago (fake clock) = 3 s before the (fake) wall clock of the build.
  EXPECT_EQ(before, after);  // The wall clock is the Clock's: the build read no other.
  for (int i : {1, 2, 3}) {
    EXPECT_EQ(a.workers(i).since_unix_ms(), before - 3000) << "slot " << i;
  }
  EXPECT_EQ(a.workers(4).since_unix_ms(), before - 3000);

  const auto& b = s.pools(1);
  EXPECT_EQ(b.name(), "b");
  EXPECT_EQ(b.ready(), 1);
  ASSERT_EQ(b.workers_size(), 1);
  EXPECT_EQ(b.workers(0).pid(), 105);
}

TEST_F(StatusBuilderTest, PhasesFromStartingToDone) {
  config_.pools = {MakePool("a")};
  config_.pools[0].readiness.mode = ReadinessMode::kNotify;
  Start();
  EXPECT_EQ(builder().Phase(), kPhaseStarting);
  Send("a", 0, "READY=1", 100);
  EXPECT_EQ(builder().Phase(), kPhaseReady);
  Signal(SIGTERM);
  EXPECT_EQ(builder().Phase(), kPhaseStopping);
  EXPECT_TRUE(builder().Snapshot().has_drain());
  Reap(100, KilledBy(SIGTERM));
  EXPECT_EQ(builder().Phase(), kPhaseDone);
}

// A drain names at most kMaxStragglerNames stragglers and counts them all: 150 workers that
// ignore SIGTERM and are SIGKILLed at their stop timeout.
TEST_F(StatusBuilderTest, DrainNamesAtMostTheCapOfStragglersAndCountsThemAll) {
  config_.pools = {MakePool("a")};
  config_.pools[0].replicas = 150;  // pids 100-249
  config_.pools[0].stop_timeout = 1s;
  Start();
  Signal(SIGTERM);
  internal::v1::DrainInfo d;
  builder().FillDrain(&d);
  EXPECT_EQ(d.trigger(), internal::v1::DRAIN_TRIGGER_SIGNAL);
  EXPECT_EQ(d.workers_remaining(), 150);
  EXPECT_FALSE(d.complete());
  EXPECT_FALSE(d.graceful());  // Not complete yet.
  // Default grace period 30 s less the 3 s safety margin.
  EXPECT_NEAR(d.deadline_unix_ms() - d.started_unix_ms(), 27000, 2);

  scheduler_.AdvanceBy(1s);
  for (pid_t pid = 100; pid < 250; ++pid)
    Reap(pid, KilledBy(SIGKILL));
  d.Clear();
  builder().FillDrain(&d);
  EXPECT_TRUE(d.complete());
  EXPECT_FALSE(d.graceful());
  EXPECT_EQ(d.workers_remaining(), 0);
  EXPECT_EQ(d.stragglers_total(), 150);
  ASSERT_EQ(d.stragglers_size(), kMaxStragglerNames);
  EXPECT_EQ(d.stragglers(0), "a/0");
  EXPECT_EQ(d.stragglers(kMaxStragglerNames - 1), "a/" + std::to_string(kMaxStragglerNames - 1));
}

TEST_F(StatusBuilderTest, ADrainWithoutStragglersIsGraceful) {
  config_.pools = {MakePool("a")};
  Start();
  Signal(SIGTERM);
  Reap(100, ExitedWith(0));
  internal::v1::DrainInfo d;
  builder().FillDrain(&d);
  EXPECT_TRUE(d.complete());
  EXPECT_TRUE(d.graceful());
  EXPECT_EQ(d.stragglers_total(), 0);
  EXPECT_EQ(d.stragglers_size(), 0);
}

}  // namespace
}  // namespace vigil
