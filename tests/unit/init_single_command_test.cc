// SingleCommand (tini/dumb-init mode) against FakeOs, FakeScheduler and FakeClock: every
// decision it makes, with time moved by hand.
#include "agent/init/single_command.h"

#include <signal.h>
#include <sys/wait.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "agent/signal/signals.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/fake_os.h"
#include "tests/fakes/fake_scheduler.h"

namespace vigil {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::vigil::testing::FakeClock;
using ::vigil::testing::FakeOs;
using ::vigil::testing::FakeScheduler;
using ::vigil::testing::SignalCall;
using ::vigil::testing::ToAll;
using ::vigil::testing::ToGroup;
using ::vigil::testing::ToPid;
using ::vigil::testing::ToPidfd;

constexpr pid_t kVigil = 4242;  // FakeOs's default pid and process group.
constexpr pid_t kMain = 100;
constexpr pid_t kOrphan = 300;
constexpr pid_t kShell = 999;

// Wait statuses, encoded as waitpid() reports them.
constexpr int Exited(int code) {
  return W_EXITCODE(code, 0);
}
constexpr int Killed(int signo) {
  return W_EXITCODE(0, signo);
}
constexpr int Stopped(int signo) {
  return W_STOPCODE(signo);
}

class SingleCommandTest : public ::testing::Test {
 protected:
  SingleCommandTest() {
    options_.command = {"app", "--serve", "x y"};
    options_.kill_grace = 5s;
    options_.kill_wait = 2s;
  }

  // Creates the SingleCommand with the current options_ and starts it; the spawn succeeds as
  // kMain unless the test scripted another outcome first.
  Status Start() {
    cmd_ = std::make_unique<SingleCommand>(os_, scheduler_, clock_, options_);
    return cmd_->Start();
  }
  void StartOk(bool with_pidfd = true) {
    os_.ScriptSpawnSuccess(kMain, with_pidfd);
    Status s = Start();
    ASSERT_TRUE(s.ok()) << s.message();
    pidfd_ = os_.pidfd_of_last_spawn;
    os_.actions.clear();
  }

  void Signal(int signo, pid_t sender = kShell) {
    cmd_->OnSignal(ReceivedSignal{signo, sender, SI_USER});
  }
  void Sigchld() { cmd_->OnSignal(ReceivedSignal{SIGCHLD, kMain, CLD_EXITED}); }

  // The main process exits (with `status`) while `stragglers` are still running.
  void MainExitsLeaving(std::vector<pid_t> stragglers, int status = Exited(0)) {
    os_.descendants = std::move(stragglers);
    os_.QueueReaped(kMain, status);
    os_.QueueNone();
    Sigchld();
  }

  FakeOs os_;
  FakeClock clock_;
  FakeScheduler scheduler_{clock_};
  SingleCommandOptions options_;
  std::unique_ptr<SingleCommand> cmd_;
  int pidfd_ = -1;
};

// ---------------------------------------------------------------------------------------------
// Start
// ---------------------------------------------------------------------------------------------

TEST_F(SingleCommandTest, StartSpawnsTheCommandWithItsArguments) {
  StartOk();
  ASSERT_EQ(os_.spawn_requests.size(), 1u);
  EXPECT_THAT(os_.spawn_requests[0].argv, ElementsAre("app", "--serve", "x y"));
  EXPECT_FALSE(os_.spawn_requests[0].env.has_value());  // Inherits Vigil's environment.
  EXPECT_EQ(cmd_->main_pid(), kMain);
  EXPECT_FALSE(cmd_->finished());
  EXPECT_THAT(os_.signals, IsEmpty());
  EXPECT_EQ(scheduler_.pending(), 0u);
}

TEST_F(SingleCommandTest, StartDoesNotGiveTheTerminalAwayWhenVigilIsNotInTheForeground) {
  os_.foreground_of_terminal = false;
  StartOk();
  EXPECT_THAT(os_.is_foreground_queries, ElementsAre(0));
  EXPECT_EQ(os_.spawn_requests[0].foreground_tty_fd, -1);
}

TEST_F(SingleCommandTest, StartGivesTheTerminalToTheCommandWhenVigilIsInTheForeground) {
  os_.foreground_of_terminal = true;
  StartOk();
  EXPECT_THAT(os_.is_foreground_queries, ElementsAre(0));
  EXPECT_EQ(os_.spawn_requests[0].foreground_tty_fd, 0);
}

TEST_F(SingleCommandTest, CommandNotFoundFinishesAtOnceWith127) {
  for (int err : {ENOENT, ENOTDIR}) {
    os_.ScriptSpawnExecFailure(err);
    Status s = Start();
    EXPECT_FALSE(s.ok()) << err;
    EXPECT_THAT(s.message(), HasSubstr("exec"));
    EXPECT_TRUE(cmd_->finished());
    EXPECT_EQ(cmd_->exit_code(), 127) << err;
  }
}

TEST_F(SingleCommandTest, CommandNotExecutableFinishesAtOnceWith126) {
  for (int err : {EACCES, ENOEXEC, EISDIR, EPERM}) {
    os_.ScriptSpawnExecFailure(err);
    EXPECT_FALSE(Start().ok());
    EXPECT_TRUE(cmd_->finished());
    EXPECT_EQ(cmd_->exit_code(), 126) << err;
  }
}

TEST_F(SingleCommandTest, SpawnFailureBeforeExecFinishesWithInternalError) {
  os_.ScriptSpawnSetupFailure(Status::FromErrno("fork", EAGAIN));
  Status s = Start();
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("fork"));
  EXPECT_TRUE(cmd_->finished());
  EXPECT_EQ(cmd_->exit_code(), kExitInternal);
}

