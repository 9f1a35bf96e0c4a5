// DrainMachine: the pure state machine of the drain. Every event is fed with an explicit time
// and the returned actions are compared, in order, with readable strings ("stop 2 kill +10s" is
// pool 2 told its graceful signal, SIGKILL due 10 s after kT0). Time is a fake clock the test
// moves; no Supervisor, no pools, no processes.
#include "agent/lifecycle/drain.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "tests/fakes/fake_clock.h"

namespace vigil {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::vigil::testing::FakeClock;

constexpr MonoTime kT0 = FakeClock::kStart;

std::string Offset(MonoTime t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - kT0).count();
  if (ms % 1000 == 0) return "+" + std::to_string(ms / 1000) + "s";
  return "+" + std::to_string(ms) + "ms";
}

std::string Describe(const DrainAction& a) {
  using Kind = DrainAction::Kind;
  const std::string timer =
      a.timer == DrainAction::Timer::kPropagation ? "propagation" : "deadline";
  switch (a.kind) {
    case Kind::kStarted:
      return "started deadline " + Offset(a.at);
    case Kind::kJoined:
      switch (a.note) {
        case DrainAction::Note::kExitWhenComplete:
          return "joined: exit when complete";
        case DrainAction::Note::kSignalIgnored:
          return "joined: signal ignored";
        case DrainAction::Note::kEscalated:
          return "joined: escalated";
        case DrainAction::Note::kNone:
          return "joined";
      }
      return "joined ?";
    case Kind::kArmTimer:
      return "arm " + timer + " " + Offset(a.at);
    case Kind::kCancelTimer:
      return "cancel " + timer;
    case Kind::kStopPool:
      return std::string(a.fast ? "fast " : "stop ") + std::to_string(a.pool) + " kill " +
             Offset(a.at) + (a.at_deadline ? " at deadline" : "");
    case Kind::kDeadline:
      return "deadline";
    case Kind::kRunHooks:
      return "run hooks";
    case Kind::kComplete:
      return a.exit ? "complete: exit" : "complete: wait";
    case Kind::kExit:
      return "exit";
    case Kind::kAgentChanged:
      return "changed";
    case Kind::kWatchTraffic:
      return "watch traffic";
  }
  return "?";
}

class DrainMachineTest : public ::testing::Test {
 protected:
  // Three pools, stop_timeout 10s, 10s and 60s; grace period 30s, safety margin 3s: the deadline
  // is +27s, and SIGKILL comes min(3s / 2, 5s) = 1.5s after it.
  // A fixed propagation delay (0s unless a test sets one); the auto delay's tests turn it on.
  DrainMachineTest() {
    idle_ = {false, false, false};
    config_.propagation_auto = false;
  }

  DrainMachine& machine() {
    if (!machine_) machine_.emplace(config_, stop_timeouts_);
    return *machine_;
  }
  std::vector<std::string> Feed(DrainEvent event) {
    event.idle = idle_;
    std::vector<std::string> out;
    for (const DrainAction& a : machine().Handle(event, clock_.Now()))
      out.push_back(Describe(a));
    return out;
  }
  std::vector<std::string> Trigger(DrainTrigger trigger, Duration requested = Duration::zero()) {
    DrainEvent event(DrainEvent::Kind::kTrigger);
    event.trigger = trigger;
    event.requested = requested;
    return Feed(std::move(event));
  }
  std::vector<std::string> Pools(std::vector<bool> idle) {
    idle_ = std::move(idle);
    return Feed(DrainEvent(DrainEvent::Kind::kPoolsChanged));
  }
  std::vector<std::string> Fire(DrainEvent::Kind kind) { return Feed(DrainEvent(kind)); }
  // Brings a signal drain to its hooks: every pool down, one after another.
  void DownToHooks() {
    Pools({false, false, true});
    Pools({false, true, true});
    ASSERT_THAT(Pools({true, true, true}), ElementsAre("run hooks"));
  }

  DrainConfig config_;
  std::vector<Duration> stop_timeouts_ = {10s, 10s, 60s};
  std::vector<bool> idle_;
  FakeClock clock_;
  std::optional<DrainMachine> machine_;
};

