// HookRunner: the stop hooks, run one at a time against FakeOs and a FakeScheduler; exits are
// handed to it by hand and time moves only when the test says so.
#include "agent/lifecycle/hook_runner.h"

#include <signal.h>
#include <sys/wait.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/fakes/fake_clock.h"
#include "tests/fakes/fake_os.h"
#include "tests/fakes/fake_scheduler.h"

namespace vigil {
namespace {

using namespace std::chrono_literals;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;
using ::vigil::testing::FakeClock;
using ::vigil::testing::FakeOs;
using ::vigil::testing::FakeScheduler;
using ::vigil::testing::SignalCall;

constexpr MonoTime kT0 = FakeClock::kStart;

class HookRunnerTest : public ::testing::Test {
 protected:
  HookRunnerTest() { os_.next_unscripted_pid = 300; }

  HookRunner& runner() {
    if (!runner_) {
      runner_ = std::make_unique<HookRunner>(hooks_, GracePlan(drain_), os_, scheduler_, clock_,
                                             counts_, environment_);
    }
    return *runner_;
  }
  void Run(DrainTrigger trigger = DrainTrigger::kSignal, MonoTime start = kT0) {
    runner().Run(trigger, start, [this] { ++done_; });
  }
  std::vector<std::string> Spawned() const {
    std::vector<std::string> out;
    for (const SpawnRequest& r : os_.spawn_requests)
      out.push_back(r.argv.at(0));
    return out;
  }
  uint64_t Count(const std::string& hook, HookResult result) {
    return counts_[{hook, static_cast<int>(result)}];
  }

  std::vector<HookConfig> hooks_ = {{"first", {"first-cmd"}, 10s}, {"second", {"second-cmd"}, 10s}};
  DrainConfig drain_;  // 30s grace period
  FakeOs os_;
  FakeClock clock_;
  FakeScheduler scheduler_{clock_};
  HookCounts counts_;
  // What Vigil inherited: a hook gets it without the variables of Vigil's own supervisor.
  ChildEnvironment environment_{{"PATH=/bin", "NOTIFY_SOCKET=/run/outer", "WATCHDOG_USEC=1"}};
  int done_ = 0;
  std::unique_ptr<HookRunner> runner_;
};

TEST_F(HookRunnerTest, HooksRunLastRegisteredFirstEachOnceThePreviousEnded) {
  Run(DrainTrigger::kPreStop);
  EXPECT_THAT(Spawned(), ElementsAre("second-cmd"));
  const auto& env = *os_.spawn_requests[0].env;
  EXPECT_THAT(env, Contains("VIGIL_HOOK=second"));
  EXPECT_THAT(env, Contains("VIGIL_DRAIN_TRIGGER=prestop"));
  EXPECT_THAT(env, Contains("PATH=/bin"));
  EXPECT_THAT(env, Not(Contains(::testing::StartsWith("NOTIFY_SOCKET="))));
  EXPECT_THAT(env, Not(Contains(::testing::StartsWith("WATCHDOG_USEC="))));
  EXPECT_TRUE(runner().running());
  EXPECT_FALSE(runner().OnProcessExited(999, W_EXITCODE(0, 0)));  // Not a hook's pid.
  EXPECT_TRUE(runner().OnProcessExited(300, W_EXITCODE(0, 0)));
  EXPECT_THAT(Spawned(), ElementsAre("second-cmd", "first-cmd"));
  EXPECT_EQ(done_, 0);
  EXPECT_TRUE(runner().OnProcessExited(301, W_EXITCODE(2, 0)));
  EXPECT_EQ(done_, 1);
  EXPECT_FALSE(runner().running());
  EXPECT_EQ(Count("second", HookResult::kSuccess), 1u);
  EXPECT_EQ(Count("first", HookResult::kFailure), 1u);
  EXPECT_EQ(scheduler_.pending(), 0u);
}

TEST_F(HookRunnerTest, AHungHookIsKilledAtItsShareOfTheGraceLeftAndTheNextStillRuns) {
  clock_.Set(kT0 + 20s);  // 10s of the grace period left, two hooks: 4.75s each.
  Run();
  scheduler_.AdvanceTo(kT0 + 20s + 4749ms);
  EXPECT_THAT(os_.SignalsTo(SignalCall::Target::kGroup, 300), IsEmpty());
  scheduler_.AdvanceTo(kT0 + 20s + 4750ms);
  EXPECT_THAT(os_.SignalsTo(SignalCall::Target::kGroup, 300), ElementsAre(SIGKILL));
  runner().OnProcessExited(300, W_EXITCODE(0, SIGKILL));
  EXPECT_EQ(Count("second", HookResult::kTimeout), 1u);
  EXPECT_THAT(Spawned(), ElementsAre("second-cmd", "first-cmd"));
  // The last one gets all that is left, up to its own timeout: 5.25s - 0.5s.
  scheduler_.AdvanceTo(kT0 + 29s + 500ms - 1ms);
  EXPECT_THAT(os_.SignalsTo(SignalCall::Target::kGroup, 301), IsEmpty());
  scheduler_.AdvanceTo(kT0 + 29s + 500ms);
  EXPECT_THAT(os_.SignalsTo(SignalCall::Target::kGroup, 301), ElementsAre(SIGKILL));
}

TEST_F(HookRunnerTest, AHookKilledByASignalItDidNotTimeOutIsAFailure) {
  Run();
  runner().OnProcessExited(300, W_EXITCODE(0, SIGTERM));
  EXPECT_EQ(Count("second", HookResult::kFailure), 1u);
}

TEST_F(HookRunnerTest, AHookThatCannotBeSpawnedIsCountedAndTheNextRuns) {
  os_.ScriptSpawnExecFailure(ENOENT);
  Run();
  EXPECT_THAT(Spawned(), ElementsAre("second-cmd", "first-cmd"));
  EXPECT_EQ(Count("second", HookResult::kSpawnFailed), 1u);
  EXPECT_TRUE(runner().running());
  EXPECT_EQ(done_, 0);
}

TEST_F(HookRunnerTest, WhenNoHookCanRunTheRunIsDoneAtOnce) {
  os_.ScriptSpawnExecFailure(ENOENT);
  os_.ScriptSpawnExecFailure(EACCES);
  Run();
  EXPECT_EQ(done_, 1);
  EXPECT_FALSE(runner().running());
  hooks_.clear();
  runner_.reset();
  Run();
  EXPECT_EQ(done_, 2);
}

TEST_F(HookRunnerTest, DestroyingTheRunnerCancelsItsTimer) {
  Run();
  EXPECT_EQ(scheduler_.pending(), 1u);
  runner_.reset();
  EXPECT_EQ(scheduler_.pending(), 0u);
}

}  // namespace
}  // namespace vigil
