// Pool: one configured pool's workers, run against FakeOs, FakeScheduler (time moved by hand),
// FakeFdWatcher (notify sockets "fired" by the test) and FakeNotifyTransport (datagrams
// scripted per socket). Every spawn, signal, timer and report upward is observed.
#include "agent/supervisor/pool.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/fakes/fake_clock.h"
#include "tests/fakes/fake_fd_watcher.h"
#include "tests/fakes/fake_notify_transport.h"
#include "tests/fakes/fake_os.h"
#include "tests/fakes/fake_random.h"
#include "tests/fakes/fake_scheduler.h"
#include "tests/fakes/pool_checks.h"

namespace vigil {
namespace {

using namespace std::chrono_literals;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAre;
using ::vigil::testing::ExpectStateCountsMatchWorkers;
using ::vigil::testing::FakeClock;
using ::vigil::testing::FakeFdWatcher;
using ::vigil::testing::FakeNotifyTransport;
using ::vigil::testing::FakeOs;
using ::vigil::testing::FakeRandom;
using ::vigil::testing::FakeScheduler;
using ::vigil::testing::SignalCall;
using ::vigil::testing::ToGroup;
using ::vigil::testing::ToPid;

constexpr int ExitedWith(int code) {
  return W_EXITCODE(code, 0);
}
constexpr int KilledBy(int signo) {
  return W_EXITCODE(0, signo);
}

// The entries of `key` in a spawn request's environment ("KEY=value" each).
std::vector<std::string> EnvEntries(const SpawnRequest& request, const std::string& key) {
  std::vector<std::string> out;
  if (!request.env) return out;
  for (const std::string& entry : *request.env) {
    if (entry.rfind(key + "=", 0) == 0) out.push_back(entry);
  }
  return out;
}

// What the pool reports upward, as readable lines.
class RecordingObserver final : public PoolObserver {
 public:
  void OnPoolReadinessChanged(Pool& pool) override {
    events.push_back("readiness " + pool.name() + (pool.ready() ? " ready" : " unready"));
  }
  void OnWorkerExited(Pool& pool, int slot, const ExitRecord& record) override {
    events.push_back("exited " + pool.name() + "/" + std::to_string(slot) + " " +
                     ExitReasonName(record.reason));
    exits.push_back(record);
  }
  void OnPoolFailed(Pool& pool) override {
    events.push_back("failed " + pool.name());
    if (on_failed) on_failed();
  }
  void OnStopPodRequested(Pool& pool, int slot) override {
    events.push_back("stop_pod " + pool.name() + "/" + std::to_string(slot));
  }
  void OnPoolIdle(Pool& pool) override { events.push_back("idle " + pool.name()); }
  void OnWorkerChanged(Pool& pool, int slot) override {
    ++worker_changes;
    if (!record_worker_changes) return;
    events.push_back("worker " + pool.name() + "/" + std::to_string(slot) + " " +
                     WorkerStateName(pool.workers()[static_cast<size_t>(slot)]->state()) +
                     " ready_count=" + std::to_string(pool.ready_count()));
  }

  size_t Count(const std::string& event) const {
    return static_cast<size_t>(std::count(events.begin(), events.end(), event));
  }

  std::vector<std::string> events;
  std::vector<ExitRecord> exits;
  int worker_changes = 0;
  bool record_worker_changes = false;  // also in `events`
  std::function<void()> on_failed;     // what the agent would do on a crash-loop verdict
};

class PoolTest : public ::testing::Test {
 protected:
  PoolTest() {
    config_.name = "web";
    config_.command = {"app", "--serve"};
    config_.backoff.jitter = 0;  // Exact restart times.
    os_.next_unscripted_pid = 100;
  }

  PoolServices Services() {
    PoolServices services{os_, scheduler_, watcher_, notify_, clock_, random_, false};
    services.environment = &environment_;
    return services;
  }
  // Creates the pool from config_ as it is now and starts it. Like Reap() and Send(), one event
  // of the loop: the reports the pool posted (failed, stop_pod, idle) run before it returns.
  // Every worker has been spawned when it returns (past Pool::kStartBatch, in that many turns).
  Pool& StartPool() {
    pool_ = std::make_unique<Pool>(config_, Services(), observer_);
    pool_->Start();
    scheduler_.RunPosted();
    while (pool_->pending_starts() > 0 && scheduler_.RunOneDue()) {
    }
    return *pool_;
  }
  Pool& pool() { return *pool_; }

  // Every test also checks the O(1) per-state counts against a scan of the workers.
  void TearDown() override {
    if (pool_) ExpectStateCountsMatchWorkers(*pool_);
  }
  const Worker& worker(int slot) { return *pool_->workers()[static_cast<size_t>(slot)]; }
  pid_t Pid(int slot) { return pool_->pid_of(slot); }

  // The notify socket of the slot's current run.
  int NotifyFd(int slot) {
    return notify_.LastFdWithLabel(config_.name + "/" + std::to_string(slot));
  }
  // A datagram arrives on the slot's socket from `sender`, and the loop sees the socket readable.
  void Send(int slot, const std::string& text, pid_t sender, bool truncated = false) {
    const int fd = NotifyFd(slot);
    ASSERT_GE(fd, 0);
    notify_.Queue(fd, text, sender, truncated);
    ASSERT_TRUE(watcher_.Fire(fd)) << "socket of slot " << slot << " is not watched";
    scheduler_.RunPosted();
  }
  void Reap(pid_t pid, int status) {
    EXPECT_TRUE(pool_->OnProcessExited(pid, status)) << pid;
    scheduler_.RunPosted();
  }
  uint64_t Rejected(NotifyRejection cause) {
    return pool_->counters().notify_rejected_by_cause[static_cast<int>(cause)];
  }

  // Signals (other than the SIGKILL a reaped worker's group gets) sent to a process group,
  // without the SIGCONT that follows every stop signal (checked by its own test below).
  std::vector<int> GroupSignals(pid_t pgid) {
    return os_.SignalsTo(SignalCall::Target::kGroup, pgid, /*with_sigcont=*/false);
  }