TEST_F(SingleCommandTest, NothingIsForwardedOrReapedAfterAFailedStart) {
  os_.ScriptSpawnExecFailure(ENOENT);
  EXPECT_FALSE(Start().ok());
  Signal(SIGTERM);
  Signal(SIGINT);
  EXPECT_THAT(os_.signals, IsEmpty());
  EXPECT_EQ(cmd_->exit_code(), 127);
  EXPECT_EQ(scheduler_.pending(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Forwarding
// ---------------------------------------------------------------------------------------------

TEST_F(SingleCommandTest, ForwardsThroughThePidfdByDefault) {
  StartOk();
  ASSERT_GE(pidfd_, 0);
  Signal(SIGTERM);
  EXPECT_THAT(os_.signals, ElementsAre(ToPidfd(pidfd_, SIGTERM)));
}

TEST_F(SingleCommandTest, ForwardsToThePidWhenTheKernelHasNoPidfds) {
  StartOk(/*with_pidfd=*/false);
  Signal(SIGHUP);
  EXPECT_THAT(os_.signals, ElementsAre(ToPid(kMain, SIGHUP)));
}

TEST_F(SingleCommandTest, ForwardsToTheProcessGroupWithSignalProcessGroup) {
  options_.signal_process_group = true;
  StartOk();
  Signal(SIGINT);
  EXPECT_THAT(os_.signals, ElementsAre(ToGroup(kMain, SIGINT)));
}

TEST_F(SingleCommandTest, ForwardsEveryCatchableSignalButSigchldUnchanged) {
  StartOk();
  const sigset_t core = CoreSignalSet();
  std::vector<SignalCall> expected;
  for (int signo = 1; signo <= SIGRTMAX; ++signo) {
    if (sigismember(&core, signo) != 1 || signo == SIGCHLD) continue;
    Signal(signo);
    expected.push_back(ToPidfd(pidfd_, signo));
  }
  EXPECT_EQ(os_.signals, expected);
  EXPECT_EQ(os_.wait_calls, 0);
}

TEST_F(SingleCommandTest, ForwardsTheRewrittenSignal) {
  ASSERT_TRUE(options_.rewrite.AddRule("TERM:QUIT").ok());
  ASSERT_TRUE(options_.rewrite.AddRule("USR1:RTMIN+2").ok());
  StartOk();
  Signal(SIGTERM);
  Signal(SIGUSR1);
  Signal(SIGHUP);
  EXPECT_THAT(os_.signals, ElementsAre(ToPidfd(pidfd_, SIGQUIT), ToPidfd(pidfd_, SIGRTMIN + 2),
                                       ToPidfd(pidfd_, SIGHUP)));
}

TEST_F(SingleCommandTest, RewriteAppliesToProcessGroupForwardingToo) {
  options_.signal_process_group = true;
  ASSERT_TRUE(options_.rewrite.AddRule("INT:TERM").ok());
  StartOk();
  Signal(SIGINT);
  EXPECT_THAT(os_.signals, ElementsAre(ToGroup(kMain, SIGTERM)));
}

TEST_F(SingleCommandTest, DropsASignalRewrittenToZero) {
  ASSERT_TRUE(options_.rewrite.AddRule("WINCH:0").ok());
  StartOk();
  Signal(SIGWINCH);
  EXPECT_THAT(os_.signals, IsEmpty());
  Signal(SIGTERM);
  EXPECT_THAT(os_.signals, ElementsAre(ToPidfd(pidfd_, SIGTERM)));
}

TEST_F(SingleCommandTest, SignalsSentByVigilItselfAreNotForwarded) {
  StartOk();
  Signal(SIGPIPE, /*sender=*/kVigil);
  Signal(SIGTERM, /*sender=*/kVigil);
  EXPECT_THAT(os_.signals, IsEmpty());
}

TEST_F(SingleCommandTest, SignalsFromTheKernelOrOutsideTheNamespaceAreForwarded) {
  StartOk();
  Signal(SIGTERM, /*sender=*/0);
  Signal(SIGHUP, /*sender=*/1);  // Vigil is not PID 1 here: pid 1 is someone else.
  EXPECT_THAT(os_.signals, ElementsAre(ToPidfd(pidfd_, SIGTERM), ToPidfd(pidfd_, SIGHUP)));
}

TEST_F(SingleCommandTest, AsPid1SignalsFromPid1AreOwnAndNotForwarded) {
  os_.pid = 1;
  StartOk();
  Signal(SIGPIPE, /*sender=*/1);
  EXPECT_THAT(os_.signals, IsEmpty());
  Signal(SIGTERM, /*sender=*/0);  // `docker stop`: from outside the namespace.
  EXPECT_THAT(os_.signals, ElementsAre(ToPidfd(pidfd_, SIGTERM)));
}

TEST_F(SingleCommandTest, ForwardingFailureChangesNothing) {
  StartOk();
  os_.signal_result = Status::FromErrno("pidfd_send_signal", ESRCH);  // Exited, not reaped.
  Signal(SIGTERM);
  os_.signal_result = Status::FromErrno("pidfd_send_signal", EPERM);
  Signal(SIGHUP);
  EXPECT_EQ(os_.signals.size(), 2u);
  EXPECT_FALSE(cmd_->finished());
  os_.signal_result = Status();
  Signal(SIGINT);
  EXPECT_EQ(os_.signals.back(), ToPidfd(pidfd_, SIGINT));
}

TEST_F(SingleCommandTest, SigchldIsNeverForwarded) {
  StartOk();
  Sigchld();
  Signal(SIGCHLD, /*sender=*/kShell);
  EXPECT_THAT(os_.signals, IsEmpty());
}

// ---------------------------------------------------------------------------------------------
// Reaping and the exit code
// ---------------------------------------------------------------------------------------------

TEST_F(SingleCommandTest, SigchldReapsUntilNothingIsLeftToReap) {
  StartOk();
  os_.QueueReaped(kOrphan, Exited(0));
  os_.QueueNone();
  Sigchld();
  EXPECT_EQ(os_.wait_calls, 2);
  EXPECT_FALSE(cmd_->finished());
}

// An orphaned tree of thousands exiting at once was reaped in one callback, the loop serving
// nothing meanwhile: now a slice of the turn at a time, signals forwarded in between.
TEST_F(SingleCommandTest, ABurstOfExitsIsReapedASliceOfATurnAtATimeAndSignalsGoInBetween) {
  StartOk();
  for (pid_t pid = 1000; pid < 2000; ++pid)
    os_.QueueReaped(pid, Exited(0));
  os_.QueueNone();
  clock_.SetTick(1ms);  // each reap takes a while
  Sigchld();
  const int first = os_.wait_calls;
  EXPECT_GE(first, 32);
  EXPECT_LT(first, 1000);
  Signal(SIGTERM);  // served between two slices
  EXPECT_THAT(os_.signals, ElementsAre(ToPidfd(pidfd_, SIGTERM)));
  int turns = 1;
  while (os_.wait_script_left() > 0 && scheduler_.RunOneDue())
    ++turns;
  clock_.SetTick(0ms);
  EXPECT_EQ(os_.wait_script_left(), 0u);
  EXPECT_GT(turns, 1);
  EXPECT_FALSE(cmd_->finished());
}

// CMD's exit in the middle of a burst is judged once the burst is reaped: no stragglers are
// signalled for zombies that were only waiting their turn.
TEST_F(SingleCommandTest, CmdExitingInABurstFinishesOnceTheBurstIsReaped) {
  StartOk();
  os_.QueueReaped(kMain, Exited(3));
  for (pid_t pid = 1000; pid < 1200; ++pid)
    os_.QueueReaped(pid, Exited(0));
  os_.QueueNoChildren();
  clock_.SetTick(1ms);
  Sigchld();
  EXPECT_FALSE(cmd_->finished());
  while (!cmd_->finished() && scheduler_.RunOneDue()) {
  }
  clock_.SetTick(0ms);
  EXPECT_TRUE(cmd_->finished());
  EXPECT_EQ(cmd_->exit_code(), 3);
  EXPECT_THAT(os_.signals, IsEmpty());
}

TEST_F(SingleCommandTest, SigchldFromAnySenderReaps) {
  StartOk();
  os_.QueueReaped(kOrphan, Exited(0));
  os_.QueueNone();
  Signal(SIGCHLD, /*sender=*/kVigil);  // Even "from ourselves": SIGCHLD only means "reap".
  EXPECT_EQ(os_.wait_script_left(), 0u);
}

TEST_F(SingleCommandTest, OnChildEventReapsWithoutASignal) {
  StartOk();
  os_.QueueReaped(kMain, Exited(4));
  os_.QueueNoChildren();
  cmd_->OnChildEvent();
  EXPECT_TRUE(cmd_->finished());
  EXPECT_EQ(cmd_->exit_code(), 4);
}

TEST_F(SingleCommandTest, MainExitWithNoOtherChildrenFinishesWithItsExitCode) {
  StartOk();
  os_.QueueReaped(kMain, Exited(3));
  os_.QueueNoChildren();
  Sigchld();
  EXPECT_TRUE(cmd_->finished());
  EXPECT_EQ(cmd_->exit_code(), 3);
  EXPECT_THAT(os_.signals, IsEmpty());
  EXPECT_EQ(scheduler_.pending(), 0u);
}

TEST_F(SingleCommandTest, MainExitZeroFinishesWithZero) {
  StartOk();
  os_.QueueReaped(kMain, Exited(0));
  os_.QueueNoChildren();
  Sigchld();
  EXPECT_TRUE(cmd_->finished());
  EXPECT_EQ(cmd_->exit_code(), 0);
}

TEST_F(SingleCommandTest, MainKilledBySignalFinishesWith128PlusTheSignal) {
  StartOk();
  os_.QueueReaped(kMain, Killed(SIGTERM));
  os_.QueueNoChildren();
  Sigchld();
  EXPECT_TRUE(cmd_->finished());
  EXPECT_EQ(cmd_->exit_code(), 143);
}

TEST_F(SingleCommandTest, SuccessCodesAreReportedAsZero) {
  options_.success_codes.set(3);
  options_.success_codes.set(143);
  StartOk();
  os_.QueueReaped(kMain, Exited(3));
  os_.QueueNoChildren();
  Sigchld();
  EXPECT_EQ(cmd_->exit_code(), 0);

  StartOk();
  os_.QueueReaped(kMain, Killed(SIGTERM));
  os_.QueueNoChildren();
  Sigchld();
  EXPECT_EQ(cmd_->exit_code(), 0);

  StartOk();
  os_.QueueReaped(kMain, Exited(4));
  os_.QueueNoChildren();
  Sigchld();
  EXPECT_EQ(cmd_->exit_code(), 4);
}

TEST_F(SingleCommandTest, OrphanReapsDoNotChangeTheExitCode) {
  StartOk();
  os_.QueueReaped(kOrphan, Exited(9));
  os_.QueueReaped(kOrphan + 1, Killed(SIGKILL));
  os_.QueueNone();
  Sigchld();
  EXPECT_FALSE(cmd_->finished());
  os_.QueueReaped(kMain, Exited(0));
  os_.QueueReaped(kOrphan + 2, Exited(7));  // Reaped after the main process, same batch.
  os_.QueueNoChildren();
  Sigchld();
  EXPECT_TRUE(cmd_->finished());
  EXPECT_EQ(cmd_->exit_code(), 0);
}

TEST_F(SingleCommandTest, SeveralExitsBehindOneSigchldAreAllReaped) {
  StartOk();
  // SIGCHLD coalesces: one signal, many exits, the main one in the middle.
  os_.QueueReaped(kOrphan, Exited(1));
  os_.QueueReaped(kMain, Exited(5));
  os_.QueueReaped(kOrphan + 1, Exited(2));
  os_.QueueReaped(kOrphan + 2, Killed(SIGTERM));
  os_.QueueNoChildren();
  Sigchld();
  EXPECT_EQ(os_.wait_script_left(), 0u);
  EXPECT_EQ(os_.wait_calls, 5);
  EXPECT_TRUE(cmd_->finished());
  EXPECT_EQ(cmd_->exit_code(), 5);
  EXPECT_THAT(os_.signals, IsEmpty());  // Nobody was left to stop.
}

TEST_F(SingleCommandTest, WaitErrorStopsThisDrainAndTheNextSigchldCarriesOn) {
  StartOk();
  os_.QueueWaitError(Status::FromErrno("waitpid", EINVAL));
  os_.QueueReaped(kMain, Exited(6));
  os_.QueueNoChildren();
  Sigchld();
  EXPECT_FALSE(cmd_->finished());
  EXPECT_EQ(os_.wait_calls, 1);
  Sigchld();
  EXPECT_TRUE(cmd_->finished());
  EXPECT_EQ(cmd_->exit_code(), 6);
}

TEST_F(SingleCommandTest, ExitOfAnotherChildIsNotTakenForTheMainExit) {
  StartOk();
  os_.QueueReaped(kOrphan, Exited(1));
  os_.QueueNoChildren();  // Cannot really happen with main alive; must still not finish.
  Sigchld();
  EXPECT_FALSE(cmd_->finished());
  Signal(SIGTERM);
  EXPECT_THAT(os_.signals, ElementsAre(ToPidfd(pidfd_, SIGTERM)));
}

// ---------------------------------------------------------------------------------------------
// Processes left behind (not PID 1: a subreaper signalling its own descendants)
// ---------------------------------------------------------------------------------------------

TEST_F(SingleCommandTest, StragglersGetSigtermAndSigcontEach) {
  StartOk();
  MainExitsLeaving({200, 201});
  EXPECT_THAT(os_.signals, ElementsAre(ToPid(200, SIGTERM), ToPid(201, SIGTERM),
                                       ToPid(200, SIGCONT), ToPid(201, SIGCONT)));
  EXPECT_FALSE(cmd_->finished());
  EXPECT_EQ(cmd_->exit_code(), 0);
  EXPECT_EQ(scheduler_.pending(), 1u);
}

TEST_F(SingleCommandTest, StragglersGetSigkillExactlyAtKillGrace) {
  StartOk();
  MainExitsLeaving({200, 201});
  os_.signals.clear();
  scheduler_.AdvanceBy(5s - 1ns);
  EXPECT_EQ(os_.CountSignal(SIGKILL), 0);
  scheduler_.AdvanceBy(1ns);
  EXPECT_THAT(os_.signals, ElementsAre(ToPid(200, SIGKILL), ToPid(201, SIGKILL)));
  EXPECT_FALSE(cmd_->finished());
}

TEST_F(SingleCommandTest, SigkillGoesToTheDescendantsLeftAtThatTime) {
  StartOk();
  MainExitsLeaving({200, 201, 202});
  os_.signals.clear();
  os_.descendants = {202, 203};  // 200 and 201 exited (not reaped yet), 202 forked 203.
  scheduler_.AdvanceBy(5s);
  EXPECT_THAT(os_.signals, ElementsAre(ToPid(202, SIGKILL), ToPid(203, SIGKILL)));
}

TEST_F(SingleCommandTest, FinishesWhenTheLastStragglerIsReapedAndNeverSendsSigkill) {
  StartOk();
  MainExitsLeaving({200, 201}, Exited(3));
  scheduler_.AdvanceBy(2s);
  os_.QueueReaped(200, Killed(SIGTERM));
  os_.QueueNone();
  Sigchld();
  EXPECT_FALSE(cmd_->finished());
  os_.QueueReaped(201, Exited(0));
  os_.QueueNoChildren();
  Sigchld();
  EXPECT_TRUE(cmd_->finished());
  EXPECT_EQ(cmd_->exit_code(), 3);  // The main process's code, not a straggler's.
  EXPECT_EQ(scheduler_.pending(), 0u);
  scheduler_.AdvanceBy(1h);
  EXPECT_EQ(os_.CountSignal(SIGKILL), 0);
}

TEST_F(SingleCommandTest, ReapingSomeStragglersDoesNotSignalAgain) {
  StartOk();
  MainExitsLeaving({200, 201});
  const size_t sent = os_.signals.size();
  os_.QueueReaped(200, Exited(0));
  os_.QueueNone();
  Sigchld();
  EXPECT_EQ(os_.signals.size(), sent);
  EXPECT_FALSE(cmd_->finished());
}

TEST_F(SingleCommandTest, FinishesWhenStragglersGoAfterSigkill) {
  StartOk();
  MainExitsLeaving({200}, Killed(SIGINT));
  scheduler_.AdvanceBy(5s);
  ASSERT_EQ(os_.CountSignal(SIGKILL), 1);
  os_.QueueReaped(200, Killed(SIGKILL));
  os_.QueueNoChildren();
  Sigchld();
  EXPECT_TRUE(cmd_->finished());
  EXPECT_EQ(cmd_->exit_code(), 130);
  EXPECT_EQ(scheduler_.pending(), 0u);
}

TEST_F(SingleCommandTest, KillWaitBoundFinishesEvenIfStragglersNeverGoAway) {
  StartOk();
  MainExitsLeaving({200}, Exited(7));  // 200 is stuck in D state: SIGKILL does not reap it.
  scheduler_.AdvanceBy(5s);
  ASSERT_EQ(os_.CountSignal(SIGKILL), 1);
  scheduler_.AdvanceBy(2s - 1ns);
  EXPECT_FALSE(cmd_->finished());
  scheduler_.AdvanceBy(1ns);
  EXPECT_TRUE(cmd_->finished());
  EXPECT_EQ(cmd_->exit_code(), 7);
  EXPECT_EQ(os_.CountSignal(SIGKILL), 1);  // Once, not repeated.
  EXPECT_EQ(scheduler_.pending(), 0u);
}

TEST_F(SingleCommandTest, KillGraceZeroSendsSigkillAtOnce) {
  options_.kill_grace = 0s;
  StartOk();
  MainExitsLeaving({200, 201});
  EXPECT_THAT(os_.signals, ElementsAre(ToPid(200, SIGKILL), ToPid(201, SIGKILL)));
  EXPECT_FALSE(cmd_->finished());
  scheduler_.AdvanceBy(2s - 1ns);
  EXPECT_FALSE(cmd_->finished());
  scheduler_.AdvanceBy(1ns);
  EXPECT_TRUE(cmd_->finished());
  EXPECT_EQ(os_.CountSignal(SIGTERM), 0);
}

TEST_F(SingleCommandTest, KillGraceZeroFinishesAsSoonAsStragglersAreReaped) {
  options_.kill_grace = 0s;
  StartOk();
  MainExitsLeaving({200}, Exited(1));
  os_.QueueReaped(200, Killed(SIGKILL));
  os_.QueueNoChildren();
  Sigchld();
  EXPECT_TRUE(cmd_->finished());
  EXPECT_EQ(cmd_->exit_code(), 1);
  EXPECT_EQ(scheduler_.pending(), 0u);
}

TEST_F(SingleCommandTest, SignalsAfterTheMainExitAreNotForwardedAndDoNotMoveTheDeadline) {
  StartOk();
  MainExitsLeaving({200});
  os_.signals.clear();
  scheduler_.AdvanceBy(1s);
  Signal(SIGTERM);  // A second `docker stop`.
  Signal(SIGINT);
  Signal(SIGCONT);
  EXPECT_THAT(os_.signals, IsEmpty());
  scheduler_.AdvanceBy(4s - 1ns);
  EXPECT_EQ(os_.CountSignal(SIGKILL), 0);
  scheduler_.AdvanceBy(1ns);
  EXPECT_THAT(os_.signals, ElementsAre(ToPid(200, SIGKILL)));
}

TEST_F(SingleCommandTest, SignalsAfterFinishingAreNotForwarded) {
  StartOk();
  os_.QueueReaped(kMain, Exited(0));
  os_.QueueNoChildren();
  Sigchld();
  ASSERT_TRUE(cmd_->finished());
  Signal(SIGTERM);
  EXPECT_THAT(os_.signals, IsEmpty());
}

TEST_F(SingleCommandTest, StragglerSignalFailuresAreTolerated) {
  StartOk();
  os_.signal_result = Status::FromErrno("kill 200", ESRCH);  // Exited meanwhile.
  MainExitsLeaving({200, 201});
  scheduler_.AdvanceBy(5s);
  EXPECT_EQ(os_.CountSignal(SIGKILL), 2);
  scheduler_.AdvanceBy(2s);
  EXPECT_TRUE(cmd_->finished());
}

TEST_F(SingleCommandTest, StragglersPhaseUsesTheConfiguredDurations) {
  options_.kill_grace = 30s;
  options_.kill_wait = 500ms;
  StartOk();
  MainExitsLeaving({200});
  scheduler_.AdvanceBy(30s - 1ns);
  EXPECT_EQ(os_.CountSignal(SIGKILL), 0);
  scheduler_.AdvanceBy(1ns);
  EXPECT_EQ(os_.CountSignal(SIGKILL), 1);
  scheduler_.AdvanceBy(500ms);
  EXPECT_TRUE(cmd_->finished());
}

// ---------------------------------------------------------------------------------------------
// Processes left behind as PID 1: kill(-1) reaches the whole namespace
// ---------------------------------------------------------------------------------------------

TEST_F(SingleCommandTest, AsPid1StragglersAreSignalledAllAtOnce) {
  os_.pid = 1;
  StartOk();
  MainExitsLeaving({200, 201});
  EXPECT_THAT(os_.signals, ElementsAre(ToAll(SIGTERM), ToAll(SIGCONT)));
  EXPECT_EQ(os_.list_descendants_calls, 0);
  scheduler_.AdvanceBy(5s - 1ns);
  EXPECT_EQ(os_.CountSignal(SIGKILL), 0);
  scheduler_.AdvanceBy(1ns);
  EXPECT_THAT(os_.signals, ElementsAre(ToAll(SIGTERM), ToAll(SIGCONT), ToAll(SIGKILL)));
  EXPECT_EQ(os_.list_descendants_calls, 0);
}

TEST_F(SingleCommandTest, AsPid1KillGraceZeroSendsSigkillToAllAtOnce) {
  os_.pid = 1;
  options_.kill_grace = 0s;
  StartOk();
  MainExitsLeaving({200});
  EXPECT_THAT(os_.signals, ElementsAre(ToAll(SIGKILL)));
  scheduler_.AdvanceBy(2s);
  EXPECT_TRUE(cmd_->finished());
}

TEST_F(SingleCommandTest, AsPid1FinishesWhenTheNamespaceIsEmpty) {
  os_.pid = 1;
  StartOk();
  MainExitsLeaving({200}, Exited(42));
  os_.QueueReaped(200, Killed(SIGTERM));
  os_.QueueNoChildren();
  Sigchld();
  EXPECT_TRUE(cmd_->finished());
  EXPECT_EQ(cmd_->exit_code(), 42);
  EXPECT_EQ(os_.CountSignal(SIGKILL), 0);
}

// ---------------------------------------------------------------------------------------------
// Terminal job control
// ---------------------------------------------------------------------------------------------

class SingleCommandJobControlTest : public SingleCommandTest {
 protected:
  void SetUp() override {
    os_.foreground_of_terminal = true;
    os_.process_group = kVigil;
  }
  void MainStops(int signo = SIGTSTP) {
    os_.QueueReaped(kMain, Stopped(signo));
    os_.QueueNone();
    Sigchld();
  }
};

TEST_F(SingleCommandJobControlTest, MainStoppedStopsVigilAfterTakingBackTheTerminal) {
  StartOk();
  MainStops();
  EXPECT_THAT(os_.actions, ElementsAre("SetForegroundGroup(0, 4242)", "StopSelf()"));
  EXPECT_FALSE(cmd_->finished());
  EXPECT_THAT(os_.signals, IsEmpty());  // A stop is not an exit: no stragglers phase.
  EXPECT_EQ(scheduler_.pending(), 0u);
}

TEST_F(SingleCommandJobControlTest, SigcontHandsTheTerminalBackAndContinuesTheGroup) {
  StartOk();
  MainStops();
  os_.actions.clear();
  Signal(SIGCONT);  // `fg` in the shell above.
  EXPECT_THAT(os_.actions, ElementsAre("SetForegroundGroup(0, 100)", "SignalGroup(100, SIGCONT)"));
  EXPECT_THAT(os_.signals, ElementsAre(ToGroup(kMain, SIGCONT)));
}

TEST_F(SingleCommandJobControlTest, OnlyTheFirstSigcontAfterAStopIsSpecial) {
  StartOk();
  MainStops();
  Signal(SIGCONT);
  os_.actions.clear();
  os_.signals.clear();
  Signal(SIGCONT);
  EXPECT_THAT(os_.signals, ElementsAre(ToPidfd(pidfd_, SIGCONT)));
  EXPECT_THAT(os_.actions, ElementsAre("SignalPidfd(" + std::to_string(pidfd_) + ", SIGCONT)"));
}

TEST_F(SingleCommandJobControlTest, SigcontWithoutAStopIsForwardedNormally) {
  StartOk();
  Signal(SIGCONT);
  EXPECT_THAT(os_.signals, ElementsAre(ToPidfd(pidfd_, SIGCONT)));
}

TEST_F(SingleCommandJobControlTest, EveryStopIsMirroredAgain) {
  StartOk();
  MainStops(SIGTSTP);
  Signal(SIGCONT);
  os_.actions.clear();
  MainStops(SIGTTIN);
  EXPECT_THAT(os_.actions, ElementsAre("SetForegroundGroup(0, 4242)", "StopSelf()"));
}

TEST_F(SingleCommandJobControlTest, OtherSignalsWhileStoppedAreForwarded) {
  StartOk();
  MainStops();
  os_.actions.clear();
  Signal(SIGTERM);
  EXPECT_THAT(os_.signals, ElementsAre(ToPidfd(pidfd_, SIGTERM)));
}

TEST_F(SingleCommandJobControlTest, MainExitAfterAStopFinishesNormally) {
  StartOk();
  MainStops();
  Signal(SIGCONT);
  os_.QueueReaped(kMain, Exited(0));
  os_.QueueNoChildren();
  Sigchld();
  EXPECT_TRUE(cmd_->finished());
  EXPECT_EQ(cmd_->exit_code(), 0);
}

TEST_F(SingleCommandJobControlTest, StopIsNotMirroredAsPid1) {
  os_.pid = 1;
  os_.process_group = 1;
  StartOk();
  MainStops();
  EXPECT_THAT(os_.actions, IsEmpty());
  Signal(SIGCONT, /*sender=*/0);
  EXPECT_THAT(os_.signals, ElementsAre(ToPidfd(pidfd_, SIGCONT)));  // Plain forwarding.
}

TEST_F(SingleCommandJobControlTest, StopIsNotMirroredWithoutTheTerminal) {
  os_.foreground_of_terminal = false;
  StartOk();
  MainStops();
  EXPECT_THAT(os_.actions, IsEmpty());
  Signal(SIGCONT);
  EXPECT_THAT(os_.signals, ElementsAre(ToPidfd(pidfd_, SIGCONT)));
}

TEST_F(SingleCommandJobControlTest, StopOfAnotherChildIsNotMirrored) {
  StartOk();
  os_.QueueReaped(kOrphan, Stopped(SIGTSTP));
  os_.QueueNone();
  Sigchld();
  EXPECT_THAT(os_.actions, IsEmpty());
  EXPECT_FALSE(cmd_->finished());
}

TEST_F(SingleCommandJobControlTest, ForegroundIsDecidedAtStartNotLater) {
  StartOk();
  os_.foreground_of_terminal = false;  // Irrelevant after Start: CMD was given the terminal.
  MainStops();
  EXPECT_THAT(os_.actions, ElementsAre("SetForegroundGroup(0, 4242)", "StopSelf()"));
}

TEST_F(SingleCommandJobControlTest, JobControlFailuresAreTolerated) {
  os_.set_foreground_result = Status::FromErrno("tcsetpgrp", ENOTTY);
  os_.stop_self_result = Status::FromErrno("kill(self, SIGSTOP)", EPERM);
  StartOk();
  MainStops();
  Signal(SIGCONT);
  EXPECT_THAT(os_.signals, ElementsAre(ToGroup(kMain, SIGCONT)));
  EXPECT_FALSE(cmd_->finished());
}

// Regression test for a fixed bug: on the SIGCONT that follows a mirrored stop, SingleCommand
// always calls SetForegroundGroup(0, main pid), without checking that Vigil was continued in the
// foreground. After `bg` (the shell continues the job but keeps the terminal), Vigil still makes
// CMD the terminal's foreground group, stealing the terminal from the interactive shell. It should
// hand the terminal over only when os.IsForegroundOfTerminal(0) holds again (`fg`), and in both
// cases continue CMD's group.
TEST_F(SingleCommandJobControlTest, SigcontAfterBgDoesNotStealTheTerminal) {
  StartOk();
  MainStops();
  os_.actions.clear();
  os_.foreground_of_terminal = false;  // `bg`: the shell kept the terminal.
  Signal(SIGCONT);
  EXPECT_THAT(os_.actions, ElementsAre("SignalGroup(100, SIGCONT)"));
}

// ---------------------------------------------------------------------------------------------
// tini's and dumb-init's behaviours (set by compat_cli for those command lines)
// ---------------------------------------------------------------------------------------------

TEST_F(SingleCommandTest, ExitNowFinishesWhenTheMainExitsWithoutTouchingTheOthers) {
  options_.after_main_exit = SingleCommandOptions::AfterMainExit::kExitNow;
  StartOk();
  MainExitsLeaving({200, 201}, Exited(7));
  EXPECT_TRUE(cmd_->finished());
  EXPECT_EQ(cmd_->exit_code(), 7);
  EXPECT_THAT(os_.signals, IsEmpty());
  EXPECT_EQ(scheduler_.pending(), 0u);
}

TEST_F(SingleCommandTest, TermGroupThenExitSignalsTheMainGroupOnceAndFinishes) {
  options_.after_main_exit = SingleCommandOptions::AfterMainExit::kTermGroupThenExit;
  StartOk();
  MainExitsLeaving({200}, Killed(SIGKILL));
  EXPECT_THAT(os_.signals, ElementsAre(ToGroup(kMain, SIGTERM)));
  EXPECT_TRUE(cmd_->finished());
  EXPECT_EQ(cmd_->exit_code(), 128 + SIGKILL);
  EXPECT_EQ(scheduler_.pending(), 0u);
}

TEST_F(SingleCommandTest, TermGroupThenExitSendsTheRewrittenSigtermOrNothing) {
  options_.after_main_exit = SingleCommandOptions::AfterMainExit::kTermGroupThenExit;
  options_.rewrite.Set(SIGTERM, SIGQUIT);
  StartOk();
  MainExitsLeaving({200});
  EXPECT_THAT(os_.signals, ElementsAre(ToGroup(kMain, SIGQUIT)));

  options_.rewrite.Set(SIGTERM, 0);
  StartOk();
  os_.signals.clear();
  MainExitsLeaving({200});
  EXPECT_THAT(os_.signals, IsEmpty());
  EXPECT_TRUE(cmd_->finished());
}

TEST_F(SingleCommandTest, TermGroupThenExitSignalsTheGroupEvenWhenNoChildIsLeft) {
  // The group's other members need not be Vigil's children (a daemon that reparented away).
  options_.after_main_exit = SingleCommandOptions::AfterMainExit::kTermGroupThenExit;
  StartOk();
  os_.QueueReaped(kMain, Exited(0));
  os_.QueueNoChildren();
  Sigchld();
  EXPECT_THAT(os_.signals, ElementsAre(ToGroup(kMain, SIGTERM)));
  EXPECT_TRUE(cmd_->finished());
}

TEST_F(SingleCommandTest, NewSessionAsksForASessionAndTheTerminalNotTheForeground) {
  options_.new_session = true;
  os_.foreground_of_terminal = true;
  StartOk();
  const SpawnRequest& request = os_.spawn_requests.at(0);
  EXPECT_TRUE(request.new_session);
  EXPECT_EQ(request.controlling_tty_fd, 0);
  EXPECT_EQ(request.foreground_tty_fd, -1);
  EXPECT_THAT(os_.is_foreground_queries, IsEmpty());
}

TEST_F(SingleCommandTest, ByDefaultTheChildGetsACleanSlate) {
  StartOk();
  EXPECT_FALSE(os_.spawn_requests.at(0).new_session);
  EXPECT_FALSE(os_.spawn_requests.at(0).signal_state.has_value());
}

TEST_F(SingleCommandTest, InheritSignalStateHandsTheStartUpStateToTheChild) {
  options_.inherit_signal_state = true;
  sigemptyset(&options_.signals_at_start.blocked);
  sigemptyset(&options_.signals_at_start.ignored);
  sigaddset(&options_.signals_at_start.blocked, SIGUSR1);
  sigaddset(&options_.signals_at_start.ignored, SIGHUP);
  StartOk();
  const auto& state = os_.spawn_requests.at(0).signal_state;
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(sigismember(&state->blocked, SIGUSR1), 1);
  EXPECT_EQ(sigismember(&state->blocked, SIGTERM), 0);
  EXPECT_EQ(sigismember(&state->ignored, SIGHUP), 1);
  EXPECT_EQ(sigismember(&state->ignored, SIGINT), 0);
}

TEST_F(SingleCommandTest, StopSelfOnJobControlForwardsThenStopsVigil) {
  options_.stop_self_on_job_control = true;
  options_.signal_process_group = true;
  options_.rewrite.Set(SIGTSTP, SIGSTOP);
  StartOk();
  for (int signo : {SIGTSTP, SIGTTIN, SIGTTOU}) {
    os_.actions.clear();
    Signal(signo);
    const std::string forwarded = SignalName(options_.rewrite.Apply(signo));
    EXPECT_THAT(os_.actions, ElementsAre("SignalGroup(100, " + forwarded + ")", "StopSelf()"))
        << SignalName(signo);
  }
}

TEST_F(SingleCommandTest, StopSelfOnJobControlStopsVigilEvenWhenTheSignalIsDropped) {
  options_.stop_self_on_job_control = true;
  options_.rewrite.Set(SIGTSTP, 0);
  StartOk();
  Signal(SIGTSTP);
  EXPECT_THAT(os_.signals, IsEmpty());
  EXPECT_THAT(os_.actions, ElementsAre("StopSelf()"));
}

TEST_F(SingleCommandTest, StopSelfOnJobControlLeavesOtherSignalsAndPid1Alone) {
  options_.stop_self_on_job_control = true;
  StartOk();
  Signal(SIGTERM);
  Signal(SIGCONT);
  EXPECT_EQ(std::count(os_.actions.begin(), os_.actions.end(), "StopSelf()"), 0);

  os_.pid = 1;
  StartOk();
  os_.signals.clear();
  Signal(SIGTSTP, /*sender=*/0);
  EXPECT_EQ(std::count(os_.actions.begin(), os_.actions.end(), "StopSelf()"), 0);
  EXPECT_THAT(os_.signals, ElementsAre(ToPidfd(pidfd_, SIGTSTP)));
}

TEST_F(SingleCommandJobControlTest, WithStopSelfOnJobControlAStoppedMainIsNotMirroredAgain) {
  // Vigil already stopped itself when it forwarded the stop; a second stop on waking would
  // need a second `fg`.
  options_.stop_self_on_job_control = true;
  StartOk();
  MainStops();
  EXPECT_THAT(os_.actions, IsEmpty());
}

}  // namespace
}  // namespace vigil