TEST_F(DrainMachineTest, ASignalDrainStopsPoolsInReverseOrderEachOnceTheNextIsDown) {
  EXPECT_EQ(machine().step(), DrainStep::kIdle);
  EXPECT_THAT(Trigger(DrainTrigger::kSignal),
              ElementsAre("started deadline +27s", "changed", "arm deadline +27s",
                          "stop 2 kill +28500ms"));  // Its 60s stop_timeout, capped.
  EXPECT_EQ(machine().step(), DrainStep::kStoppingPools);
  EXPECT_TRUE(machine().state().started);
  EXPECT_TRUE(machine().state().exit_when_complete);
  EXPECT_EQ(machine().state().deadline, kT0 + 27s);
  EXPECT_THAT(Pools({false, false, false}), IsEmpty());
  EXPECT_THAT(Pools({true, false, false}), IsEmpty());  // Not its turn: no effect.
  clock_.Advance(2s);
  EXPECT_THAT(Pools({true, false, true}), ElementsAre("stop 1 kill +12s"));
  EXPECT_THAT(Pools({true, true, true}), ElementsAre("stop 0 kill +12s"));
  EXPECT_THAT(Pools({true, true, true}), ElementsAre("run hooks"));
  EXPECT_EQ(machine().step(), DrainStep::kRunningHooks);
  EXPECT_FALSE(machine().state().complete);
  EXPECT_THAT(Fire(DrainEvent::Kind::kHooksDone),
              ElementsAre("cancel deadline", "cancel propagation", "complete: exit"));
  EXPECT_EQ(machine().step(), DrainStep::kComplete);
  EXPECT_TRUE(machine().state().complete);
}

TEST_F(DrainMachineTest, APoolAlreadyDownIsPassedOnTheNextLook) {
  idle_ = {false, true, true};
  EXPECT_THAT(Trigger(DrainTrigger::kSignal),
              ElementsAre(::testing::_, ::testing::_, ::testing::_, "stop 2 kill +28500ms"));
  EXPECT_THAT(Pools({false, true, true}), ElementsAre("stop 1 kill +10s"));
  EXPECT_THAT(Pools({false, true, true}), ElementsAre("stop 0 kill +10s"));
  EXPECT_THAT(Pools({false, true, true}), IsEmpty());
  EXPECT_THAT(Pools({true, true, true}), ElementsAre("run hooks"));
}

TEST_F(DrainMachineTest, ThePropagationDelayComesBeforeTheFirstStopSignal) {
  config_.propagation_delay = 5s;
  EXPECT_THAT(
      Trigger(DrainTrigger::kPreStop),
      ElementsAre("started deadline +27s", "changed", "arm deadline +27s", "arm propagation +5s"));
  EXPECT_EQ(machine().step(), DrainStep::kPropagating);
  EXPECT_FALSE(machine().state().exit_when_complete);
  EXPECT_THAT(Pools({false, false, false}), IsEmpty());
  clock_.Advance(5s);
  EXPECT_THAT(Fire(DrainEvent::Kind::kPropagationOver), ElementsAre("stop 2 kill +28500ms"));
  EXPECT_EQ(machine().step(), DrainStep::kStoppingPools);
}

TEST_F(DrainMachineTest, AutoWatchesTrafficWithMaxDelayAsItsUpperBound) {
  config_.propagation_auto = true;  // max_delay 10s: under half of the 27s to the deadline
  EXPECT_THAT(Trigger(DrainTrigger::kPreStop),
              ElementsAre("started deadline +27s", "changed", "arm deadline +27s",
                          "arm propagation +10s", "watch traffic"));
  EXPECT_EQ(machine().step(), DrainStep::kPropagating);
  clock_.Advance(1500ms);  // The watch found the ports quiet.
  EXPECT_THAT(Fire(DrainEvent::Kind::kPropagationOver), ElementsAre("stop 2 kill +28500ms"));
  EXPECT_THAT(Fire(DrainEvent::Kind::kPropagationOver), IsEmpty());  // The timer, late.
}

TEST_F(DrainMachineTest, AutoLeavesHalfTheTimeToTheDeadlineForTheWorkers) {
  config_.propagation_auto = true;
  config_.max_delay = 60s;
  EXPECT_THAT(Trigger(DrainTrigger::kApi, 8s),
              ElementsAre("started deadline +8s", "changed", "arm deadline +8s",
                          "arm propagation +4s", "watch traffic"));
}

TEST_F(DrainMachineTest, AFastStopDuringAutoCancelsTheWatchAndStopsEveryPool) {
  config_.propagation_auto = true;
  Trigger(DrainTrigger::kPreStop);
  EXPECT_THAT(Trigger(DrainTrigger::kFastStop),
              ElementsAre("joined: escalated", "cancel propagation", "fast 0 kill +5s",
                          "fast 1 kill +5s", "fast 2 kill +5s", "changed"));
}