  PoolConfig config_;
  FakeOs os_;
  FakeClock clock_;
  FakeScheduler scheduler_{clock_};
  FakeFdWatcher watcher_;
  FakeNotifyTransport notify_{&os_};
  FakeRandom random_;
  ChildEnvironment environment_;  // Vigil's environment, as children inherit it
  RecordingObserver observer_;
  std::unique_ptr<Pool> pool_;
};

// ---------------------------------------------------------------------------------------------
// Start: one process per replica, each with its identity and its own notify socket
// ---------------------------------------------------------------------------------------------

// Each run's socket is opened for "<pool>/<slot>"; NOTIFY_SOCKET is its path.
TEST_F(PoolTest, StartSpawnsEveryReplicaWithItsIdentityAndItsOwnNotifySocket) {
  config_.replicas = 3;
  config_.watchdog = 10s;
  config_.env = {{"APP_MODE", "prod"}};
  environment_ = ChildEnvironment(
      {"VIGIL_TEST_INHERITED=yes", "NOTIFY_SOCKET=/run/systemd/notify", "WATCHDOG_USEC=999"});
  StartPool();

  ASSERT_EQ(os_.spawn_requests.size(), 3u);
  EXPECT_THAT(notify_.open_attempts, ElementsAre("web/0", "web/1", "web/2"));
  for (int slot = 0; slot < 3; ++slot) {
    SCOPED_TRACE("slot " + std::to_string(slot));
    const SpawnRequest& r = os_.spawn_requests[static_cast<size_t>(slot)];
    EXPECT_THAT(r.argv, ElementsAre("app", "--serve"));
    EXPECT_THAT(EnvEntries(r, "VIGIL_POOL"), ElementsAre("VIGIL_POOL=web"));
    EXPECT_THAT(EnvEntries(r, "VIGIL_WORKER"), ElementsAre("VIGIL_WORKER=" + std::to_string(slot)));
    // Vigil's own NOTIFY_SOCKET and WATCHDOG_USEC are replaced, never passed on.
    EXPECT_THAT(EnvEntries(r, "NOTIFY_SOCKET"),
                ElementsAre("NOTIFY_SOCKET=" + notify_.opened[static_cast<size_t>(slot)].path));
    EXPECT_THAT(EnvEntries(r, "WATCHDOG_USEC"), ElementsAre("WATCHDOG_USEC=10000000"));
    EXPECT_THAT(EnvEntries(r, "APP_MODE"), ElementsAre("APP_MODE=prod"));
    EXPECT_THAT(EnvEntries(r, "VIGIL_TEST_INHERITED"), ElementsAre("VIGIL_TEST_INHERITED=yes"));
    EXPECT_EQ(Pid(slot), 100 + slot);
    EXPECT_TRUE(watcher_.IsWatched(NotifyFd(slot)));
  }
  EXPECT_EQ(pool().counters().starts, 3u);
  EXPECT_FALSE(pool().idle());
}

TEST_F(PoolTest, WithoutAWatchdogWorkersGetNoWatchdogUsecAndNoInheritedOne) {
  environment_ = ChildEnvironment({"NOTIFY_SOCKET=@outer", "WATCHDOG_USEC=999", "WATCHDOG_PID=1"});
  StartPool();
  ASSERT_EQ(os_.spawn_requests.size(), 1u);
  const SpawnRequest& r = os_.spawn_requests[0];
  EXPECT_THAT(EnvEntries(r, "WATCHDOG_USEC"), IsEmpty());
  EXPECT_THAT(EnvEntries(r, "WATCHDOG_PID"), IsEmpty());
  EXPECT_THAT(EnvEntries(r, "NOTIFY_SOCKET"), ElementsAre("NOTIFY_SOCKET=/notify/web-0-1/notify"));
}

TEST_F(PoolTest, ThePoolsEnvReplacesAnInheritedVariableOfTheSameName) {
  config_.env = {{"LANG", "C.UTF-8"}};
  environment_ = ChildEnvironment({"LANG=fr_FR.UTF-8"});
  StartPool();
  EXPECT_THAT(EnvEntries(os_.spawn_requests[0], "LANG"), ElementsAre("LANG=C.UTF-8"));
}

TEST_F(PoolTest, StartedModeWorkersAreReadyAtOnceAndSoIsThePool) {
  config_.replicas = 2;
  StartPool();
  EXPECT_EQ(pool().ready_count(), 2);
  EXPECT_TRUE(pool().ready());
  EXPECT_EQ(observer_.Count("readiness web ready"), 1u);
}

TEST_F(PoolTest, LogPrefixGivesEachWorkerPipesForItsOutput) {
  config_.log_prefix = true;
  StartPool();
  const SpawnRequest& r = os_.spawn_requests[0];
  EXPECT_GE(r.stdout_fd, 0);
  EXPECT_GE(r.stderr_fd, 0);
  EXPECT_NE(r.stdout_fd, r.stderr_fd);
  EXPECT_EQ(watcher_.watched_count(), 3u);  // The notify socket and the two pipes' read ends.
}

// ---------------------------------------------------------------------------------------------
// sd_notify datagrams
// ---------------------------------------------------------------------------------------------

TEST_F(PoolTest, Ready1MakesAWorkerReadyAndThePoolReadyAtMinReady) {
  config_.replicas = 3;
  config_.min_ready = 2;
  config_.readiness.mode = ReadinessMode::kNotify;
  StartPool();
  EXPECT_FALSE(pool().ready());
  Send(0, "READY=1", Pid(0));
  EXPECT_TRUE(worker(0).ready());
  EXPECT_EQ(pool().ready_count(), 1);
  EXPECT_FALSE(pool().ready());
  EXPECT_EQ(observer_.Count("readiness web ready"), 0u);
  Send(1, "READY=1", Pid(1));
  EXPECT_TRUE(pool().ready());
  EXPECT_EQ(observer_.Count("readiness web ready"), 1u);
  Send(2, "READY=1", Pid(2));
  EXPECT_EQ(pool().ready_count(), 3);
  EXPECT_EQ(observer_.Count("readiness web ready"), 1u);  // Reported on change only.
  EXPECT_EQ(pool().counters().notify_accepted, 3u);
  EXPECT_EQ(pool().counters().notify_rejected, 0u);
}

TEST_F(PoolTest, MinReadyAboveReplicasNeedsEveryWorker) {
  config_.replicas = 2;
  config_.min_ready = 5;
  config_.readiness.mode = ReadinessMode::kNotify;
  StartPool();
  Send(0, "READY=1", Pid(0));
  EXPECT_FALSE(pool().ready());
  Send(1, "READY=1", Pid(1));
  EXPECT_TRUE(pool().ready());
}

TEST_F(PoolTest, ADatagramFromOutsideThePidNamespaceIsRejectedAndCounted) {
  config_.readiness.mode = ReadinessMode::kNotify;
  StartPool();
  Send(0, "READY=1", 0);
  EXPECT_FALSE(worker(0).ready());
  EXPECT_EQ(pool().counters().notify_rejected, 1u);
  EXPECT_EQ(Rejected(NotifyRejection::kSenderOutsideNamespace), 1u);
  EXPECT_EQ(pool().counters().notify_accepted, 0u);
}

TEST_F(PoolTest, ADatagramFromAProcessOfAnotherGroupIsRejectedAndCounted) {
  config_.readiness.mode = ReadinessMode::kNotify;
  StartPool();
  os_.process_groups[555] = 999;  // Alive, in another process group.
  Send(0, "READY=1\nX_VIGIL_STOP=1", 555);
  EXPECT_FALSE(worker(0).ready());
  EXPECT_THAT(observer_.events, Not(Contains("stop_pod web/0")));
  EXPECT_EQ(pool().counters().notify_rejected, 1u);
  EXPECT_EQ(Rejected(NotifyRejection::kSenderNotInGroup), 1u);
}

TEST_F(PoolTest, ADatagramFromAProcessOfTheWorkersGroupIsAccepted) {
  config_.readiness.mode = ReadinessMode::kNotify;
  StartPool();
  os_.process_groups[556] = Pid(0);  // A child of the worker, in its group.
  Send(0, "READY=1", 556);
  EXPECT_TRUE(worker(0).ready());
  EXPECT_EQ(pool().counters().notify_accepted, 1u);
}

TEST_F(PoolTest, AnExitedButUnreapedMemberOfTheWorkersGroupIsStillHeard) {
  config_.readiness.mode = ReadinessMode::kNotify;
  StartPool();
  os_.process_groups[556] = Pid(0);
  os_.exited.insert(556);  // A zombie: its pid is still its own.
  Send(0, "READY=1", 556);
  EXPECT_TRUE(worker(0).ready());
}

// Regression (issue 10, defect 2): a sender already gone when its datagram was read was believed
// on the socket it used, so X_VIGIL_STOP=1 from any short-lived process that could reach the
// socket stopped the pod about one time in five.
TEST_F(PoolTest, ADatagramFromASenderThatIsGoneIsRejectedAndCounted) {
  config_.readiness.mode = ReadinessMode::kNotify;
  StartPool();
  Send(0, "READY=1\nX_VIGIL_STOP=1", 557);  // Unknown to FakeOs: exited and reaped.
  EXPECT_FALSE(worker(0).ready());
  EXPECT_THAT(observer_.events, Not(Contains("stop_pod web/0")));
  EXPECT_EQ(Rejected(NotifyRejection::kSenderGone), 1u);
}

TEST_F(PoolTest, TheWorkerItselfIsHeardByItsIdentityEvenOnceReaped) {
  config_.readiness.mode = ReadinessMode::kNotify;
  StartPool();
  ASSERT_TRUE(watcher_.Fire(NotifyFd(0)));
  EXPECT_EQ(notify_.last_known.leader_identity, os_.IdentityOf(100));  // Known at receipt.
  EXPECT_EQ(notify_.last_known.leader_pid, 100);
  // FakeOs does not list the worker: gone, yet its pidfd's identity is the run's leader's.
  Send(0, "READY=1", Pid(0));
  EXPECT_TRUE(worker(0).ready());
  EXPECT_EQ(pool().counters().notify_rejected, 0u);
}

TEST_F(PoolTest, ADatagramPassingDescriptorsIsRejectedWhoeverSendsIt) {
  config_.readiness.mode = ReadinessMode::kNotify;
  StartPool();
  NotifyDatagram d;
  d.data = "READY=1";
  d.size = d.data.size();
  d.fds_passed = 3;
  d.sender.source = NotifySender::Source::kPidfd;
  d.sender.process = os_.FactsOf(Pid(0));
  notify_.QueueRaw(NotifyFd(0), d);
  d.fds_passed = 0;
  d.control_truncated = true;  // More descriptors than fit: the kernel dropped them.
  notify_.QueueRaw(NotifyFd(0), d);
  ASSERT_TRUE(watcher_.Fire(NotifyFd(0)));
  EXPECT_FALSE(worker(0).ready());
  EXPECT_EQ(Rejected(NotifyRejection::kFdPassed), 2u);
}

TEST_F(PoolTest, AFloodIsReadInBoundedBatchesAndNothingQueuedIsLost) {
  config_.watchdog = 10s;
  StartPool();
  const int fd = NotifyFd(0);
  for (int i = 0; i < 200; ++i)
    notify_.Queue(fd, "WATCHDOG=1\nSTATUS=" + std::to_string(i), Pid(0));
  ASSERT_TRUE(watcher_.Fire(fd));
  EXPECT_EQ(notify_.drain_limits.back(), 64u);
  EXPECT_EQ(pool().counters().notify_accepted, 64u);
  EXPECT_EQ(notify_.pending(fd), 136u);  // Left for the next turns of the loop.
  while (notify_.pending(fd) > 0)
    ASSERT_TRUE(watcher_.Fire(fd));
  EXPECT_EQ(pool().counters().notify_accepted, 200u);
  EXPECT_EQ(worker(0).status_text(), "199");
}

TEST_F(PoolTest, EverythingQueuedWhenTheWorkerExitsIsReadFirst) {
  StartPool();
  const int fd = NotifyFd(0);
  for (int i = 0; i < 500; ++i)
    notify_.Queue(fd, "STATUS=" + std::to_string(i), Pid(0));
  notify_.Queue(fd, "X_VIGIL_STOP=1", Pid(0));
  Reap(100, ExitedWith(0));
  EXPECT_EQ(pool().counters().notify_accepted, 501u);
  EXPECT_THAT(observer_.events, Contains("stop_pod web/0"));
}

TEST_F(PoolTest, OversizedMalformedAndBinaryDatagramsAreRejectedAndCounted) {
  config_.readiness.mode = ReadinessMode::kNotify;
  StartPool();
  Send(0, "READY=1", Pid(0), /*truncated=*/true);
  Send(0, "READY=1\nnot a key value", Pid(0));
  Send(0, std::string("READY=1\0", 8), Pid(0));
  Send(0, "READY=yes", Pid(0));
  Send(0, "", Pid(0));
  EXPECT_FALSE(worker(0).ready());
  EXPECT_EQ(pool().counters().notify_rejected, 5u);
  EXPECT_EQ(pool().counters().notify_accepted, 0u);
  Send(0, "READY=1", Pid(0));
  EXPECT_TRUE(worker(0).ready());
}

TEST_F(PoolTest, EveryDatagramQueuedOnASocketIsReadInOrder) {
  config_.readiness.mode = ReadinessMode::kNotify;
  StartPool();
  const int fd = NotifyFd(0);
  notify_.Queue(fd, "garbage", Pid(0));
  notify_.Queue(fd, "STATUS=booting", Pid(0));
  notify_.Queue(fd, "READY=1\nSTATUS=serving", Pid(0));
  ASSERT_TRUE(watcher_.Fire(fd));
  EXPECT_TRUE(worker(0).ready());
  EXPECT_EQ(worker(0).status_text(), "serving");
  EXPECT_EQ(pool().counters().notify_rejected, 1u);
  EXPECT_EQ(pool().counters().notify_accepted, 2u);
}

TEST_F(PoolTest, AStopRequestIsPassedUpWithItsSlotInAnyStateEvenBeforeReady) {
  config_.replicas = 2;
  config_.readiness.mode = ReadinessMode::kNotify;
  StartPool();
  Send(1, "X_VIGIL_STOP=1", Pid(1));
  EXPECT_THAT(observer_.events, Contains("stop_pod web/1"));
  EXPECT_EQ(worker(1).state(), WorkerState::kStarting);  // Stopping is the agent's decision.
}

TEST_F(PoolTest, AStopRequestSentJustBeforeTheWorkerExitsIsStillHeard) {
  StartPool();
  notify_.Queue(NotifyFd(0), "X_VIGIL_STOP=1", Pid(0));  // Not yet seen by the loop...
  Reap(100, ExitedWith(0));                              // ...when the exit is reaped.
  EXPECT_THAT(observer_.events, ElementsAre("readiness web ready", "stop_pod web/0",
                                            "readiness web unready", "exited web/0 exited"));
}

TEST_F(PoolTest, WatchdogPingsOnTheSocketKeepTheWorkerAliveAndSilenceAbortsIt) {
  config_.watchdog = 10s;
  StartPool();
  scheduler_.AdvanceBy(9s);
  Send(0, "WATCHDOG=1", Pid(0));
  scheduler_.AdvanceTo(FakeClock::kStart + 18s);
  EXPECT_THAT(GroupSignals(100), IsEmpty());
  scheduler_.AdvanceTo(FakeClock::kStart + 19s);
  EXPECT_THAT(GroupSignals(100), ElementsAre(SIGABRT));
  scheduler_.AdvanceBy(5s);
  EXPECT_THAT(GroupSignals(100), ElementsAre(SIGABRT, SIGKILL));
  Reap(100, KilledBy(SIGKILL));
  ASSERT_EQ(observer_.exits.size(), 1u);
  EXPECT_EQ(observer_.exits[0].reason, ExitReason::kWatchdog);
}

// Bench scenario 7 at 10,000 workers: each WATCHDOG=1 cancelled and re-armed a timer (a
// deadline queue's insert and erase, a callback allocated). A ping now only moves the deadline;
// the timer scheduled fires once a period with nothing to do, and the watchdog still counts from
// the last ping.
TEST_F(PoolTest, WatchdogPingsScheduleNoTimerEachAndTheDeadlineFollowsTheLastPing) {
  config_.watchdog = 10s;
  StartPool();
  const size_t scheduled = scheduler_.scheduled();
  for (int second = 1; second <= 25; ++second) {
    scheduler_.AdvanceTo(FakeClock::kStart + second * 1s);
    Send(0, "WATCHDOG=1", Pid(0));
  }
  // At most one firing of the first deadline (10 s) and of the one it moved to (20 s+).
  EXPECT_LE(scheduler_.scheduled(), scheduled + 2);
  scheduler_.AdvanceTo(FakeClock::kStart + 35s - 1ns);
  EXPECT_THAT(GroupSignals(100), IsEmpty());
  scheduler_.AdvanceTo(FakeClock::kStart + 35s);
  EXPECT_THAT(GroupSignals(100), ElementsAre(SIGABRT));
}

// Regression (bench scenario 7): every WATCHDOG=1 sent the control plane a worker event, though
// it only re-arms a timer; with 1,000 workers that was a thousand snapshots of a pool a second.
TEST_F(PoolTest, WatchdogPingsSendNoWorkerEventButAStatusTextDoes) {
  config_.watchdog = 10s;
  StartPool();
  const int before = observer_.worker_changes;
  Send(0, "WATCHDOG=1", Pid(0));
  Send(0, "WATCHDOG=1", Pid(0));
  EXPECT_EQ(observer_.worker_changes, before);
  Send(0, "STATUS=warming caches", Pid(0));
  EXPECT_EQ(observer_.worker_changes, before + 1);
  Send(0, "STATUS=warming caches\nWATCHDOG=1", Pid(0));  // Same text: nothing new.
  EXPECT_EQ(observer_.worker_changes, before + 1);
}

// Regression (Watch order): the worker's READY state went out after the pool's readiness it
// caused; now the worker event comes first, already with the pool's new ready count.
TEST_F(PoolTest, AWorkersReadyEventPrecedesThePoolReadinessItCauses) {
  config_.readiness.mode = ReadinessMode::kNotify;
  StartPool();
  observer_.events.clear();
  observer_.record_worker_changes = true;
  Send(0, "READY=1", Pid(0));
  EXPECT_THAT(observer_.events,
              ElementsAre("worker web/0 ready ready_count=1", "readiness web ready"));
}

TEST_F(PoolTest, AMainPidOfTheGroupGetsTheGroupsSignalsOnceAndKeepsTheRunAfterTheLeader) {
  StartPool();
  os_.process_groups[777] = 100;  // MAINPID must name a process of the worker's own group.
  Send(0, "MAINPID=777", Pid(0));
  pool().ForwardSignal(SIGHUP);
  EXPECT_THAT(os_.signals, ElementsAre(ToGroup(100, SIGHUP)));  // 777 is in it: not twice.
  Reap(100, ExitedWith(0));
  EXPECT_TRUE(worker(0).running());
  EXPECT_THAT(observer_.exits, IsEmpty());
  // The leader is reaped, but 777 still holds the group's number: the group is signalled.
  pool().ForwardSignal(SIGUSR1);
  EXPECT_EQ(os_.signals.back(), ToGroup(100, SIGUSR1));
  Reap(777, ExitedWith(0));
  EXPECT_FALSE(worker(0).running());
  ASSERT_EQ(observer_.exits.size(), 1u);
  EXPECT_EQ(observer_.exits[0].code, 0);
}

TEST_F(PoolTest, AMainPidThatLeftTheGroupIsSignalledThroughItsPidfdAlone) {
  StartPool();
  os_.process_groups[777] = 100;
  Send(0, "MAINPID=777", Pid(0));
  os_.process_groups[777] = 777;  // Daemonised (setsid).
  Reap(100, ExitedWith(0));
  os_.signals.clear();
  pool().ForwardSignal(SIGHUP);
  ASSERT_EQ(os_.signals.size(), 1u);  // Group 100 may be anyone's now: never signalled again.
  EXPECT_EQ(os_.signals[0].target, SignalCall::Target::kPidfd);
  EXPECT_EQ(os_.signals[0].signo, SIGHUP);
}

// Regression (issue 10, defect 3): with MAINPID=A then MAINPID=B, A's exit marked the leader
// reaped: signals never reached it again, and when B ended the run, the leader's tree was left
// alive while the slot was restarted: two process trees in one slot.
TEST_F(PoolTest, AfterADoubleHandoverTheFirstMainPidsExitChangesNothing) {
  StartPool();
  os_.process_groups[701] = 100;
  os_.process_groups[702] = 100;
  Send(0, "MAINPID=701", Pid(0));
  Send(0, "MAINPID=702", Pid(0));
  os_.process_groups.erase(701);
  EXPECT_FALSE(pool().OnProcessExited(701, ExitedWith(0)));  // No longer the run's: an orphan.
  EXPECT_TRUE(worker(0).running());
  EXPECT_THAT(observer_.exits, IsEmpty());
  os_.signals.clear();
  pool().StopAll(StopCause::kDrain, false, clock_.Now() + 10s);
  // Leader and 702, once (and SIGCONT after it, as after every stop signal).
  EXPECT_THAT(os_.signals, ElementsAre(ToGroup(100, SIGTERM), ToGroup(100, SIGCONT)));
  os_.process_groups.erase(702);
  Reap(702, ExitedWith(0));                              // The main process ends the run...
  EXPECT_EQ(os_.signals.back(), ToGroup(100, SIGKILL));  // ...and the leader's tree with it.
  ASSERT_EQ(observer_.exits.size(), 1u);
  EXPECT_FALSE(pool().OnProcessExited(100, KilledBy(SIGKILL)));  // Reaped later: forgotten.
}

TEST_F(PoolTest, AfterADoubleHandoverACrashOfTheMainPidKillsTheLeaderBeforeTheRestart) {
  StartPool();
  os_.process_groups[701] = 100;
  os_.process_groups[702] = 100;
  Send(0, "MAINPID=701", Pid(0));
  Send(0, "MAINPID=702", Pid(0));
  os_.process_groups.erase(701);
  pool().OnProcessExited(701, ExitedWith(0));
  os_.process_groups.erase(702);
  Reap(702, ExitedWith(3));
  EXPECT_THAT(os_.signals, ElementsAre(ToGroup(100, SIGKILL)));
  ASSERT_EQ(observer_.exits.size(), 1u);
  EXPECT_EQ(observer_.exits[0].code, 3);
  EXPECT_EQ(worker(0).state(), WorkerState::kBackoff);
}

TEST_F(PoolTest, TheLeaderExitingAfterItsMainPidHasGoneEndsTheRun) {
  StartPool();
  os_.process_groups[701] = 100;
  Send(0, "MAINPID=701", Pid(0));
  os_.exited.insert(701);  // Exited, reaped by the leader (never by Vigil).
  Reap(100, ExitedWith(4));
  ASSERT_EQ(observer_.exits.size(), 1u);
  EXPECT_EQ(observer_.exits[0].code, 4);
}

TEST_F(PoolTest, AMainPidMayHandBackToTheLeader) {
  StartPool();
  os_.process_groups[100] = 100;
  os_.process_groups[701] = 100;
  Send(0, "MAINPID=701", Pid(0));
  Send(0, "MAINPID=100", 701);
  EXPECT_FALSE(pool().OnProcessExited(701, ExitedWith(0)));  // Just a member again.
  Reap(100, ExitedWith(0));
  EXPECT_EQ(observer_.exits.size(), 1u);
}

TEST_F(PoolTest, MainPidsOfPid1VigilAnotherWorkerAGoneOrAForeignProcessAreRefusedWhole) {
  config_.replicas = 2;
  config_.readiness.mode = ReadinessMode::kNotify;
  StartPool();
  os_.process_groups[1] = 1;
  os_.process_groups[os_.pid] = os_.pid;
  os_.process_groups[Pid(1)] = Pid(1);
  os_.process_groups[888] = 888;  // Alive, of its own group.
  for (pid_t main : {1, os_.pid, Pid(1), 999 /* gone */, 888}) {
    Send(0, "READY=1\nMAINPID=" + std::to_string(main), Pid(0));
  }
  EXPECT_FALSE(worker(0).ready());  // Refused whole: READY=1 was not applied either.
  EXPECT_EQ(Rejected(NotifyRejection::kMainPidRefused), 5u);
  EXPECT_EQ(pool().counters().notify_accepted, 0u);
  Reap(Pid(0), ExitedWith(0));  // The leader is still the main process.
  EXPECT_EQ(observer_.exits.size(), 1u);
  EXPECT_TRUE(worker(1).running());
}

// ---------------------------------------------------------------------------------------------
// Exits and restarts
// ---------------------------------------------------------------------------------------------

TEST_F(PoolTest, AWorkersExitKillsWhatItLeftInItsGroupAndClosesItsSocket) {
  StartPool();
  const int fd = NotifyFd(0);
  Reap(100, ExitedWith(1));
  EXPECT_THAT(os_.signals, ElementsAre(ToGroup(100, SIGKILL)));
  EXPECT_FALSE(watcher_.IsWatched(fd));
  EXPECT_THAT(watcher_.calls, Contains("Unwatch(" + std::to_string(fd) + ")"));
  EXPECT_EQ(pool().counters().exits_by_reason[static_cast<int>(ExitReason::kExited)], 1u);
}

TEST_F(PoolTest, PidsThatAreNotThePoolsAreLeftToOthers) {
  StartPool();
  EXPECT_FALSE(pool().OnProcessExited(555, ExitedWith(3)));
  EXPECT_TRUE(worker(0).ready());
  EXPECT_THAT(observer_.exits, IsEmpty());
  Reap(100, ExitedWith(1));
  EXPECT_FALSE(pool().OnProcessExited(100, ExitedWith(1)));  // Already reaped.
}

TEST_F(PoolTest, AFailedWorkerIsRestartedAfterItsBackoffWithAFreshSocket) {
  StartPool();
  Reap(100, ExitedWith(1));
  EXPECT_EQ(worker(0).state(), WorkerState::kBackoff);
  scheduler_.AdvanceBy(999ms);
  EXPECT_EQ(os_.spawn_requests.size(), 1u);
  scheduler_.AdvanceBy(1ms);
  ASSERT_EQ(os_.spawn_requests.size(), 2u);
  EXPECT_THAT(EnvEntries(os_.spawn_requests[1], "NOTIFY_SOCKET"),
              ElementsAre("NOTIFY_SOCKET=/notify/web-0-2/notify"));
  EXPECT_THAT(EnvEntries(os_.spawn_requests[1], "VIGIL_WORKER"), ElementsAre("VIGIL_WORKER=0"));
  EXPECT_EQ(Pid(0), 101);
  EXPECT_TRUE(worker(0).ready());
  EXPECT_EQ(worker(0).restarts(), 1);
  EXPECT_EQ(pool().counters().starts, 2u);
}

// With no backoff due, a crash's replacement is spawned in the turn of the loop that reaped the
// crash (posted after the exit's handling), not a timer's round trip later (issue 13: restart
// latency). The timer armed for it would be a zero-delay one: none is armed at all.
TEST_F(PoolTest, AZeroDelayRestartSpawnsInTheTurnThatReapedTheExit) {
  config_.backoff.initial = 0s;
  StartPool();
  const size_t timers_before = scheduler_.scheduled();
  Reap(100, ExitedWith(1));  // One turn: the exit, then the work it posted.
  ASSERT_EQ(os_.spawn_requests.size(), 2u);
  EXPECT_EQ(Pid(0), 101);
  EXPECT_TRUE(worker(0).ready());
  EXPECT_EQ(worker(0).restarts(), 1);
  EXPECT_EQ(scheduler_.scheduled(), timers_before);
  EXPECT_EQ(pool().counters().restarts_by_reason[static_cast<int>(ExitReason::kExited)], 1u);
}

// Only the reaped exit's restart is posted: when that spawn fails, the next attempt waits for
// the loop's timer, so a command that can never be spawned cannot spin within one turn.
TEST_F(PoolTest, AZeroDelayRestartThatFailsToSpawnIsRetriedFromTheLoopTimer) {
  config_.backoff.initial = 0s;
  StartPool();
  os_.ScriptSpawnSetupFailure(Status::Error("clone: out of memory"));
  Reap(100, ExitedWith(1));
  EXPECT_EQ(os_.spawn_requests.size(), 2u);  // The posted attempt, which failed.
  EXPECT_EQ(worker(0).state(), WorkerState::kBackoff);
  scheduler_.RunDue();
  EXPECT_EQ(os_.spawn_requests.size(), 3u);
  EXPECT_TRUE(worker(0).ready());
}

// A stop that arrives before the posted restart has run cancels it, as it cancels a timer.
TEST_F(PoolTest, AStopCancelsAPostedZeroDelayRestart) {
  config_.backoff.initial = 0s;
  StartPool();
  EXPECT_TRUE(pool().OnProcessExited(100, ExitedWith(1)));  // The turn is not over yet.
  EXPECT_EQ(worker(0).state(), WorkerState::kBackoff);
  pool().StopAll(StopCause::kDrain, false, clock_.Now() + 10s, false);
  scheduler_.RunPosted();
  scheduler_.RunDue();
  EXPECT_EQ(os_.spawn_requests.size(), 1u);
  EXPECT_EQ(worker(0).state(), WorkerState::kExited);
}

TEST_F(PoolTest, ExitBeforeReadinessIsReportedAsABootFailure) {
  config_.readiness.mode = ReadinessMode::kNotify;
  StartPool();
  Reap(100, ExitedWith(2));
  ASSERT_EQ(observer_.exits.size(), 1u);
  EXPECT_EQ(observer_.exits[0].reason, ExitReason::kBootFailure);
  EXPECT_TRUE(observer_.exits[0].before_ready);
}

TEST_F(PoolTest, BootTimeoutStopsTheWorkersGroupThenKillsIt) {
  config_.readiness.mode = ReadinessMode::kNotify;
  config_.boot_timeout = 5s;
  config_.stop_timeout = 3s;
  StartPool();
  scheduler_.AdvanceBy(4999ms);
  EXPECT_THAT(GroupSignals(100), IsEmpty());
  scheduler_.AdvanceBy(1ms);
  EXPECT_THAT(GroupSignals(100), ElementsAre(SIGTERM));
  scheduler_.AdvanceBy(3s);
  EXPECT_THAT(GroupSignals(100), ElementsAre(SIGTERM, SIGKILL));
  Reap(100, KilledBy(SIGKILL));
  ASSERT_EQ(observer_.exits.size(), 1u);
  EXPECT_EQ(observer_.exits[0].reason, ExitReason::kBootTimeout);
}

// Regression (issue 13, 9,992 workers on a loaded machine): when the loop fell behind, a
// watchdog deadline ran before the socket holding the worker's WATCHDOG=1 was read, and 1,648
// healthy workers were killed as watchdog failures. What is queued is read first.
TEST_F(PoolTest, AWatchdogPingQueuedButNotYetReadWhenTheDeadlineRunsKeepsTheWorker) {
  config_.watchdog = 10s;
  StartPool();
  scheduler_.AdvanceBy(9s);
  notify_.Queue(NotifyFd(0), "WATCHDOG=1", Pid(0));  // Sent in time; the loop has not read it.
  scheduler_.AdvanceBy(1s);                          // The deadline runs first.
  EXPECT_THAT(GroupSignals(100), IsEmpty());
  EXPECT_EQ(notify_.pending(NotifyFd(0)), 0u);
  scheduler_.AdvanceBy(9999ms);  // The ping moved the deadline to 19 s...
  EXPECT_THAT(GroupSignals(100), IsEmpty());
  scheduler_.AdvanceBy(1ms);  // ...and silence still aborts the worker then.
  EXPECT_THAT(GroupSignals(100), ElementsAre(SIGABRT));
}

TEST_F(PoolTest, AReadyQueuedButNotYetReadWhenTheBootTimeoutRunsIsNotABootTimeout) {
  config_.readiness.mode = ReadinessMode::kNotify;
  config_.boot_timeout = 5s;
  StartPool();
  scheduler_.AdvanceBy(4s);
  notify_.Queue(NotifyFd(0), "READY=1", Pid(0));
  scheduler_.AdvanceBy(1s);
  EXPECT_THAT(GroupSignals(100), IsEmpty());
  EXPECT_TRUE(worker(0).ready());
  EXPECT_EQ(observer_.Count("readiness web ready"), 1u);
}

TEST_F(PoolTest, ASpawnFailureIsReportedAndRetriedAfterTheBackoff) {
  os_.ScriptSpawnSetupFailure(Status::Error("fork: out of memory"));
  StartPool();
  ASSERT_EQ(observer_.exits.size(), 1u);
  EXPECT_EQ(observer_.exits[0].reason, ExitReason::kSpawnFailed);
  EXPECT_EQ(watcher_.watched_count(), 0u);  // The socket opened for it is closed again.
  EXPECT_EQ(worker(0).state(), WorkerState::kBackoff);
  scheduler_.AdvanceBy(1s);
  EXPECT_EQ(os_.spawn_requests.size(), 2u);
  EXPECT_TRUE(worker(0).ready());
}

TEST_F(PoolTest, ANotifySocketThatCannotBeOpenedIsASpawnFailureWithoutAProcess) {
  notify_.ScriptOpenFailure(Status::Error("socket: too many open files"));
  StartPool();
  EXPECT_THAT(os_.spawn_requests, IsEmpty());
  ASSERT_EQ(observer_.exits.size(), 1u);
  EXPECT_EQ(observer_.exits[0].reason, ExitReason::kSpawnFailed);
}

// A transport whose sockets can never be opened (descriptors exhausted, say).
class FailingNotifyTransport final : public NotifyTransport {
 public:
  StatusOr<NotifyEndpoint> Open(const std::string&, uid_t, gid_t) override {
    return Status::Error("socket: too many open files");
  }
  void Close(NotifyEndpoint&) override {}
  std::vector<NotifyDatagram> Drain(int, size_t, const KnownSenders&) override { return {}; }
};

// Regression test for a fixed bug: with `backoff.initial: 0` (documented: "restart at once") a
// spawn that keeps failing recurses instead of looping: Pool::Spawn -> Worker::SpawnFailed ->
// Finish -> Start -> kSpawn -> Pool::Execute -> Pool::Spawn ..., one level per attempt, until the
// crash-loop verdict. With a large crash_loop.max_restarts (up to 1000000 is accepted) the stack
// overflows and Vigil, PID 1, dies of SIGSEGV. Fix: never spawn synchronously from inside Execute
// for a restart: schedule a zero-delay timer (RunAt(now)) for immediate restarts, as for any other
// backoff, so each attempt starts from the loop.
TEST_F(PoolTest, PersistentSpawnFailuresWithZeroBackoffDoNotExhaustTheStack) {
  config_.backoff.initial = 0s;
  config_.crash_loop.max_restarts = 1000000;
  FailingNotifyTransport failing;
  EXPECT_EXIT(
      {
        Pool pool(config_, PoolServices{os_, scheduler_, watcher_, failing, clock_, random_, false},
                  observer_);
        pool.Start();
        scheduler_.RunDue();  // Immediate restarts go through the loop, one at a time.
        std::_Exit(pool.failed() ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST_F(PoolTest, ACrashLoopVerdictFailsThePoolAndTakesItsReadinessOff) {
  config_.crash_loop.max_restarts = 0;
  StartPool();
  ASSERT_TRUE(pool().ready());
  Reap(100, ExitedWith(1));
  EXPECT_TRUE(pool().failed());
  EXPECT_FALSE(pool().ready());
  EXPECT_TRUE(worker(0).crash_looped());
  EXPECT_THAT(observer_.events, ElementsAre("readiness web ready", "readiness web unready",
                                            "exited web/0 exited", "failed web", "idle web"));
  scheduler_.AdvanceBy(1h);
  EXPECT_EQ(os_.spawn_requests.size(), 1u);  // Never respawned.
}

// The reports on which the agent may stop, scale or drain this very pool (crash loop, idle) run
// after the event that caused them, never inside the handling of a worker's actions, and never
// once the pool is gone. A stop request goes up at once, before the exit read after it.
TEST_F(PoolTest, ReportsThatMayChangeThePoolRunAfterTheEventInOrder) {
  config_.crash_loop.max_restarts = 0;
  StartPool();
  notify_.Queue(NotifyFd(0), "X_VIGIL_STOP=1", Pid(0));
  EXPECT_TRUE(pool().OnProcessExited(100, ExitedWith(1)));
  EXPECT_THAT(observer_.events, ElementsAre("readiness web ready", "stop_pod web/0",
                                            "readiness web unready", "exited web/0 exited"));
  scheduler_.RunPosted();
  EXPECT_THAT(observer_.events,
              ElementsAre("readiness web ready", "stop_pod web/0", "readiness web unready",
                          "exited web/0 exited", "failed web", "idle web"));
}

TEST_F(PoolTest, ReportsStillPendingWhenThePoolIsDestroyedNeverRun) {
  config_.crash_loop.max_restarts = 0;
  StartPool();
  EXPECT_TRUE(pool().OnProcessExited(100, ExitedWith(1)));
  ASSERT_GT(scheduler_.posted(), 0u);
  pool_.reset();
  EXPECT_EQ(scheduler_.posted(), 0u);
  scheduler_.RunPosted();
  EXPECT_THAT(observer_.events, Not(Contains("failed web")));
}

// What the agent does on a crash loop (stop the pool, drop its slots) is safe from the report.
TEST_F(PoolTest, AnObserverMayStopAndShrinkThePoolFromItsFailureReport) {
  config_.replicas = 3;
  config_.crash_loop.max_restarts = 0;
  StartPool();
  observer_.on_failed = [this] {
    pool().Scale(0);
    pool().StopAll(StopCause::kDrain, /*fast=*/false, clock_.Now() + 1s);
  };
  Reap(101, ExitedWith(1));
  EXPECT_TRUE(pool().failed());
  EXPECT_THAT(GroupSignals(100), ElementsAre(SIGTERM));
  EXPECT_THAT(GroupSignals(102), ElementsAre(SIGTERM));
  Reap(100, KilledBy(SIGTERM));
  Reap(102, KilledBy(SIGTERM));
  EXPECT_EQ(pool().slot_count(), 0);
  EXPECT_TRUE(pool().idle());
}

TEST_F(PoolTest, APoolWhoseWorkersAllEndedForGoodIsIdle) {
  config_.replicas = 2;
  config_.restart = RestartPolicy::kNever;
  StartPool();
  Reap(100, ExitedWith(0));
  EXPECT_FALSE(pool().idle());
  Reap(101, ExitedWith(1));
  EXPECT_TRUE(pool().idle());
  EXPECT_EQ(observer_.Count("idle web"), 1u);
  EXPECT_FALSE(pool().all_ended_gracefully());
  EXPECT_FALSE(pool().any_killed_at_deadline());
}

// ---------------------------------------------------------------------------------------------
// Readiness probes (exec): the probe's process is the pool's, never mistaken for a worker
// ---------------------------------------------------------------------------------------------

// A probe's environment is its worker's (the pool's env:, no outer supervisor variables), with
// the probe's own variables: before issue 11 it was Vigil's environ, unfiltered.
TEST_F(PoolTest, AnExecProbeGetsThePoolsEnvAndNeverTheOuterSupervisorsVariables) {
  config_.readiness.mode = ReadinessMode::kExec;
  config_.readiness.command = {"check"};
  config_.env = {{"APP_MODE", "prod"}, {"LANG", "C.UTF-8"}};
  environment_ = ChildEnvironment(
      {"NOTIFY_SOCKET=/run/outer", "WATCHDOG_USEC=1", "LISTEN_FDS=2", "KEEP=1", "LANG=fr_FR"});
  StartPool();
  scheduler_.AdvanceBy(100ms);
  ASSERT_EQ(os_.spawn_requests.size(), 2u);
  const SpawnRequest& probe = os_.spawn_requests[1];
  ASSERT_TRUE(probe.env.has_value());
  EXPECT_THAT(*probe.env,
              UnorderedElementsAre("KEEP=1", "LANG=C.UTF-8", "APP_MODE=prod", "VIGIL_POOL=web",
                                   "VIGIL_WORKER=0", "VIGIL_WORKER_PID=100"));
}

TEST_F(PoolTest, AnExecProbeThatPassesMakesTheWorkerReady) {
  config_.readiness.mode = ReadinessMode::kExec;
  config_.readiness.command = {"check", "--ok"};
  StartPool();
  ASSERT_EQ(os_.spawn_requests.size(), 1u);
  scheduler_.AdvanceBy(100ms);  // The first probe, shortly after the spawn.
  ASSERT_EQ(os_.spawn_requests.size(), 2u);
  const SpawnRequest& probe = os_.spawn_requests[1];
  EXPECT_THAT(probe.argv, ElementsAre("check", "--ok"));
  EXPECT_THAT(EnvEntries(probe, "VIGIL_WORKER_PID"), ElementsAre("VIGIL_WORKER_PID=100"));
  EXPECT_FALSE(worker(0).ready());
  Reap(101, ExitedWith(0));
  EXPECT_TRUE(worker(0).ready());
  EXPECT_TRUE(pool().ready());
  EXPECT_THAT(observer_.exits, IsEmpty());
}

TEST_F(PoolTest, AnExecProbeThatFailsLeavesTheWorkerStartingAndProbesAgain) {
  config_.readiness.mode = ReadinessMode::kExec;
  config_.readiness.command = {"check"};
  config_.readiness.period = 2s;
  StartPool();
  scheduler_.AdvanceBy(100ms);
  Reap(101, ExitedWith(1));
  EXPECT_EQ(worker(0).state(), WorkerState::kStarting);
  scheduler_.AdvanceBy(2s);
  EXPECT_EQ(os_.spawn_requests.size(), 3u);
  Reap(102, ExitedWith(0));
  EXPECT_TRUE(worker(0).ready());
}

// Every reaped pid is offered to every pool's Prober: it finds its probe by pid (an index, not a
// scan of the slots, which made each exit O(slots) and a drain of n workers O(n^2)). Each probe
// completes its own slot; a probe abandoned when its worker stops is the pool's no longer (its
// exit is reaped as an orphan's), and a worker's pid is never taken for a probe's.
TEST_F(PoolTest, ExecProbesOfSeveralSlotsAreFoundByTheirPidAndForgottenOnceAbandoned) {
  config_.replicas = 3;
  config_.readiness.mode = ReadinessMode::kExec;
  config_.readiness.command = {"check"};
  StartPool();
  scheduler_.AdvanceBy(100ms);  // Probes 103, 104, 105 for slots 0, 1, 2.
  ASSERT_EQ(os_.spawn_requests.size(), 6u);
  EXPECT_THAT(EnvEntries(os_.spawn_requests[4], "VIGIL_WORKER"), ElementsAre("VIGIL_WORKER=1"));
  Reap(104, ExitedWith(0));
  EXPECT_FALSE(worker(0).ready());
  EXPECT_TRUE(worker(1).ready());
  EXPECT_FALSE(worker(2).ready());
  EXPECT_FALSE(pool_->OnProcessExited(104, ExitedWith(0)));  // Reaped once: no longer ours.
  pool().StopAll(StopCause::kDrain, /*fast=*/false, clock_.Now() + 10s);
  EXPECT_THAT(GroupSignals(103), ElementsAre(SIGKILL));  // Abandoned with their workers.
  EXPECT_THAT(GroupSignals(105), ElementsAre(SIGKILL));
  EXPECT_FALSE(pool_->OnProcessExited(103, KilledBy(SIGKILL)));
  EXPECT_FALSE(pool_->OnProcessExited(105, KilledBy(SIGKILL)));
  EXPECT_EQ(worker(0).state(), WorkerState::kStopping);
  Reap(100, ExitedWith(0));
  EXPECT_EQ(worker(0).state(), WorkerState::kExited);
}

// ---------------------------------------------------------------------------------------------
// Stopping, forwarding signals
// ---------------------------------------------------------------------------------------------

TEST_F(PoolTest, StopAllSignalsEveryGroupThenKillsAtTheDeadlineAndNoSlotComesBack) {
  config_.replicas = 2;
  StartPool();
  pool().StopAll(StopCause::kDrain, /*fast=*/false, clock_.Now() + 10s);
  EXPECT_THAT(os_.signals, ElementsAre(ToGroup(100, SIGTERM), ToGroup(100, SIGCONT),
                                       ToGroup(101, SIGTERM), ToGroup(101, SIGCONT)));
  EXPECT_FALSE(pool().ready());
  scheduler_.AdvanceBy(10s);
  EXPECT_THAT(GroupSignals(100), ElementsAre(SIGTERM, SIGKILL));
  EXPECT_THAT(GroupSignals(101), ElementsAre(SIGTERM, SIGKILL));
  Reap(100, KilledBy(SIGKILL));
  EXPECT_EQ(observer_.Count("idle web"), 0u);
  Reap(101, KilledBy(SIGKILL));
  EXPECT_EQ(observer_.Count("idle web"), 1u);
  EXPECT_TRUE(pool().idle());
  EXPECT_TRUE(pool().any_killed_at_deadline());
  EXPECT_FALSE(pool().all_ended_gracefully());
  scheduler_.AdvanceBy(1h);
  EXPECT_EQ(os_.spawn_requests.size(), 2u);
}

// A pool larger than one batch is stopped at once (no slot restarts, every kill deadline armed)
// but signalled a batch per turn of the loop, so that the exits of a batch are reaped while the
// next is signalled (docs/performance.md, the drain tail). A worker that exits before its turn
// is not signalled (its group may be anyone's by then); a fast stop decided meanwhile follows the
// graceful signal it was queued behind.
// Regression: a pool started every replica in one call, before the loop ran again: 10,000
// spawns held PID 1 for seconds (no signal, heartbeat, READY=1 or control plane served), and a
// worker's boot timer could fire before its READY=1, already sent, was read. Now kStartBatch per
// turn; a slot waiting its turn keeps the pool from being idle, and a drain or a scale-down
// cancels it.
TEST_F(PoolTest, ABigPoolStartsABatchPerTurnAndADrainCancelsTheRest) {
  constexpr int kBatch = Pool::kStartBatch;
  config_.replicas = 3 * kBatch + 5;
  pool_ = std::make_unique<Pool>(config_, Services(), observer_);
  pool_->Start();
  scheduler_.RunPosted();
  EXPECT_EQ(os_.spawn_requests.size(), static_cast<size_t>(kBatch));
  EXPECT_EQ(pool().pending_starts(), 2 * kBatch + 5);
  ASSERT_TRUE(scheduler_.RunOneDue());  // the next turn: the next batch
  EXPECT_EQ(os_.spawn_requests.size(), static_cast<size_t>(2 * kBatch));
  EXPECT_EQ(pool().pending_starts(), kBatch + 5);
  // A drain now: the queued slots never start, the started ones stop.
  pool().StopAll(StopCause::kDrain, /*fast=*/false, clock_.Now() + 10s);
  EXPECT_EQ(pool().pending_starts(), 0);
  while (scheduler_.RunOneDue()) {
  }
  EXPECT_EQ(os_.spawn_requests.size(), static_cast<size_t>(2 * kBatch));
  EXPECT_EQ(pool().CountIn(WorkerState::kStopping), 2 * kBatch);
  for (int slot = 0; slot < 2 * kBatch; ++slot)
    Reap(Pid(slot), ExitedWith(0));
  EXPECT_TRUE(pool().idle());
  EXPECT_EQ(observer_.Count("idle web"), 1u);
}

TEST_F(PoolTest, QueuedStartsKeepThePoolFromBeingIdleAndAScaleDownCancelsThem) {
  constexpr int kBatch = Pool::kStartBatch;
  config_.replicas = 2 * kBatch + 3;
  config_.restart = RestartPolicy::kNever;
  pool_ = std::make_unique<Pool>(config_, Services(), observer_);
  pool_->Start();
  scheduler_.RunPosted();
  ASSERT_EQ(os_.spawn_requests.size(), static_cast<size_t>(kBatch));
  // Every started worker exits and is not restarted: with starts still queued, not idle.
  for (int slot = 0; slot < kBatch; ++slot)
    Reap(Pid(slot), ExitedWith(0));
  EXPECT_FALSE(pool().idle());
  EXPECT_EQ(observer_.Count("idle web"), 0u);
  // A scale to kBatch + 1: the exited slots under it start again (what a scale does), slot
  // kBatch keeps its queued start, and the queued slots above it never start.
  pool().Scale(kBatch + 1);
  EXPECT_EQ(pool().pending_starts(), kBatch + 1);
  while (scheduler_.RunOneDue()) {
  }
  EXPECT_EQ(pool().pending_starts(), 0);
  EXPECT_EQ(os_.spawn_requests.size(), static_cast<size_t>(2 * kBatch + 1));
  EXPECT_EQ(pool().slot_count(), kBatch + 1);
  EXPECT_EQ(pool().CountIn(WorkerState::kExited), 0);
}

TEST_F(PoolTest, ABigPoolIsSignalledABatchPerTurnAndAWorkerGoneBeforeItsTurnIsLeftAlone) {
  constexpr int kBatch = Pool::kStopBatch;
  config_.replicas = 2 * kBatch + 5;
  StartPool();
  std::vector<pid_t> pids;
  for (int slot = 0; slot < config_.replicas; ++slot)
    pids.push_back(Pid(slot));
  pool().StopAll(StopCause::kDrain, /*fast=*/false, clock_.Now() + 10s);
  EXPECT_EQ(os_.signals.size(), 2u * kBatch);  // The first batch: SIGTERM and SIGCONT each.
  EXPECT_EQ(pool().CountIn(WorkerState::kStopping), config_.replicas);
  EXPECT_FALSE(pool().ready());
  const int early = kBatch + 3;  // Its turn has not come: it exits on its own.
  Reap(pids[early], ExitedWith(0));
  EXPECT_EQ(os_.signals.size(), 2u * kBatch + 1);  // Its group's SIGKILL sweep, nothing else.
  pool().StopAll(StopCause::kDrain, /*fast=*/true, clock_.Now() + 10s);
  EXPECT_EQ(os_.signals.size(), 2u * kBatch + 1);  // Queued behind the graceful ones.
  int turns = 0;
  clock_.SetTick(kTurnSlice);  // Each signal takes a whole slice: a batch is kStopBatch.
  while (scheduler_.RunOneDue())
    ++turns;
  clock_.SetTick(0s);
  // Queued: the graceful signals of the kBatch + 5 past the first batch (the early one's too,
  // skipped in its turn), then the fast ones of the 2 * kBatch + 4 still running.
  const int queued = (kBatch + 5) + (2 * kBatch + 4);
  EXPECT_EQ(turns, (queued + kBatch - 1) / kBatch);
  for (int slot = 0; slot < config_.replicas; ++slot) {
    if (slot == early) continue;
    EXPECT_THAT(GroupSignals(pids[slot]), ElementsAre(SIGTERM, SIGINT)) << "slot " << slot;
  }
  EXPECT_THAT(os_.SignalsTo(SignalCall::Target::kGroup, pids[early]), ElementsAre(SIGKILL));
  for (int slot = 0; slot < config_.replicas; ++slot) {
    if (slot != early) Reap(pids[slot], KilledBy(SIGINT));
  }
  EXPECT_TRUE(pool().idle());
  EXPECT_TRUE(pool().all_ended_gracefully());
  EXPECT_EQ(os_.spawn_requests.size(), static_cast<size_t>(config_.replicas));
  EXPECT_EQ(scheduler_.pending(), 0u);
}

// Regression: with 9,992 workers on a 2-CPU VM the loop was starved of CPU, the batches took
// longer than the 10 s stop timeout, and workers whose turn came late were SIGKILLed by their
// kill deadline (armed at the stop) before or just after their SIGTERM: the drain failed. Then
// (issue 13) the fix, sending every signal left at once once one had waited a tenth of the stop
// timeout, held PID 1 4.5 s in one callback at 9,989 workers and left their exits unreaped to
// the end. Now a worker's SIGKILL is armed when its signal goes, and a batch takes at most as
// long as the rest of the loop's turn (at least kStopBatch signals).
TEST_F(PoolTest, ABatchIsKStopBatchWhenSignalsAreSlow) {
  constexpr int kBatch = Pool::kStopBatch;
  config_.replicas = 4 * kBatch;
  StartPool();
  pool().StopAll(StopCause::kDrain, /*fast=*/false, clock_.Now() + 60s);
  EXPECT_EQ(os_.CountSignal(SIGTERM), kBatch);
  clock_.SetTick(kTurnSlice);  // each signal takes the whole slice: the minimum only
  for (int turn = 2; turn <= 4; ++turn) {
    ASSERT_TRUE(scheduler_.RunOneDue());
    EXPECT_EQ(os_.CountSignal(SIGTERM), turn * kBatch);
  }
  EXPECT_FALSE(scheduler_.RunOneDue());
}

TEST_F(PoolTest, ABatchGoesOnWhileTheTurnsSliceLasts) {
  constexpr int kBatch = Pool::kStopBatch;
  config_.replicas = 40 * kBatch;
  StartPool();
  pool().StopAll(StopCause::kDrain, /*fast=*/false, clock_.Now() + 600s);
  EXPECT_EQ(os_.CountSignal(SIGTERM), kBatch);
  clock_.SetTick(100us);  // cheap signals
  const MonoTime before = clock_.Now();
  ASSERT_TRUE(scheduler_.RunOneDue());
  const Duration took = clock_.Now() - before;
  clock_.SetTick(0s);
  const int sent = os_.CountSignal(SIGTERM) - kBatch;
  EXPECT_GT(sent, kBatch);            // more than the minimum,
  EXPECT_LT(sent, 39 * kBatch);       // not all of them:
  EXPECT_LE(took, kTurnSlice + 2ms);  // the slice, and the signal that ended it
}

TEST_F(PoolTest, AWorkerSignalledLateGetsItsWholeStopTimeout) {
  constexpr int kBatch = Pool::kStopBatch;
  config_.replicas = 2 * kBatch;
  config_.stop_timeout = 5s;
  StartPool();
  const MonoTime stop = clock_.Now();
  pool().StopAll(StopCause::kDrain, /*fast=*/false, stop + 5s);
  EXPECT_EQ(os_.CountSignal(SIGTERM), kBatch);
  clock_.Set(stop + 6s);  // The loop is 6 s late: past the first batch's kill.
  scheduler_.RunDue();
  EXPECT_EQ(os_.CountSignal(SIGTERM), 2 * kBatch);
  EXPECT_EQ(os_.CountSignal(SIGKILL), kBatch);  // the first batch only
  scheduler_.AdvanceTo(stop + 11s - 1ms);
  EXPECT_EQ(os_.CountSignal(SIGKILL), kBatch);
  scheduler_.AdvanceTo(stop + 11s);
  EXPECT_EQ(os_.CountSignal(SIGKILL), 2 * kBatch);
}

TEST_F(PoolTest, AtTheDeadlineTheQueuedSignalsGoAtOnceAndTheDeadlineKillsComeFirst) {
  constexpr int kBatch = Pool::kStopBatch;
  config_.replicas = 4 * kBatch;
  config_.stop_timeout = 5s;
  StartPool();
  const MonoTime stop = clock_.Now();
  pool().StopAll(StopCause::kDrain, /*fast=*/false, stop + 5s);
  clock_.SetTick(kTurnSlice);  // slow signals: one batch of kStopBatch
  ASSERT_TRUE(scheduler_.RunOneDue());
  clock_.SetTick(0s);
  EXPECT_EQ(os_.CountSignal(SIGTERM), 2 * kBatch);
  const MonoTime deadline = clock_.Now() + 1s;  // before the first batch's kill, at + 5s
  ASSERT_LT(deadline, stop + 5s);
  pool().StopAll(StopCause::kDrain, /*fast=*/true, deadline, /*at_deadline=*/true);
  EXPECT_EQ(os_.CountSignal(SIGTERM), 4 * kBatch);  // The queued ones, at once,
  EXPECT_EQ(os_.CountSignal(SIGINT), 4 * kBatch);   // then everyone's fast signal.
  EXPECT_FALSE(scheduler_.RunOneDue());
  scheduler_.AdvanceTo(deadline);  // The deadline's kill overtakes every later one.
  EXPECT_EQ(os_.CountSignal(SIGKILL), 4 * kBatch);
}

TEST_F(PoolTest, WorkersThatDieOfTheStopSignalEndGracefully) {
  config_.replicas = 2;
  config_.stop_signal = SIGQUIT;
  StartPool();
  pool().StopAll(StopCause::kDrain, /*fast=*/false, clock_.Now() + 10s);
  EXPECT_THAT(GroupSignals(100), ElementsAre(SIGQUIT));
  Reap(100, KilledBy(SIGQUIT));
  Reap(101, ExitedWith(0));
  EXPECT_TRUE(pool().idle());
  EXPECT_TRUE(pool().all_ended_gracefully());
  EXPECT_FALSE(pool().any_killed_at_deadline());
  EXPECT_EQ(scheduler_.pending(), 0u);
}

TEST_F(PoolTest, AFastStopUsesTheFastSignal) {
  config_.replicas = 2;
  config_.fast_stop_signal = SIGUSR2;
  StartPool();
  pool().StopAll(StopCause::kDrain, /*fast=*/true, clock_.Now() + 5s);
  EXPECT_THAT(os_.signals, ElementsAre(ToGroup(100, SIGUSR2), ToGroup(100, SIGCONT),
                                       ToGroup(101, SIGUSR2), ToGroup(101, SIGCONT)));
}

// Regression (issue 10, defect 15): a SIGSTOPped worker kept its stop signal pending until the
// deadline's SIGKILL. Like systemd, every signal Vigil sends to end a worker (stop, fast, the
// watchdog's SIGABRT) is followed by SIGCONT to the same group (which holds the main pid, so it
// is signalled once through the group); SIGKILL needs none
// and forwarded signals get none (a forwarded SIGHUP must not resume a stopped worker).
TEST_F(PoolTest, EveryStopSignalIsFollowedBySigcontSoAStoppedWorkerCanActOnIt) {
  config_.replicas = 2;
  config_.watchdog = 10s;
  config_.restart = RestartPolicy::kNever;
  StartPool();
  os_.process_groups[777] = 101;
  Send(1, "MAINPID=777", Pid(1));
  scheduler_.AdvanceBy(9s);
  Send(1, "WATCHDOG=1", Pid(1));
  scheduler_.AdvanceBy(1s);  // Slot 0 never pinged: SIGABRT.
  EXPECT_THAT(os_.SignalsTo(SignalCall::Target::kGroup, 100), ElementsAre(SIGABRT, SIGCONT));
  Reap(100, KilledBy(SIGABRT));
  os_.signals.clear();
  pool().ForwardSignal(SIGHUP);
  EXPECT_THAT(os_.signals, ElementsAre(ToGroup(101, SIGHUP)));
  os_.signals.clear();
  pool().StopAll(StopCause::kDrain, /*fast=*/false, clock_.Now() + 2s);
  EXPECT_THAT(os_.signals, ElementsAre(ToGroup(101, SIGTERM), ToGroup(101, SIGCONT)));
  os_.signals.clear();
  pool().StopAll(StopCause::kDrain, /*fast=*/true, clock_.Now() + 2s);
  EXPECT_THAT(os_.signals, ElementsAre(ToGroup(101, SIGINT), ToGroup(101, SIGCONT)));
  os_.signals.clear();
  scheduler_.AdvanceBy(2s);
  EXPECT_THAT(os_.signals, ElementsAre(ToGroup(101, SIGKILL)));
}

TEST_F(PoolTest, StopAllDuringBackoffEndsTheSlotAtOnce) {
  StartPool();
  Reap(100, ExitedWith(1));
  ASSERT_EQ(worker(0).state(), WorkerState::kBackoff);
  pool().StopAll(StopCause::kDrain, /*fast=*/false, clock_.Now() + 10s);
  EXPECT_TRUE(pool().idle());
  scheduler_.RunPosted();  // The end of the event: the idle report is posted.
  EXPECT_EQ(observer_.Count("idle web"), 1u);
  scheduler_.AdvanceBy(1h);
  EXPECT_EQ(os_.spawn_requests.size(), 1u);
}

TEST_F(PoolTest, ForwardedSignalsGoToEveryRunningWorkersGroupThroughTheRewrite) {
  config_.replicas = 2;
  ASSERT_TRUE(config_.forward_rewrite.AddRule("USR1:HUP").ok());
  ASSERT_TRUE(config_.forward_rewrite.AddRule("WINCH:0").ok());
  StartPool();
  Reap(101, ExitedWith(1));  // Slot 1 waits to restart: nothing to signal there.
  os_.signals.clear();
  pool().ForwardSignal(SIGUSR1);
  pool().ForwardSignal(SIGWINCH);
  pool().ForwardSignal(SIGUSR2);
  EXPECT_THAT(os_.signals, ElementsAre(ToGroup(100, SIGHUP), ToGroup(100, SIGUSR2)));
}

// ---------------------------------------------------------------------------------------------
// Recycling: one worker at a time
// ---------------------------------------------------------------------------------------------

TEST_F(PoolTest, RecyclingReplacesOneWorkerAtATimeEachOnceTheLastReplacementIsReady) {
  config_.replicas = 2;
  config_.readiness.mode = ReadinessMode::kNotify;
  config_.max_lifetime = 60s;
  StartPool();
  Send(0, "READY=1", 100);
  Send(1, "READY=1", 101);
  scheduler_.AdvanceBy(60s);  // Both are due.
  EXPECT_THAT(GroupSignals(100), ElementsAre(SIGTERM));
  EXPECT_THAT(GroupSignals(101), IsEmpty());
  Reap(100, KilledBy(SIGTERM));
  ASSERT_EQ(observer_.exits.size(), 1u);
  EXPECT_EQ(observer_.exits[0].reason, ExitReason::kRecycled);
  EXPECT_FALSE(observer_.exits[0].failure);
  EXPECT_EQ(Pid(0), 102);                     // Replaced at once, without a backoff.
  EXPECT_THAT(GroupSignals(101), IsEmpty());  // Its replacement is not ready yet.
  Send(0, "READY=1", 102);
  EXPECT_THAT(GroupSignals(101), ElementsAre(SIGTERM));
  Reap(101, KilledBy(SIGTERM));
  EXPECT_EQ(Pid(1), 103);
  EXPECT_EQ(pool().counters().exits_by_reason[static_cast<int>(ExitReason::kRecycled)], 2u);
}

// ---------------------------------------------------------------------------------------------
// Rolling restarts: max_unavailable at a time, in the same queue as recycling
// ---------------------------------------------------------------------------------------------

TEST_F(PoolTest, ARollingRestartStopsABatchAtATimeEachOnceTheLastReplacementsAreReady) {
  config_.replicas = 3;
  config_.readiness.mode = ReadinessMode::kNotify;
  StartPool();
  for (int slot = 0; slot < 3; ++slot)
    Send(slot, "READY=1", 100 + slot);
  pool().RollingRestart(2);
  EXPECT_THAT(GroupSignals(100), ElementsAre(SIGTERM));
  EXPECT_THAT(GroupSignals(101), ElementsAre(SIGTERM));
  EXPECT_THAT(GroupSignals(102), IsEmpty());
  Reap(100, KilledBy(SIGTERM));
  Reap(101, KilledBy(SIGTERM));
  ASSERT_EQ(observer_.exits.size(), 2u);
  EXPECT_EQ(observer_.exits[0].reason, ExitReason::kAdmin);
  EXPECT_FALSE(observer_.exits[0].failure);
  EXPECT_EQ(Pid(0), 103);  // Replaced at once.
  EXPECT_EQ(Pid(1), 104);
  Send(0, "READY=1", 103);
  EXPECT_THAT(GroupSignals(102), IsEmpty());  // Slot 1's replacement is not ready yet.
  Send(1, "READY=1", 104);
  EXPECT_THAT(GroupSignals(102), ElementsAre(SIGTERM));
}

// Regression test for a fixed bug: recycling and rolling restarts had a queue each, so a worker
// reaching max_lifetime during a rolling restart was stopped at once, beside the restart's batch:
// with max_unavailable 1, two workers of two were down together and the pool lost its
// readiness. Recycling now waits its turn in the restart's queue (a slot the restart will
// replace anyway is replaced once).
TEST_F(PoolTest, AWorkerDueForRecyclingDuringARollingRestartWaitsForTheRestartsBatch) {
  config_.replicas = 2;
  config_.readiness.mode = ReadinessMode::kNotify;
  config_.max_lifetime = 60s;
  StartPool();
  Send(0, "READY=1", 100);
  Send(1, "READY=1", 101);
  scheduler_.AdvanceBy(30s);
  pool().RollingRestart(1);
  Reap(100, KilledBy(SIGTERM));
  ASSERT_EQ(Pid(0), 102);     // Its replacement, not ready yet...
  scheduler_.AdvanceBy(30s);  // ...when slot 1 reaches its max_lifetime.
  EXPECT_THAT(GroupSignals(101), IsEmpty());
  EXPECT_EQ(pool().CountIn(WorkerState::kReady), 1);
  Send(0, "READY=1", 102);
  EXPECT_THAT(GroupSignals(101), ElementsAre(SIGTERM));
  Reap(101, KilledBy(SIGTERM));
  EXPECT_EQ(Pid(1), 103);
  scheduler_.AdvanceBy(10min);
  EXPECT_EQ(os_.spawn_requests.size(), 4u);  // Replaced once, not once more for its lifetime.
}

// ---------------------------------------------------------------------------------------------
// Teardown
// ---------------------------------------------------------------------------------------------

TEST_F(PoolTest, DestroyingThePoolCancelsItsTimersAndUnwatchesItsSockets) {
  config_.replicas = 2;
  config_.readiness.mode = ReadinessMode::kNotify;
  config_.watchdog = 10s;
  StartPool();
  Send(0, "WATCHDOG=1", 100);
  ASSERT_GT(scheduler_.pending(), 0u);
  ASSERT_EQ(watcher_.watched_count(), 2u);
  pool_.reset();
  EXPECT_EQ(scheduler_.pending(), 0u);
  EXPECT_EQ(watcher_.watched_count(), 0u);
}

// The probes' timers (the next probe, the running one's timeout) are Timer handles: a pool
// destroyed while a probe runs leaves nothing armed behind, and its probe is killed.
TEST_F(PoolTest, DestroyingThePoolWhileAProbeRunsCancelsTheProbesTimers) {
  config_.readiness.mode = ReadinessMode::kExec;
  config_.readiness.command = {"check"};
  config_.readiness.timeout = 5s;
  StartPool();
  scheduler_.AdvanceBy(100ms);  // The probe runs (pid 101), its timeout armed.
  ASSERT_EQ(os_.spawn_requests.size(), 2u);
  ASSERT_GT(scheduler_.pending(), 0u);
  pool_.reset();
  EXPECT_EQ(scheduler_.pending(), 0u);
  EXPECT_THAT(GroupSignals(101), ElementsAre(SIGKILL));
}

}  // namespace
}  // namespace vigil
