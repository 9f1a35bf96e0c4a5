// Supervisor: pool mode's agent, with every pool running against FakeOs, FakeScheduler,
// FakeFdWatcher and FakeNotifyTransport. Signals and SIGCHLD are delivered by hand; reaped
// exits are scripted in FakeOs; time only moves when the test says so.
#include "agent/supervisor/supervisor.h"

#include <signal.h>
#include <sys/wait.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include <chrono>
#include <string>
#include <vector>

#include "agent/base/duration.h"
#include "tests/fakes/log_capture.h"
#include "tests/fakes/supervisor_harness.h"

namespace vigil {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::vigil::testing::ExitedWith;
using ::vigil::testing::FakeClock;
using ::vigil::testing::FakeFdWatcher;
using ::vigil::testing::FakeNotifyTransport;
using ::vigil::testing::FakeOs;
using ::vigil::testing::FakeRandom;
using ::vigil::testing::FakeScheduler;
using ::vigil::testing::KilledBy;
using ::vigil::testing::kShell;
using ::vigil::testing::LogCapture;
using ::vigil::testing::MakePool;
using ::vigil::testing::SignalCall;
using ::vigil::testing::SupervisorHarness;

constexpr pid_t kVigil = 4242;  // FakeOs's own pid.

class SupervisorTest : public SupervisorHarness {};

// ---------------------------------------------------------------------------------------------
// Start and readiness
// ---------------------------------------------------------------------------------------------

TEST_F(SupervisorTest, PoolsStartInFileOrderAndTheAgentIsReadyOnceEveryPoolIs) {
  config_.pools[1].readiness.mode = ReadinessMode::kNotify;
  Start();
  ASSERT_EQ(os_.spawn_requests.size(), 2u);
  EXPECT_THAT(os_.spawn_requests[0].argv, ElementsAre("a-server"));
  EXPECT_THAT(os_.spawn_requests[1].argv, ElementsAre("b-server"));
  EXPECT_TRUE(pool(0).ready());
  EXPECT_FALSE(pool(1).ready());
  EXPECT_EQ(sup().phase(), AgentPhase::kStarting);
  EXPECT_FALSE(sup().ready());
  Send("b", 0, "READY=1", 101);
  EXPECT_EQ(sup().phase(), AgentPhase::kReady);
  EXPECT_TRUE(sup().ready());
  EXPECT_FALSE(sup().finished());
}

TEST_F(SupervisorTest, TheAgentIsUnreadyWhileAPoolIsBelowMinReady) {
  Start();
  ASSERT_TRUE(sup().ready());
  Reap(101, ExitedWith(1));
  EXPECT_EQ(sup().phase(), AgentPhase::kStarting);
  scheduler_.AdvanceBy(1s);  // Restarted and ready again.
  EXPECT_TRUE(sup().ready());
}

// Regression test for a fixed bug: Supervisor::Start stops starting pools as soon as the phase
// leaves kStarting ("a verdict or stop request came in already"), but the phase also leaves it when
// the agent becomes READY. With a later pool whose min_ready is 0 (ready with no worker), the
// earlier pools' workers become ready synchronously in their Start(), UpdateReadiness() sees every
// pool ready, the phase turns kReady, and the loop breaks: the later pool is never started. Fix:
// break only on kStopping/kDone (or on drain_.started), not on kReady.
TEST_F(SupervisorTest, APoolWithMinReadyZeroIsStartedToo) {
  config_.pools[1].min_ready = 0;
  Start();
  EXPECT_EQ(os_.spawn_requests.size(), 2u);
  EXPECT_TRUE(worker(1, 0).running());
}

// ---------------------------------------------------------------------------------------------
// Reaping
// ---------------------------------------------------------------------------------------------

TEST_F(SupervisorTest, ReapedWorkersGoToTheirOwnPool) {
  Start();
  Reap(101, ExitedWith(1));
  EXPECT_EQ(worker(1, 0).state(), WorkerState::kBackoff);
  ASSERT_TRUE(worker(1, 0).last_exit().has_value());
  EXPECT_EQ(worker(1, 0).last_exit()->code, 1);
  EXPECT_TRUE(worker(0, 0).ready());
  EXPECT_FALSE(worker(0, 0).last_exit().has_value());
}

// Issue 13: the exits reaped in one event close their runs' sockets at once, but the runs'
// directories (filesystem work, most of an exit's cost) are removed together at the event's
// end, after the exits and a drain's end have been reported; nothing stays held after it.
TEST_F(SupervisorTest, RunsReapedTogetherHaveTheirDirectoriesRemovedAfterTheTurnsWork) {
  Start();
  Signal(SIGTERM);
  const size_t before = notify_.removed.size();
  const int releases = notify_.releases;
  const int held = notify_.closed_while_holding;
  os_.QueueReaped(100, ExitedWith(0));
  os_.QueueReaped(101, ExitedWith(0));
  sup().OnSignal(ReceivedSignal{SIGCHLD, 100, CLD_EXITED});
  EXPECT_TRUE(notify_.holding);  // Until the work the event posted has run.
  EXPECT_EQ(notify_.held.size(), 2u);
  scheduler_.RunPosted();
  EXPECT_FALSE(notify_.holding);
  EXPECT_TRUE(notify_.held.empty());
  EXPECT_EQ(notify_.releases, releases + 1);
  EXPECT_EQ(notify_.closed_while_holding, held + 2);
  ASSERT_EQ(notify_.removed.size(), before + 2);  // Held in the event, removed at its end.
  EXPECT_EQ(notify_.removed[before], notify_.closed[notify_.closed.size() - 2]);
  EXPECT_EQ(worker(0, 0).state(), WorkerState::kExited);
  EXPECT_EQ(worker(1, 0).state(), WorkerState::kExited);
}

// Issue 13: a drain of 9,989 workers reaped 3,150 exits in one callback (about 0.6 s of PID 1
// serving nothing else). A burst of exits is reaped a slice of the turn at a time, the rest from
// the next turns without waiting for another SIGCHLD (none comes for zombies already waiting).
TEST_F(SupervisorTest, ABurstOfExitsIsReapedASliceOfATurnAtATime) {
  config_.pools = {MakePool("a")};
  config_.pools[0].replicas = 100;
  Start();
  Signal(SIGTERM);
  while (scheduler_.RunOneDue()) {
  }
  for (pid_t pid = 100; pid < 200; ++pid)
    os_.QueueReaped(pid, KilledBy(SIGTERM));
  os_.QueueNone();
  clock_.SetTick(1ms);  // each exit takes a few milliseconds
  sup().OnSignal(ReceivedSignal{SIGCHLD, 100, CLD_EXITED});
  scheduler_.RunPosted();
  const int first = pool(0).CountIn(WorkerState::kExited);
  EXPECT_GE(first, 32);
  EXPECT_LT(first, 100);
  int turns = 1;
  while (pool(0).CountIn(WorkerState::kExited) < 100 && scheduler_.RunOneDue())
    ++turns;
  clock_.SetTick(0ms);
  EXPECT_EQ(pool(0).CountIn(WorkerState::kExited), 100);
  EXPECT_GT(turns, 1);
  EXPECT_EQ(os_.wait_script_left(), 0u);
}

// A crashed worker's zero-delay replacement gets its socket (and is spawned) before the dead
// run's directory is removed: the removal, the costliest part of an exit, is not on the way
// from the crash to the replacement (docs/performance.md, scenario 6).
TEST_F(SupervisorTest, AZeroDelayReplacementStartsBeforeTheDeadRunsDirectoryIsRemoved) {
  config_.pools[0].backoff.initial = Duration::zero();
  Start();
  const size_t spawns = os_.spawn_requests.size();
  const size_t opens = notify_.open_attempts.size();
  const size_t removed = notify_.removed.size();
  os_.QueueReaped(100, ExitedWith(1));
  sup().OnSignal(ReceivedSignal{SIGCHLD, 100, CLD_EXITED});
  scheduler_.RunPosted();
  ASSERT_EQ(os_.spawn_requests.size(), spawns + 1) << "no zero-delay replacement";
  ASSERT_GT(notify_.open_attempts.size(), opens);
  EXPECT_EQ(notify_.open_attempts[opens], "a/0");
  EXPECT_EQ(notify_.held_at_open[opens], 1u) << "the dead run was removed before the new one";
  EXPECT_EQ(notify_.removed.size(), removed + 1);  // Removed in the same turn, after.
  EXPECT_FALSE(notify_.holding);
}

// After a restart the pool opens a spare notify socket (by posted work, after the spawn); the
// next crash's replacement takes it, so that no socket is opened between a crash and its
// replacement's spawn, and a new spare follows. A pool that stops closes its spare and makes
// none again.
TEST_F(SupervisorTest, AReplacementTakesTheSpareSocketOpenedAfterTheRestartBeforeIt) {
  config_.pools[0].backoff.initial = Duration::zero();
  Start();
  auto spares = [this] {
    std::vector<std::string> paths;
    for (const auto& o : notify_.opened)
      if (o.label == "a/next") paths.push_back(o.path);
    return paths;
  };
  EXPECT_TRUE(spares().empty()) << "a spare before any restart";
  os_.QueueReaped(100, ExitedWith(1));
  sup().OnSignal(ReceivedSignal{SIGCHLD, 100, CLD_EXITED});
  scheduler_.RunPosted();
  ASSERT_EQ(spares().size(), 1u);
  const std::string spare = spares()[0];
  const size_t opens = notify_.open_attempts.size();
  const pid_t second = pool(0).pid_of(0);
  os_.QueueReaped(second, ExitedWith(1));
  sup().OnSignal(ReceivedSignal{SIGCHLD, second, CLD_EXITED});
  scheduler_.RunPosted();
  ASSERT_NE(pool(0).pid_of(0), second) << "no replacement";
  EXPECT_EQ(notify_.LastSpawnsSocket("a/0"), spare) << "the replacement did not get the spare";
  ASSERT_EQ(notify_.open_attempts.size(), opens + 1) << "only the next spare is opened";
  EXPECT_EQ(notify_.open_attempts.back(), "a/next");
  ASSERT_EQ(spares().size(), 2u);
  const std::string next = spares()[1];
  Signal(SIGTERM);  // The drain stops pool b, then, once b is down, pool a.
  os_.QueueReaped(101, ExitedWith(0));
  sup().OnSignal(ReceivedSignal{SIGCHLD, 101, CLD_EXITED});
  scheduler_.RunPosted();
  EXPECT_NE(std::find(notify_.closed.begin(), notify_.closed.end(), next), notify_.closed.end())
      << "the stopped pool's spare is still open";
  const pid_t third = pool(0).pid_of(0);
  os_.QueueReaped(third, ExitedWith(0));
  sup().OnSignal(ReceivedSignal{SIGCHLD, third, CLD_EXITED});
  scheduler_.RunPosted();
  EXPECT_EQ(spares().size(), 2u) << "a spare made after the stop";
}

TEST_F(SupervisorTest, OrphansAreReapedAndForgottenNeverMistakenForWorkers) {
  Start();
  os_.QueueReaped(555, ExitedWith(3));  // An orphan exiting with the code of a boot error.
  os_.QueueReaped(556, KilledBy(SIGSEGV));
  os_.QueueReaped(101, ExitedWith(0));
  sup().OnSignal(ReceivedSignal{SIGCHLD, 555, CLD_EXITED});
  EXPECT_EQ(os_.wait_script_left(), 0u);  // Every one reaped in the same round.
  EXPECT_TRUE(worker(0, 0).ready());
  EXPECT_EQ(worker(1, 0).last_exit()->code, 0);
  EXPECT_FALSE(sup().finished());
  EXPECT_EQ(os_.spawn_requests.size(), 2u);
}

TEST_F(SupervisorTest, AWorkersExitSigkillsWhatItLeftInItsProcessGroup) {
  Start();
  Reap(100, ExitedWith(0));
  EXPECT_THAT(GroupSignals(100), ElementsAre(SIGKILL));
  EXPECT_THAT(GroupSignals(101), IsEmpty());
}

// ---------------------------------------------------------------------------------------------
// Signals
// ---------------------------------------------------------------------------------------------

TEST_F(SupervisorTest, SigtermStopsPoolsInReverseOrderEachAfterTheNextOneIsDown) {
  Start();
  Signal(SIGTERM);
  EXPECT_EQ(sup().phase(), AgentPhase::kStopping);
  EXPECT_FALSE(sup().ready());
  EXPECT_THAT(StopSignals(101), ElementsAre(SIGTERM));
  EXPECT_THAT(StopSignals(100), IsEmpty());  // Pool a waits until b has gone idle.
  Reap(101, KilledBy(SIGTERM));
  EXPECT_THAT(StopSignals(100), ElementsAre(SIGTERM));
  EXPECT_FALSE(sup().finished());
  Reap(100, KilledBy(SIGTERM));
  EXPECT_TRUE(sup().finished());
  EXPECT_EQ(sup().exit_code(), kPoolExitOk);
  EXPECT_EQ(os_.spawn_requests.size(), 2u);  // Nothing restarted during the shutdown.
}

TEST_F(SupervisorTest, ThreePoolsStopOneAfterAnotherFromTheLast) {
  config_.pools.push_back(MakePool("c"));
  Start();
  Signal(SIGTERM);
  EXPECT_THAT(StopSignals(102), ElementsAre(SIGTERM));
  EXPECT_THAT(StopSignals(101), IsEmpty());
  EXPECT_THAT(StopSignals(100), IsEmpty());
  Reap(102, ExitedWith(0));
  EXPECT_THAT(StopSignals(101), ElementsAre(SIGTERM));
  EXPECT_THAT(StopSignals(100), IsEmpty());
  Reap(101, ExitedWith(0));
  EXPECT_THAT(StopSignals(100), ElementsAre(SIGTERM));
  Reap(100, ExitedWith(0));
  EXPECT_TRUE(sup().finished());
}

// Regression test for a fixed bug: the reverse order breaks when the last pool goes idle inside its
// own StopAll (its workers were all waiting in backoff, so Stop ends them at once). Pool::StopAll
// -> CheckIdle -> Supervisor::OnPoolIdle re-enters StopNextPool, which stops the next pool (b) and
// returns because b is busy; back in the outer StopNextPool, the loop sees the last pool idle and
// goes on to stop pool a too, while b is still running. Fix: make StopNextPool non-reentrant (a
// `stopping_in_progress_` guard that the nested call respects), or have the outer loop re-read
// stopping_index_ and return when a nested call already advanced it.
TEST_F(SupervisorTest, ReverseOrderHoldsWhenTheLastPoolWasWaitingToRestart) {
  config_.pools.push_back(MakePool("c"));
  Start();
  Reap(102, ExitedWith(1));  // c's only worker crashed: in backoff when SIGTERM arrives.
  ASSERT_EQ(worker(2, 0).state(), WorkerState::kBackoff);
  Signal(SIGTERM);
  EXPECT_THAT(StopSignals(101), ElementsAre(SIGTERM));
  EXPECT_THAT(StopSignals(100), IsEmpty()) << "pool a was stopped while pool b is still running";
}

TEST_F(SupervisorTest, ARepeatedSigtermIsNeverPassedOn) {
  Start();
  Signal(SIGTERM);
  const size_t sent = os_.signals.size();
  Signal(SIGTERM);
  Signal(SIGTERM);
  EXPECT_EQ(os_.signals.size(), sent);
  EXPECT_EQ(sup().phase(), AgentPhase::kStopping);
}

TEST_F(SupervisorTest, SigintStopsEveryPoolAtOnceWithItsFastSignalAndAShortDeadline) {
  config_.pools[0].stop_timeout = 30s;
  config_.pools[1].stop_timeout = 2s;
  config_.pools[1].fast_stop_signal = SIGQUIT;
  Start();
  Signal(SIGINT);
  EXPECT_EQ(sup().phase(), AgentPhase::kStopping);
  EXPECT_THAT(GroupSignals(100), ElementsAre(SIGINT));
  EXPECT_THAT(GroupSignals(101), ElementsAre(SIGQUIT));
  scheduler_.AdvanceBy(2s);  // min(stop_timeout, 5s) for b.
  EXPECT_THAT(GroupSignals(101), ElementsAre(SIGQUIT, SIGKILL));
  EXPECT_THAT(GroupSignals(100), ElementsAre(SIGINT));
  scheduler_.AdvanceBy(3s);  // min(stop_timeout, 5s) for a.
  EXPECT_THAT(GroupSignals(100), ElementsAre(SIGINT, SIGKILL));
}

// Regression (issue 10, defect 9): a Drain deadline near INT64_MAX wrapped to "now" and
// fast-stopped every worker at once.
TEST_F(SupervisorTest, AnAbsurdDrainDeadlineIsTheGracePeriodNotNow) {
  Start();
  sup().Drain(DrainTrigger::kApi, Duration::max());
  EXPECT_THAT(GroupSignals(101), ElementsAre(SIGTERM));  // graceful, the last pool first
  EXPECT_THAT(GroupSignals(100), ElementsAre());
  scheduler_.AdvanceBy(1s);
  EXPECT_THAT(GroupSignals(101), ElementsAre(SIGTERM));
}

TEST_F(SupervisorTest, GracePeriodsAtTheLargestValueAcceptedDoNotWrap) {
  config_.drain.grace_period = kMaxDuration;
  config_.drain.safety_margin = kMaxDuration / 2;
  config_.drain.propagation_delay = kMaxDuration / 4;
  config_.pools[0].stop_timeout = kMaxDuration;
  config_.pools[1].stop_timeout = kMaxDuration;
  clock_.Advance(std::chrono::hours(24 * 365));  // a year of uptime
  Start();
  Signal(SIGTERM);
  scheduler_.AdvanceBy(1h);
  // Still waiting out the propagation delay: nobody signalled, nobody killed.
  EXPECT_THAT(GroupSignals(100), ElementsAre());
  EXPECT_THAT(GroupSignals(101), ElementsAre());
}

TEST_F(SupervisorTest, SigquitIsAFastStopToo) {
  Start();
  Signal(SIGQUIT);
  EXPECT_THAT(GroupSignals(100), ElementsAre(SIGINT));
  EXPECT_THAT(GroupSignals(101), ElementsAre(SIGINT));
}

TEST_F(SupervisorTest, SigintDuringAGracefulShutdownEscalatesEveryPool) {
  Start();
  Signal(SIGTERM);
  ASSERT_THAT(StopSignals(100), IsEmpty());
  Signal(SIGINT);
  EXPECT_THAT(StopSignals(101), ElementsAre(SIGTERM, SIGINT));
  EXPECT_THAT(StopSignals(100), ElementsAre(SIGINT));
  const size_t sent = os_.signals.size();
  Signal(SIGINT);  // Once is enough.
  EXPECT_EQ(os_.signals.size(), sent);
}

TEST_F(SupervisorTest, OtherSignalsAreForwardedToEveryWorkerThroughEachPoolsRewrite) {
  ASSERT_TRUE(config_.pools[0].forward_rewrite.AddRule("HUP:0").ok());
  ASSERT_TRUE(config_.pools[1].forward_rewrite.AddRule("USR1:USR2").ok());
  Start();
  Signal(SIGHUP);
  Signal(SIGUSR1);
  Signal(SIGWINCH);
  EXPECT_THAT(GroupSignals(100), ElementsAre(SIGUSR1, SIGWINCH));
  EXPECT_THAT(GroupSignals(101), ElementsAre(SIGHUP, SIGUSR2, SIGWINCH));
  EXPECT_EQ(sup().phase(), AgentPhase::kReady);
}

TEST_F(SupervisorTest, SignalsVigilSentItselfAreIgnored) {
  Start();
  Signal(SIGTERM, kVigil);
  Signal(SIGHUP, kVigil);
  EXPECT_THAT(os_.signals, IsEmpty());
  EXPECT_EQ(sup().phase(), AgentPhase::kReady);
}

// ---------------------------------------------------------------------------------------------
// X_VIGIL_STOP=1: a worker asks to stop the pod
// ---------------------------------------------------------------------------------------------

TEST_F(SupervisorTest, AWorkersStopRequestStartsAGracefulShutdown) {
  Start();
  Send("a", 0, "X_VIGIL_STOP=1", 100);
  EXPECT_EQ(sup().phase(), AgentPhase::kStopping);
  EXPECT_THAT(StopSignals(101), ElementsAre(SIGTERM));  // In reverse order, as on SIGTERM.
  EXPECT_THAT(StopSignals(100), IsEmpty());
  Reap(101, ExitedWith(0));
  Reap(100, ExitedWith(0));
  EXPECT_TRUE(sup().finished());
  EXPECT_EQ(sup().exit_code(), kPoolExitOk);
}

TEST_F(SupervisorTest, AStopRequestBeforeReadyIsActedOn) {
  config_.pools[1].readiness.mode = ReadinessMode::kNotify;
  Start();
  ASSERT_EQ(sup().phase(), AgentPhase::kStarting);
  Send("b", 0, "X_VIGIL_STOP=1", 101);
  EXPECT_EQ(sup().phase(), AgentPhase::kStopping);
  EXPECT_THAT(StopSignals(101), ElementsAre(SIGTERM));
}

TEST_F(SupervisorTest, AStopRequestFromAWorkerThatExitsAtOnceIsStillHeard) {
  Start();
  notify_.Queue(NotifyFd("b", 0), "X_VIGIL_STOP=1", 101);  // Unread when the exit is reaped.
  Reap(101, ExitedWith(0));
  EXPECT_EQ(sup().phase(), AgentPhase::kStopping);
  EXPECT_EQ(worker(1, 0).state(), WorkerState::kExited);  // Drained, not restarted.
  EXPECT_THAT(StopSignals(100), ElementsAre(SIGTERM));    // Pool b is down: a's turn.
  scheduler_.AdvanceBy(5s);
  EXPECT_EQ(os_.spawn_requests.size(), 2u);
  Reap(100, KilledBy(SIGTERM));
  EXPECT_TRUE(sup().finished());
  EXPECT_EQ(sup().exit_code(), kPoolExitOk);
}

TEST_F(SupervisorTest, ARejectedStopRequestChangesNothing) {
  Start();
  os_.process_groups[555] = 555;  // Some process outside the worker's group.
  Send("a", 0, "X_VIGIL_STOP=1", 555);
  Send("a", 0, "X_VIGIL_STOP=1", 0);  // From another container of the pod.
  EXPECT_EQ(sup().phase(), AgentPhase::kReady);
  EXPECT_EQ(pool(0).counters().notify_rejected, 2u);
}

// ---------------------------------------------------------------------------------------------
// Crash-loop verdict
// ---------------------------------------------------------------------------------------------

TEST_F(SupervisorTest, ACrashLoopVerdictStopsEverythingAndExits3) {
  config_.pools[0].crash_loop.max_restarts = 0;
  Start();
  Reap(100, ExitedWith(1));
  EXPECT_TRUE(pool(0).failed());
  EXPECT_EQ(sup().phase(), AgentPhase::kStopping);
  EXPECT_THAT(StopSignals(101), ElementsAre(SIGTERM));
  Reap(101, KilledBy(SIGTERM));
  EXPECT_TRUE(sup().finished());
  EXPECT_EQ(sup().exit_code(), kPoolExitCrashLoop);
}

TEST_F(SupervisorTest, AWorkerThatCanNeverStartReachesTheVerdictAfterItsBackoffs) {
  config_.pools.pop_back();
  config_.pools[0].restart = RestartPolicy::kAlways;
  config_.pools[0].crash_loop.max_restarts = 2;
  Start();
  Reap(100, ExitedWith(1));
  scheduler_.AdvanceBy(1s);
  Reap(101, ExitedWith(1));
  scheduler_.AdvanceBy(2s);
  EXPECT_FALSE(sup().finished());
  Reap(102, ExitedWith(1));
  EXPECT_TRUE(sup().finished());
  EXPECT_EQ(sup().exit_code(), kPoolExitCrashLoop);
  EXPECT_EQ(clock_.Now(), FakeClock::kStart + 3s);
}

TEST_F(SupervisorTest, WithOnPoolFailureKeepTheOtherPoolsRunAndReadinessIgnoresTheFailedPool) {
  config_.on_pool_failure = PoolFailureAction::kKeepOthers;
  config_.pools[0].crash_loop.max_restarts = 0;
  Start();
  Reap(100, ExitedWith(1));
  EXPECT_TRUE(pool(0).failed());
  EXPECT_THAT(StopSignals(101), IsEmpty());
  EXPECT_TRUE(worker(1, 0).ready());
  EXPECT_EQ(sup().phase(), AgentPhase::kReady);
  EXPECT_FALSE(sup().finished());
  Reap(101, ExitedWith(1));  // The healthy pool still restarts its workers.
  EXPECT_EQ(sup().phase(), AgentPhase::kStarting);
  scheduler_.AdvanceBy(1s);
  EXPECT_EQ(sup().phase(), AgentPhase::kReady);
  // When Vigil exits later, the verdict still shows in its status.
  Signal(SIGTERM);
  EXPECT_THAT(StopSignals(102), ElementsAre(SIGTERM));
  Reap(102, KilledBy(SIGTERM));
  EXPECT_TRUE(sup().finished());
  EXPECT_EQ(sup().exit_code(), kPoolExitCrashLoop);
}

// ---------------------------------------------------------------------------------------------
// Exit status
// ---------------------------------------------------------------------------------------------

TEST_F(SupervisorTest, ExitStatusIs0WhenEveryWorkerEndedGracefully) {
  config_.pools[0].success_exit_codes = ExitCodeSet().set(0).set(143);
  Start();
  Signal(SIGTERM);
  Reap(101, KilledBy(SIGTERM));  // Died of the signal Vigil sent.
  Reap(100, ExitedWith(143));    // A success code.
  EXPECT_TRUE(sup().finished());
  EXPECT_EQ(sup().exit_code(), kPoolExitOk);
}

TEST_F(SupervisorTest, ExitStatusIs4WhenAWorkerHadToBeKilledAtItsDeadline) {
  Start();
  Signal(SIGTERM);
  scheduler_.AdvanceBy(10s);  // b ignored SIGTERM for its whole stop_timeout.
  EXPECT_THAT(GroupSignals(101), ElementsAre(SIGTERM, SIGKILL));
  Reap(101, KilledBy(SIGKILL));
  EXPECT_THAT(StopSignals(100), ElementsAre(SIGTERM));
  Reap(100, KilledBy(SIGTERM));
  EXPECT_TRUE(sup().finished());
  EXPECT_EQ(sup().exit_code(), kPoolExitKilledAtDeadline);
}

// Regression (issue 10, defect 13): a worker that ignored its stop signal for the whole grace
// period and then died of the fast signal at the deadline counted as graceful (exit 0).
TEST_F(SupervisorTest, AStragglerThatObeysTheFastSignalAtTheDeadlineIsStillAStraggler) {
  config_.drain.grace_period = 10s;
  config_.drain.safety_margin = 2s;
  config_.pools[1].stop_timeout = 60s;
  config_.pools[1].fast_stop_signal = SIGINT;
  Start();
  Signal(SIGTERM);
  EXPECT_THAT(GroupSignals(101), ElementsAre(SIGTERM));
  scheduler_.AdvanceBy(8s);  // the deadline: grace period - safety margin
  EXPECT_THAT(GroupSignals(101), ElementsAre(SIGTERM, SIGINT));
  Reap(101, KilledBy(SIGINT));  // obeys the fast signal at once
  ASSERT_TRUE(worker(1, 0).last_exit().has_value());
  EXPECT_TRUE(worker(1, 0).last_exit()->straggler);
  EXPECT_FALSE(worker(1, 0).last_exit()->graceful);
  Reap(100, KilledBy(SIGTERM));
  EXPECT_TRUE(sup().finished());
  EXPECT_EQ(sup().exit_code(), kPoolExitKilledAtDeadline);
}

TEST_F(SupervisorTest, AWorkerThatEndsBeforeTheDeadlineIsNoStraggler) {
  config_.drain.grace_period = 10s;
  config_.drain.safety_margin = 2s;
  Start();
  Signal(SIGTERM);
  scheduler_.AdvanceBy(7s);
  Reap(101, KilledBy(SIGTERM));
  Reap(100, ExitedWith(0));
  EXPECT_FALSE(worker(1, 0).last_exit()->straggler);
  EXPECT_EQ(sup().exit_code(), kPoolExitOk);
}

TEST_F(SupervisorTest, ExitStatusIs5WhenAWorkerFailedAndWasNotRestarted) {
  config_.pools[0].restart = RestartPolicy::kNever;
  Start();
  Reap(100, ExitedWith(1));
  EXPECT_TRUE(pool(0).idle());
  EXPECT_FALSE(sup().finished());  // b still runs.
  Signal(SIGTERM);
  Reap(101, KilledBy(SIGTERM));
  EXPECT_TRUE(sup().finished());
  EXPECT_EQ(sup().exit_code(), kPoolExitWorkerFailed);
}

// Regression (issue 12): a worker that failed and was waiting to restart when the drain came
// counted as ended gracefully (it was "stopped while idle"), so a pool whose workers were all
// crashing exited 0 with "2/2 ended gracefully: exited(1) x2". Its last run was a failure: 5.
TEST_F(SupervisorTest, AWorkerWaitingToRestartAfterAFailureWhenTheDrainComesFailsTheExitStatus) {
  Start();
  Reap(101, ExitedWith(1));  // b's worker crashed and waits for its restart...
  Signal(SIGTERM);           // ...when the pod is stopped: it is not restarted, and had failed.
  EXPECT_TRUE(pool(1).idle());
  EXPECT_FALSE(worker(1, 0).ended_gracefully());
  Reap(100, KilledBy(SIGTERM));
  EXPECT_TRUE(sup().finished());
  EXPECT_EQ(sup().exit_code(), kPoolExitWorkerFailed);
}

// Waiting to restart after a success exit (restart: always) is no failure.
TEST_F(SupervisorTest, AWorkerWaitingToRestartAfterASuccessExitWhenTheDrainComesIsGraceful) {
  Start();
  Reap(101, ExitedWith(0));
  ASSERT_EQ(worker(1, 0).state(), WorkerState::kBackoff);
  Signal(SIGTERM);
  EXPECT_TRUE(worker(1, 0).ended_gracefully());
  Reap(100, KilledBy(SIGTERM));
  EXPECT_TRUE(sup().finished());
  EXPECT_EQ(sup().exit_code(), kPoolExitOk);
}

TEST_F(SupervisorTest, ANoRestartExitCodeEndsTheAgentOnceNothingRunsWith5) {
  config_.pools.pop_back();
  config_.pools[0].no_restart_exit_codes = ExitCodeSet().set(4);
  Start();
  Reap(100, ExitedWith(4));
  EXPECT_TRUE(sup().finished());
  EXPECT_EQ(sup().exit_code(), kPoolExitWorkerFailed);
}

TEST_F(SupervisorTest, TheAgentEndsWith0WhenEveryWorkerEndedForGoodWithSuccess) {
  config_.pools.pop_back();
  config_.pools[0].restart = RestartPolicy::kOnFailure;
  config_.pools[0].replicas = 2;
  Start();
  Reap(100, ExitedWith(0));
  EXPECT_FALSE(sup().finished());
  Reap(101, ExitedWith(0));
  EXPECT_TRUE(sup().finished());
  EXPECT_EQ(sup().exit_code(), kPoolExitOk);
}

TEST_F(SupervisorTest, ACrashLoopWinsOverKilledWorkersForTheExitStatus) {
  config_.pools[0].crash_loop.max_restarts = 0;
  Start();
  Reap(100, ExitedWith(1));
  scheduler_.AdvanceBy(10s);
  Reap(101, KilledBy(SIGKILL));
  EXPECT_TRUE(sup().finished());
  EXPECT_EQ(sup().exit_code(), kPoolExitCrashLoop);
}

// ---------------------------------------------------------------------------------------------
// MAINPID
// ---------------------------------------------------------------------------------------------

// Regression test for a fixed bug: MAINPID= is taken on trust (Pool::HandleDatagram): any pid
// becomes the slot's main pid, is added to the pool's pid routing and gets the slot's signals. A
// worker that names a process of another pool (a wrong value, a pid file that went stale) steals
// that worker's exit: the Supervisor offers reaped pids to pools in file order, pool a claims pool
// b's pid, and pool b never learns its worker died (it is never restarted, and a drain waits for it
// forever), while pool a declares its own worker exited although pid 100 still runs. MAINPID=1
// likewise makes the run "live as long as PID 1". Fix: accept MAINPID only for a descendant of the
// worker (ListDescendants, or the process group/session), never a pid another slot owns.
TEST_F(SupervisorTest, AMainPidNamingAnotherPoolsWorkerDoesNotStealItsExit) {
  Start();
  os_.process_groups[101] = 101;
  Send("a", 0, "MAINPID=101", 100);
  Reap(101, ExitedWith(1));
  EXPECT_EQ(worker(1, 0).state(), WorkerState::kBackoff) << "pool b never saw its worker exit";
}

// ---------------------------------------------------------------------------------------------
// Recycling through the agent: one worker at a time
// ---------------------------------------------------------------------------------------------

TEST_F(SupervisorTest, RecyclingReplacesOneWorkerAtATimeWhileTheAgentStaysReady) {
  config_.pools.pop_back();
  PoolConfig& p = config_.pools[0];
  p.replicas = 2;
  p.min_ready = 1;
  p.readiness.mode = ReadinessMode::kNotify;
  p.max_lifetime = 1h;
  Start();
  Send("a", 0, "READY=1", 100);
  Send("a", 1, "READY=1", 101);
  ASSERT_TRUE(sup().ready());
  scheduler_.AdvanceBy(1h);
  EXPECT_THAT(StopSignals(100), ElementsAre(SIGTERM));
  EXPECT_THAT(StopSignals(101), IsEmpty());
  EXPECT_TRUE(sup().ready());
  Reap(100, KilledBy(SIGTERM));
  EXPECT_THAT(StopSignals(101), IsEmpty());
  Send("a", 0, "READY=1", 102);
  EXPECT_THAT(StopSignals(101), ElementsAre(SIGTERM));
  Reap(101, KilledBy(SIGTERM));
  Send("a", 1, "READY=1", 103);
  EXPECT_TRUE(sup().ready());
  EXPECT_EQ(worker(0, 0).last_exit()->reason, ExitReason::kRecycled);
  EXPECT_EQ(worker(0, 1).last_exit()->reason, ExitReason::kRecycled);
  EXPECT_FALSE(sup().finished());
}

// ---------------------------------------------------------------------------------------------
// The drain carried out: DrainMachine's actions through the real pools (lifecycle_drain_test.cc
// has the machine alone)
// ---------------------------------------------------------------------------------------------

TEST_F(SupervisorTest, StopHooksRunOnceEveryWorkerIsGoneLastRegisteredFirst) {
  config_.hooks = {{"flush", {"flush-cmd"}, 10s}, {"upload", {"upload-cmd"}, 10s}};
  Start();
  Signal(SIGTERM);
  Reap(101, KilledBy(SIGTERM));
  EXPECT_EQ(os_.spawn_requests.size(), 2u);  // Pool a still runs: no hook yet.
  Reap(100, KilledBy(SIGTERM));
  ASSERT_EQ(os_.spawn_requests.size(), 3u);
  EXPECT_THAT(os_.spawn_requests[2].argv, ElementsAre("upload-cmd"));
  EXPECT_THAT(*os_.spawn_requests[2].env, ::testing::Contains("VIGIL_HOOK=upload"));
  EXPECT_THAT(*os_.spawn_requests[2].env, ::testing::Contains("VIGIL_DRAIN_TRIGGER=signal"));
  EXPECT_EQ(sup().drain_step(), DrainStep::kRunningHooks);
  Reap(102, ExitedWith(0));
  ASSERT_EQ(os_.spawn_requests.size(), 4u);
  EXPECT_THAT(os_.spawn_requests[3].argv, ElementsAre("flush-cmd"));
  EXPECT_FALSE(sup().finished());
  Reap(103, ExitedWith(0));
  EXPECT_EQ(sup().drain_step(), DrainStep::kComplete);
  EXPECT_TRUE(sup().finished());
  EXPECT_EQ(sup().exit_code(), kPoolExitOk);
  EXPECT_EQ(scheduler_.pending(), 0u);  // Deadline and hook timers gone.
}

TEST_F(SupervisorTest, HooksThatCannotBeSpawnedCompleteTheDrainInTheSameStep) {
  config_.hooks = {{"flush", {"flush-cmd"}, 10s}, {"upload", {"upload-cmd"}, 10s}};
  Start();
  os_.ScriptSpawnExecFailure(ENOENT);
  os_.ScriptSpawnExecFailure(ENOENT);
  Signal(SIGTERM);
  Reap(101, KilledBy(SIGTERM));
  Reap(100, KilledBy(SIGTERM));
  EXPECT_EQ(os_.spawn_requests.size(), 4u);
  EXPECT_TRUE(sup().finished());
  EXPECT_EQ(sup().exit_code(), kPoolExitOk);
  EXPECT_EQ((sup().counters().hooks.at({"upload", static_cast<int>(HookResult::kSpawnFailed)})),
            1u);
}

TEST_F(SupervisorTest, APoolWithNoWorkerLeftWhenItsTurnComesIsPassedAtOnce) {
  config_.pools.push_back(MakePool("c"));
  Start();
  ASSERT_EQ(sup().Scale("b", 0).code, 0);
  Reap(101, KilledBy(SIGTERM));
  ASSERT_TRUE(pool(1).idle());
  Signal(SIGTERM);
  EXPECT_THAT(StopSignals(102), ElementsAre(SIGTERM));
  EXPECT_THAT(StopSignals(100), IsEmpty());
  Reap(102, KilledBy(SIGTERM));
  EXPECT_THAT(StopSignals(100), ElementsAre(SIGTERM));  // b had nothing to stop.
  Reap(100, KilledBy(SIGTERM));
  EXPECT_TRUE(sup().finished());
}

TEST_F(SupervisorTest, NoWorkerRunningSkipsThePropagationDelay) {
  config_.drain.propagation_delay = 5s;
  Start();
  ASSERT_EQ(sup().Scale("a", 0).code, 0);
  ASSERT_EQ(sup().Scale("b", 0).code, 0);
  Reap(100, KilledBy(SIGTERM));
  Reap(101, KilledBy(SIGTERM));
  ASSERT_FALSE(sup().finished());  // Scaled to zero: a standby, not an end.
  Signal(SIGTERM);
  EXPECT_TRUE(sup().finished());
  EXPECT_EQ(scheduler_.pending(), 0u);
}

TEST_F(SupervisorTest, APropagationDelayHoldsTheFirstStopSignal) {
  config_.drain.propagation_delay = 5s;
  Start();
  Signal(SIGTERM);
  EXPECT_FALSE(sup().ready());
  EXPECT_EQ(sup().drain_step(), DrainStep::kPropagating);
  scheduler_.AdvanceBy(4999ms);
  EXPECT_THAT(StopSignals(101), IsEmpty());
  scheduler_.AdvanceBy(1ms);
  EXPECT_THAT(StopSignals(101), ElementsAre(SIGTERM));
  EXPECT_EQ(sup().drain_step(), DrainStep::kStoppingPools);
}

// ---------------------------------------------------------------------------------------------
// propagation_delay: auto (the traffic watch)
// ---------------------------------------------------------------------------------------------

class AutoPropagationTest : public SupervisorTest {
 protected:
  AutoPropagationTest() {
    config_.drain.propagation_auto = true;
    tcp_.listening[101] = {8000};  // b's worker listens on 8000; a's on nothing.
  }
  // A new connection to `port` every 100ms for `d`.
  void Traffic(int port, Duration d) {
    for (Duration t = Duration::zero(); t < d; t += 100ms) {
      tcp_.Connect(port);
      scheduler_.AdvanceBy(100ms);
    }
  }
};

TEST_F(AutoPropagationTest, NothingIsSampledUntilADrain) {
  Start();
  scheduler_.AdvanceBy(1h);
  EXPECT_EQ(tcp_.listening_calls, 0);
  EXPECT_EQ(tcp_.connection_calls, 0);
}

TEST_F(AutoPropagationTest, TheFirstStopSignalWaitsUntilTheWorkersPortsAreQuiet) {
  LogCapture log;
  Start();
  Signal(SIGTERM);
  EXPECT_EQ(sup().drain_step(), DrainStep::kPropagating);
  EXPECT_THAT(tcp_.asked_ports, ElementsAre(8000));
  Traffic(8000, 2s);  // The load balancers still send for 2s.
  EXPECT_THAT(StopSignals(101), IsEmpty());
  EXPECT_THAT(StopSignals(100), IsEmpty());
  Traffic(9000, 1s);  // Another port: not the workers'. 8000 has been quiet for 1s.
  EXPECT_THAT(StopSignals(101), ElementsAre(SIGTERM));
  EXPECT_EQ(sup().drain_step(), DrainStep::kStoppingPools);
}

TEST_F(AutoPropagationTest, QuietEndsItAndSaysSoInTheLogAndCounters) {
  LogCapture log;
  Start();
  Signal(SIGTERM);
  Traffic(8000, 1500ms);
  scheduler_.AdvanceBy(900ms);
  EXPECT_THAT(StopSignals(101), IsEmpty());
  scheduler_.AdvanceBy(100ms);
  EXPECT_THAT(StopSignals(101), ElementsAre(SIGTERM));
  EXPECT_THAT(log.text(), ::testing::HasSubstr("propagation delay over"));
  EXPECT_THAT(log.text(), ::testing::HasSubstr("reason=quiet"));
  EXPECT_THAT(log.text(), ::testing::HasSubstr("connections=15"));
  EXPECT_THAT(log.text(), ::testing::HasSubstr("ports=8000"));
  const AgentCounters& c = sup().counters();
  EXPECT_EQ(c.propagation_ends[static_cast<int>(PropagationEnd::kQuiet)], 1u);
  EXPECT_EQ(c.propagation_connections, 15u);
  EXPECT_EQ(c.propagation_seconds.count(), 1u);
  EXPECT_NEAR(c.propagation_seconds.sum(), 2.45, 1e-9);  // Seen at +1.45s, then 1s quiet.
  const int calls = tcp_.connection_calls;
  scheduler_.AdvanceBy(10s);
  EXPECT_EQ(tcp_.connection_calls, calls);  // The watch stopped with the delay.
}

TEST_F(AutoPropagationTest, TrafficThatNeverStopsEndsAtMaxDelay) {
  LogCapture log;
  Start();
  Signal(SIGTERM);
  Traffic(8000, 9900ms);
  EXPECT_THAT(StopSignals(101), IsEmpty());
  Traffic(8000, 100ms);
  EXPECT_THAT(StopSignals(101), ElementsAre(SIGTERM));
  EXPECT_THAT(log.text(), ::testing::HasSubstr("reason=max_delay"));
  EXPECT_EQ(sup().counters().propagation_ends[static_cast<int>(PropagationEnd::kMaxDelay)], 1u);
}

TEST_F(AutoPropagationTest, ListedPortsAreWatchedWithoutAskingWhatTheWorkersListenOn) {
  config_.pools[1].ports = {9000};
  Start();
  Signal(SIGTERM);
  EXPECT_THAT(tcp_.asked_ports, ElementsAre(9000));
  Traffic(8000, 2s);  // Not listed: not watched.
  EXPECT_THAT(StopSignals(101), ElementsAre(SIGTERM));
}

// Regression: with no listener and no min_delay, the end came from a zero-delay timer, one loop
// turn later, and a worker that exited in between (one that had asked for the pod to stop) was
// restarted (integration test_pool_restarts::test_stop_request*).
TEST_F(AutoPropagationTest, NoListenerAndNoMinDelayStopsInTheSameEvent) {
  tcp_.listening.clear();
  Start();
  Signal(SIGTERM);
  EXPECT_THAT(StopSignals(101), ElementsAre(SIGTERM));
  EXPECT_EQ(sup().drain_step(), DrainStep::kStoppingPools);
}

TEST_F(AutoPropagationTest, NoListenerStopsAtMinDelay) {
  LogCapture log;
  tcp_.listening.clear();
  config_.drain.min_delay = 2s;
  Start();
  Signal(SIGTERM);
  scheduler_.AdvanceBy(1999ms);
  EXPECT_THAT(StopSignals(101), IsEmpty());
  scheduler_.AdvanceBy(1ms);
  EXPECT_THAT(StopSignals(101), ElementsAre(SIGTERM));
  EXPECT_THAT(log.text(), ::testing::HasSubstr("reason=no_listener"));
}

TEST_F(AutoPropagationTest, UnreadablePortsWaitForMaxDelayAndWarn) {
  LogCapture log;
  tcp_.listening_error = Status::Error("permission denied");
  Start();
  Signal(SIGTERM);
  EXPECT_THAT(log.text(), ::testing::HasSubstr("cannot watch the workers' ports"));
  scheduler_.AdvanceBy(9999ms);
  EXPECT_THAT(StopSignals(101), IsEmpty());
  scheduler_.AdvanceBy(1ms);
  EXPECT_THAT(StopSignals(101), ElementsAre(SIGTERM));
}

TEST_F(AutoPropagationTest, AFastStopCutsItShort) {
  LogCapture log;
  Start();
  Signal(SIGTERM);
  Traffic(8000, 500ms);
  Signal(SIGINT);
  EXPECT_THAT(StopSignals(101), ElementsAre(SIGINT));
  EXPECT_THAT(log.text(), ::testing::HasSubstr("reason=cut_short"));
  const int calls = tcp_.connection_calls;
  scheduler_.AdvanceBy(2s);
  EXPECT_EQ(tcp_.connection_calls, calls);
}

TEST_F(AutoPropagationTest, NoWorkerRunningCutsItShort) {
  LogCapture log;
  config_.pools[1].ports = {8000};  // Listed: watched even with no worker running.
  Start();
  ASSERT_EQ(sup().Scale("a", 0).code, 0);
  ASSERT_EQ(sup().Scale("b", 0).code, 0);
  Reap(100, KilledBy(SIGTERM));
  Reap(101, KilledBy(SIGTERM));
  Signal(SIGTERM);
  EXPECT_TRUE(sup().finished());
  EXPECT_EQ(scheduler_.pending(), 0u);
  EXPECT_THAT(log.text(), ::testing::HasSubstr("reason=cut_short"));
  EXPECT_EQ(sup().counters().propagation_ends[static_cast<int>(PropagationEnd::kCutShort)], 1u);
}

}  // namespace
}  // namespace vigil