TEST_F(DrainMachineTest, NothingRunningSkipsThePropagationDelay) {
  config_.propagation_delay = 5s;
  idle_ = {true, true, true};
  EXPECT_THAT(Trigger(DrainTrigger::kSignal),
              ElementsAre("started deadline +27s", "changed", "arm deadline +27s",
                          "arm propagation +5s", "cancel propagation", "run hooks"));
  EXPECT_THAT(Fire(DrainEvent::Kind::kPropagationOver), IsEmpty());  // Too late: nothing.
  EXPECT_THAT(Fire(DrainEvent::Kind::kHooksDone),
              ElementsAre("cancel deadline", "cancel propagation", "complete: exit"));
}

TEST_F(DrainMachineTest, AtTheDeadlineEveryPoolGetsItsFastSignalAndSigkillAFastWindowLater) {
  stop_timeouts_ = {1s, 10s, 60s};
  Trigger(DrainTrigger::kSignal);
  clock_.Advance(27s);
  EXPECT_THAT(
      Fire(DrainEvent::Kind::kDeadline),
      ElementsAre("deadline", "fast 0 kill +28s at deadline", "fast 1 kill +28500ms at deadline",
                  "fast 2 kill +28500ms at deadline", "changed"));
  EXPECT_EQ(machine().step(), DrainStep::kPastDeadline);
  EXPECT_THAT(Pools({true, true, false}), IsEmpty());  // No more ordering past the deadline.
  EXPECT_THAT(Pools({true, true, true}), ElementsAre("run hooks"));
}

TEST_F(DrainMachineTest, TheDeadlineDuringThePropagationDelayCancelsIt) {
  config_.propagation_delay = 60s;
  Trigger(DrainTrigger::kApi);
  clock_.Advance(27s);
  EXPECT_THAT(Fire(DrainEvent::Kind::kDeadline),
              ElementsAre("deadline", "cancel propagation", "fast 0 kill +28500ms at deadline",
                          "fast 1 kill +28500ms at deadline", "fast 2 kill +28500ms at deadline",
                          "changed"));
  EXPECT_THAT(Fire(DrainEvent::Kind::kPropagationOver), IsEmpty());
}

TEST_F(DrainMachineTest, TheDeadlineWhileHooksRunHurriesNoOne) {
  Trigger(DrainTrigger::kSignal);
  DownToHooks();
  EXPECT_THAT(Fire(DrainEvent::Kind::kDeadline), IsEmpty());
  EXPECT_EQ(machine().step(), DrainStep::kRunningHooks);
}

TEST_F(DrainMachineTest, AFastStopTellsEveryPoolAtOnce) {
  stop_timeouts_ = {1s, 10s, 60s};
  EXPECT_THAT(Trigger(DrainTrigger::kFastStop),
              ElementsAre("started deadline +27s", "changed", "arm deadline +27s",
                          "fast 0 kill +1s", "fast 1 kill +5s", "fast 2 kill +5s"));
  EXPECT_EQ(machine().step(), DrainStep::kStoppingFast);
  EXPECT_THAT(Pools({true, false, true}), IsEmpty());
  EXPECT_THAT(Pools({true, true, true}), ElementsAre("run hooks"));
}

TEST_F(DrainMachineTest, AFastStopNeverKillsPastTheDeadlinesOwnSigkill) {
  config_.grace_period = 4s;  // Deadline +1s, SIGKILL at +2.5s: sooner than the 5s fast window.
  EXPECT_THAT(Trigger(DrainTrigger::kFastStop),
              ElementsAre(::testing::_, ::testing::_, ::testing::_, "fast 0 kill +2500ms",
                          "fast 1 kill +2500ms", "fast 2 kill +2500ms"));
}

TEST_F(DrainMachineTest, SigintDuringAGracefulDrainEscalatesOnce) {
  Trigger(DrainTrigger::kPreStop);
  clock_.Advance(1s);
  EXPECT_THAT(Trigger(DrainTrigger::kFastStop),
              ElementsAre("joined: escalated", "fast 0 kill +6s", "fast 1 kill +6s",
                          "fast 2 kill +6s", "changed"));
  EXPECT_EQ(machine().step(), DrainStep::kStoppingFast);
  EXPECT_TRUE(machine().state().exit_when_complete);
  EXPECT_THAT(Trigger(DrainTrigger::kFastStop), ElementsAre("changed"));
}

TEST_F(DrainMachineTest, EscalatingDuringThePropagationDelayCancelsIt) {
  config_.propagation_delay = 5s;
  Trigger(DrainTrigger::kSignal);
  EXPECT_THAT(Trigger(DrainTrigger::kFastStop),
              ElementsAre("joined: escalated", "cancel propagation", "fast 0 kill +5s",
                          "fast 1 kill +5s", "fast 2 kill +5s", "changed"));
  EXPECT_THAT(Fire(DrainEvent::Kind::kPropagationOver), IsEmpty());
}

TEST_F(DrainMachineTest, EscalatingPastTheDeadlineSendsNothingNew) {
  Trigger(DrainTrigger::kSignal);
  clock_.Advance(27s);
  Fire(DrainEvent::Kind::kDeadline);
  EXPECT_THAT(Trigger(DrainTrigger::kFastStop), ElementsAre("joined: escalated", "changed"));
  EXPECT_EQ(machine().step(), DrainStep::kPastDeadline);
}

TEST_F(DrainMachineTest, ASecondSigtermIsIgnoredAndNeverRestartsTheDrain) {
  Trigger(DrainTrigger::kSignal);
  EXPECT_THAT(Trigger(DrainTrigger::kSignal), ElementsAre("joined: signal ignored", "changed"));
  EXPECT_THAT(Trigger(DrainTrigger::kPreStop), ElementsAre("changed"));
  EXPECT_EQ(machine().state().trigger, DrainTrigger::kSignal);
  EXPECT_EQ(machine().state().started_at, kT0);
}

TEST_F(DrainMachineTest, APreStopDrainWaitsDrainedUntilTheStopSignal) {
  Trigger(DrainTrigger::kPreStop);
  DownToHooks();
  EXPECT_THAT(Fire(DrainEvent::Kind::kHooksDone),
              ElementsAre("cancel deadline", "cancel propagation", "complete: wait"));
  EXPECT_THAT(Trigger(DrainTrigger::kApi), ElementsAre("changed"));  // Still waiting.
  EXPECT_THAT(Trigger(DrainTrigger::kSignal),
              ElementsAre("joined: exit when complete", "exit", "changed"));
}

TEST_F(DrainMachineTest, AStopSignalDuringAPreStopDrainMakesItExitWhenComplete) {
  Trigger(DrainTrigger::kPreStop);
  EXPECT_THAT(Trigger(DrainTrigger::kSignal), ElementsAre("joined: exit when complete", "changed"));
  DownToHooks();
  EXPECT_THAT(Fire(DrainEvent::Kind::kHooksDone),
              ElementsAre("cancel deadline", "cancel propagation", "complete: exit"));
}

TEST_F(DrainMachineTest, AWorkersStopRequestOrAVerdictMakesAnApiDrainExit) {
  for (DrainTrigger joiner : {DrainTrigger::kWorker, DrainTrigger::kCrashLoop}) {
    machine_.reset();
    Trigger(DrainTrigger::kApi);
    EXPECT_THAT(Trigger(joiner), ElementsAre("changed"));
    EXPECT_TRUE(machine().state().exit_when_complete);
  }
}

TEST_F(DrainMachineTest, ARequestedDeadlineMayShortenTheDrainButNeverLengthenIt) {
  Trigger(DrainTrigger::kApi, 5s);
  EXPECT_EQ(machine().state().deadline, kT0 + 5s);
  machine_.reset();
  Trigger(DrainTrigger::kApi, 1h);
  EXPECT_EQ(machine().state().deadline, kT0 + 27s);
}

TEST_F(DrainMachineTest, WithoutPoolsTheDrainGoesStraightToTheHooks) {
  stop_timeouts_.clear();
  idle_.clear();
  EXPECT_THAT(Trigger(DrainTrigger::kSignal),
              ElementsAre("started deadline +27s", "changed", "arm deadline +27s", "run hooks"));
}

TEST_F(DrainMachineTest, EventsBeforeTheDrainOrAfterItDoNothing) {
  EXPECT_THAT(Pools({true, true, true}), IsEmpty());
  EXPECT_THAT(Fire(DrainEvent::Kind::kDeadline), IsEmpty());
  EXPECT_THAT(Fire(DrainEvent::Kind::kHooksDone), IsEmpty());
  EXPECT_EQ(machine().step(), DrainStep::kIdle);
  EXPECT_FALSE(machine().state().started);
}

// ---------------------------------------------------------------------------------------------
// GracePlan: the deadlines derived from the grace period
// ---------------------------------------------------------------------------------------------

TEST(GracePlanTest, TheDeadlineIsTheGracePeriodLessTheSafetyMarginOrSoonerIfAsked) {
  DrainConfig config;  // 30s, 3s
  const GracePlan plan(config);
  EXPECT_EQ(plan.Deadline(kT0, Duration::zero()), kT0 + 27s);
  EXPECT_EQ(plan.Deadline(kT0, -1s), kT0 + 27s);
  EXPECT_EQ(plan.Deadline(kT0, 2s), kT0 + 2s);
  EXPECT_EQ(plan.Deadline(kT0, 28s), kT0 + 27s);
  EXPECT_EQ(plan.Deadline(kT0, Duration::max()), kT0 + 27s);
}

TEST(GracePlanTest, AutoEndsByMaxDelayWithinMinDelayAndHalfTheTimeToTheDeadline) {
  DrainConfig config;  // auto, min 0s, max 10s
  EXPECT_EQ(GracePlan(config).PropagationEnd(kT0, kT0 + 27s), kT0 + 10s);
  EXPECT_EQ(GracePlan(config).PropagationEnd(kT0, kT0 + 6s), kT0 + 3s);
  EXPECT_EQ(GracePlan(config).PropagationEnd(kT0, kT0 - 1s), kT0);  // A deadline already past.
  config.min_delay = 5s;
  EXPECT_EQ(GracePlan(config).PropagationEnd(kT0, kT0 + 6s), kT0 + 5s);  // min_delay wins.
  config.propagation_auto = false;
  config.propagation_delay = 2s;
  EXPECT_EQ(GracePlan(config).PropagationEnd(kT0, kT0 + 27s), kT0 + 2s);
}

TEST(GracePlanTest, TheFastWindowIsHalfTheMarginAtMostFiveSeconds) {
  DrainConfig config;
  EXPECT_EQ(GracePlan(config).DeadlineFastWindow(), 1500ms);
  config.safety_margin = 20s;
  config.grace_period = 60s;
  EXPECT_EQ(GracePlan(config).DeadlineFastWindow(), kFastStopTimeout);
}

TEST(GracePlanTest, KillTimesAreTheStopTimeoutCappedAndNeverInThePast) {
  const GracePlan plan{DrainConfig{}};
  const MonoTime deadline = kT0 + 27s;
  EXPECT_EQ(plan.GracefulKillAt(kT0, 10s, deadline), kT0 + 10s);
  EXPECT_EQ(plan.GracefulKillAt(kT0, 60s, deadline), kT0 + 28500ms);
  EXPECT_EQ(plan.FastKillAt(kT0, 60s, deadline, false), kT0 + 5s);
  EXPECT_EQ(plan.FastKillAt(kT0, 2s, deadline, false), kT0 + 2s);
  EXPECT_EQ(plan.FastKillAt(kT0 + 27s, 60s, deadline, true), kT0 + 28500ms);
  // A deadline timer that fired late: SIGKILL is due now, not in the past.
  EXPECT_EQ(plan.FastKillAt(kT0 + 40s, 60s, deadline, true), kT0 + 40s);
}

TEST(GracePlanTest, HooksShareWhatIsLeftOfTheGracePeriod) {
  const GracePlan plan{DrainConfig{}};
  // 20s into a 30s grace period, two hooks left: (10s - 0.5s) / 2 each.
  EXPECT_EQ(plan.HookEnd(kT0 + 20s, kT0, 10s, 2), kT0 + 20s + 4750ms);
  EXPECT_EQ(plan.HookEnd(kT0 + 20s, kT0, 1s, 2), kT0 + 21s);  // Its own timeout is shorter.
  EXPECT_EQ(plan.HookEnd(kT0 + 40s, kT0, 10s, 1), kT0 + 40s + kMinHookShare);  // Nothing left.
  EXPECT_EQ(plan.HookEnd(kT0, kT0, 10s, 0), kT0 + 10s);  // A count of 0 is taken as 1.
}

TEST(GracePlanTest, TheLargestValuesAcceptedDoNotWrap) {
  DrainConfig config;
  config.grace_period = Duration::max();
  config.propagation_auto = false;
  config.propagation_delay = Duration::max();
  const GracePlan plan(config);
  const MonoTime deadline = plan.Deadline(kT0, Duration::zero());
  EXPECT_GT(deadline, kT0);
  EXPECT_EQ(plan.PropagationEnd(kT0, deadline), MonoTime::max());
  config.propagation_auto = true;
  config.min_delay = Duration::max();
  config.max_delay = Duration::max();
  EXPECT_EQ(GracePlan(config).PropagationEnd(kT0, deadline), MonoTime::max());
  EXPECT_GE(plan.GracefulKillAt(kT0, Duration::max(), deadline), kT0);
  EXPECT_GE(plan.FastKillAt(kT0, Duration::max(), deadline, true), kT0);
  EXPECT_GT(plan.HookEnd(kT0, kT0, Duration::max(), 1), kT0);
}

}  // namespace
}  // namespace vigil
