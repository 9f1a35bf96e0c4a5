// ControlLink: the core's supervision of vigil-control (agent/ipc/control_link.h), against the
// fakes: when it is started again after it died. Pools have no replicas here, so every spawn is
// vigil-control's and its pid is the last one FakeOs handed out.
#include "agent/ipc/control_link.h"

#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "agent/ipc/frame.h"

#include "tests/fakes/supervisor_harness.h"

namespace vigil::testing {
namespace {

using namespace std::chrono_literals;

class ControlLinkTest : public SupervisorHarness {
 protected:
  void StartLink() {
    for (PoolConfig& p : config_.pools)
      p.replicas = 0;
    Start();
    StartLinkOnly();
  }
  void StartLinkOnly() {
    link_ = std::make_unique<ControlLink>(config_, sup(), os_, scheduler_, watcher_, clock_,
                                          "vigil-control");
    sup().SetListener(link_.get());
    const int before = Spawns();
    link_->Start();
    ASSERT_EQ(Spawns(), before + 1);
  }
  // One pool "big" of `workers` (spawned without pidfds: one descriptor each, their notify
  // socket's), each ready with a STATUS= of `status_length` bytes.
  void StartBigPool(int workers, size_t status_length) {
    PoolConfig big = MakePool("big");
    big.replicas = workers;
    big.min_ready = workers;
    big.readiness.mode = ReadinessMode::kNotify;
    big.log_prefix = false;
    config_.pools = {big};
    os_.next_unscripted_pid = 0;
    for (int i = 0; i < workers; ++i) {
      os_.ScriptSpawnSuccess(1000 + i, /*with_pidfd=*/false);
      os_.process_groups[1000 + i] = 1000 + i;  // Each leads its group: its datagrams are its.
    }
    Start();
    const std::string status = "STATUS=" + std::string(status_length, '\xff');
    for (int slot = 0; slot < workers; ++slot) {
      SendTo(slot, "READY=1");
      if (status_length > 0) SendTo(slot, status);
    }
    os_.next_unscripted_pid = 500000;
  }
  void TearDown() override {
    if (supervisor_) sup().SetListener(nullptr);
    link_.reset();
    SupervisorHarness::TearDown();
  }

  int Spawns() const {
    int n = 0;
    for (const SpawnRequest& r : os_.spawn_requests)
      n += !r.argv.empty() && r.argv[0] == "vigil-control";
    return n;
  }
  pid_t ControlPid() const { return os_.next_unscripted_pid - 1; }

  // SIGKILLs the running vigil-control now; returns how long until it was started again.
  Duration KillAndTimeRestart() {
    const int before = Spawns();
    const MonoTime died = clock_.Now();
    EXPECT_TRUE(link_->OnProcessExited(ControlPid(), KilledBy(SIGKILL)));
    scheduler_.RunDue();
    while (Spawns() == before && clock_.Now() - died < 1h)
      scheduler_.AdvanceBy(10ms);
    EXPECT_EQ(Spawns(), before + 1);
    return clock_.Now() - died;
  }
  std::vector<Duration> QuickDeaths(int n) {
    std::vector<Duration> delays;
    for (int i = 0; i < n; ++i)
      delays.push_back(KillAndTimeRestart());
    return delays;
  }

  // Plays vigil-control: writes `bytes` on its end and lets the core's loop read them.
  void ControlWrites(const std::string& bytes) {
    ASSERT_EQ(::send(os_.passed_fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
    const std::vector<int> fds = watcher_.WatchedFds();
    ASSERT_FALSE(fds.empty());
    ASSERT_TRUE(watcher_.Fire(fds.back()));  // The socket is the last fd watched.
  }
  // Every CoreMessage the core has written to vigil-control so far.
  std::vector<internal::v1::CoreMessage> ControlReads() {
    char buf[65536];
    for (;;) {
      ssize_t n = ::recv(os_.passed_fd.get(), buf, sizeof buf, MSG_DONTWAIT);
      if (n <= 0) break;
      decoder_.Append(buf, static_cast<size_t>(n));
    }
    std::vector<internal::v1::CoreMessage> out;
    bool corrupt = false;
    while (auto payload = decoder_.Next(&corrupt)) {
      out.emplace_back();
      EXPECT_TRUE(out.back().ParseFromString(*payload));
    }
    return out;
  }

  // A datagram from the worker of `slot` of the one pool, which ran once (notify sockets were
  // opened in slot order): quicker than the harness's Send, which looks the socket up by name.
  void SendTo(int slot, const std::string& text) {
    const int fd = notify_.opened[static_cast<size_t>(slot)].fd;
    notify_.Queue(fd, text, 1000 + slot);
    ASSERT_TRUE(watcher_.Fire(fd));
  }
  // Reads everything the core sends, letting it write more whenever the socket drained, until
  // it has nothing left; returns the frames' sizes and messages.
  struct Received {
    std::vector<size_t> frame_sizes;
    std::vector<internal::v1::CoreMessage> messages;
  };
  Received ReadAll() {
    Received got;
    FrameDecoder decoder;
    std::string buf(1 << 20, '\0');
    const int fd = watcher_.WatchedFds().back();
    for (;;) {
      const ssize_t n = ::recv(os_.passed_fd.get(), buf.data(), buf.size(), MSG_DONTWAIT);
      if (n > 0) {
        decoder.Append(buf.data(), static_cast<size_t>(n));
        bool corrupt = false;
        while (auto payload = decoder.Next(&corrupt)) {
          got.frame_sizes.push_back(payload->size());
          got.messages.emplace_back();
          EXPECT_TRUE(got.messages.back().ParseFromString(*payload));
        }
        EXPECT_FALSE(corrupt);
        continue;
      }
      if (!watcher_.FireWritable(fd)) break;  // The core has nothing left to send.
    }
    return got;
  }
  // The fake workers hold one real descriptor each (their notify socket). Raises the limit
  // for `wanted` workers when allowed (CAP_SYS_RESOURCE); returns how many fit, and says so
  // when that is fewer.
  static int WorkersThatFit(int wanted) {
    const rlim_t need = static_cast<rlim_t>(wanted) + 1000;
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_cur < need) {
      rlimit raised{need, std::max(need, limit.rlim_max)};
      if (::setrlimit(RLIMIT_NOFILE, &raised) != 0 && limit.rlim_max > limit.rlim_cur) {
        limit.rlim_cur = limit.rlim_max;  // Up to the hard limit, then.
        ::setrlimit(RLIMIT_NOFILE, &limit);
      }
      ::getrlimit(RLIMIT_NOFILE, &limit);
    }
    const int fit = static_cast<int>(std::min<rlim_t>(wanted, limit.rlim_cur - 1000));
    if (fit < wanted) {
      std::cout << "[ NOTE     ] RLIMIT_NOFILE " << limit.rlim_cur
                << " (no CAP_SYS_RESOURCE): " << fit << " workers instead of " << wanted << "\n";
    }
    ::testing::Test::RecordProperty("workers", fit);
    return fit;
  }

  std::unique_ptr<ControlLink> link_;
  FrameDecoder decoder_;
};

// vigil-control is a child like any other: it gets the ChildEnvironment, never the variables
// that describe Vigil's own supervisor (a NOTIFY_SOCKET it could speak for Vigil on).
TEST_F(ControlLinkTest, VigilControlGetsTheChildEnvironmentWithoutTheOuterSupervisorsVariables) {
  environment_ = ChildEnvironment({"PATH=/bin", "NOTIFY_SOCKET=/run/outer", "WATCHDOG_USEC=5"});
  StartLink();
  const SpawnRequest* control = nullptr;
  for (const SpawnRequest& r : os_.spawn_requests) {
    if (!r.argv.empty() && r.argv[0] == "vigil-control") control = &r;
  }
  ASSERT_NE(control, nullptr);
  ASSERT_TRUE(control->env.has_value());
  EXPECT_EQ(*control->env, std::vector<std::string>{"PATH=/bin"});
}

TEST_F(ControlLinkTest, QuickDeathsBackOffDoublingTo30s) {
  StartLink();
  EXPECT_EQ(QuickDeaths(7), (std::vector<Duration>{1s, 2s, 4s, 8s, 16s, 30s, 30s}));
  EXPECT_EQ(link_->restarts(), 7);
}

// Regression test (issue 10, defect 8): the backoff never reset, so vigil-control killed after
// hours of healthy running waited 30 s to come back, and liveness failed meanwhile.
TEST_F(ControlLinkTest, AStableRunResetsTheBackoffAndRestartsAtOnce) {
  StartLink();
  QuickDeaths(6);             // The backoff is at its 30 s cap.
  scheduler_.AdvanceBy(60s);  // Then it runs well for the stable period.
  EXPECT_EQ(KillAndTimeRestart(), 0s);
  EXPECT_EQ(QuickDeaths(3), (std::vector<Duration>{1s, 2s, 4s}));
}

TEST_F(ControlLinkTest, TheFirstDeathAfterAStableStartIsRestartedAtOnce) {
  StartLink();
  scheduler_.AdvanceBy(2h);
  EXPECT_EQ(KillAndTimeRestart(), 0s);
}

TEST_F(ControlLinkTest, ARunShorterThanTheStablePeriodKeepsTheBackoff) {
  StartLink();
  QuickDeaths(5);             // Next: 30 s.
  scheduler_.AdvanceBy(59s);  // Not quite stable.
  EXPECT_EQ(KillAndTimeRestart(), 30s);
}

TEST_F(ControlLinkTest, APingIsAnsweredAtOnce) {
  StartLink();
  ControlReads();  // The options and the snapshot.
  internal::v1::ControlMessage m;
  m.mutable_command()->set_id(42);
  m.mutable_command()->mutable_ping();
  ControlWrites(EncodeFrame(m.SerializeAsString()));
  const auto replies = ControlReads();
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].result().id(), 42u);
  EXPECT_EQ(replies[0].result().code(), 0);
}

// vigil-control's options are the first frame of every connection, before the snapshot, and
// not flags: it is spawned with no argument at all.
TEST_F(ControlLinkTest, EveryStartSendsTheOptionsFirstThenTheSnapshot) {
  config_.control.socket = "/run/test/control.sock";
  config_.control.health_port = 9901;
  config_.control.metrics_address = "127.0.0.1:9180";
  config_.log_format = log::Format::kJson;
  StartLink();
  for (int start = 0; start < 3; ++start) {
    ASSERT_EQ(os_.spawn_requests.back().argv, std::vector<std::string>{"vigil-control"});
    const Received got = ReadAll();
    ASSERT_GE(got.messages.size(), 2u) << "start " << start;
    ASSERT_TRUE(got.messages[0].has_options()) << "start " << start;
    const internal::v1::ControlOptions& o = got.messages[0].options();
    EXPECT_EQ(o.socket(), "/run/test/control.sock");
    EXPECT_EQ(o.health_port(), 9901u);
    EXPECT_EQ(o.metrics_address(), "127.0.0.1:9180");
    EXPECT_EQ(o.log_format(), internal::v1::LOG_FORMAT_JSON);
    EXPECT_TRUE(got.messages[1].has_snapshot()) << "start " << start;
    EXPECT_TRUE(got.messages[1].snapshot().first()) << "start " << start;
    for (size_t i = 1; i < got.messages.size(); ++i)
      EXPECT_FALSE(got.messages[i].has_options()) << "start " << start << ", message " << i;
    KillAndTimeRestart();  // The next start, on a new socket, sends them again.
  }
}

// A drain command carries a typed trigger; the core takes only the two a client may ask for.
TEST_F(ControlLinkTest, ADrainWithATriggerNoClientMayAskForIsRefused) {
  StartLink();
  ControlReads();
  for (auto trigger :
       {internal::v1::DRAIN_TRIGGER_UNSPECIFIED, internal::v1::DRAIN_TRIGGER_SIGNAL,
        internal::v1::DRAIN_TRIGGER_FAST_STOP, static_cast<internal::v1::DrainTrigger>(99)}) {
    internal::v1::ControlMessage m;
    m.mutable_command()->set_id(7);
    m.mutable_command()->mutable_drain()->set_trigger(trigger);
    ControlWrites(EncodeFrame(m.SerializeAsString()));
    const auto replies = ControlReads();
    ASSERT_EQ(replies.size(), 1u) << trigger;
    EXPECT_EQ(replies[0].result().code(), 3) << trigger;  // INVALID_ARGUMENT
    EXPECT_EQ(replies[0].result().message(),
              "a drain's trigger must be prestop or api, not " + std::to_string(trigger));
    EXPECT_FALSE(sup().drain().started) << trigger;
  }
  internal::v1::ControlMessage m;
  m.mutable_command()->set_id(8);
  m.mutable_command()->mutable_drain()->set_trigger(internal::v1::DRAIN_TRIGGER_PRESTOP);
  ControlWrites(EncodeFrame(m.SerializeAsString()));
  ASSERT_TRUE(sup().drain().started);
  EXPECT_EQ(sup().drain().trigger, DrainTrigger::kPreStop);
  // No worker to stop: the preStop drain completes at once and holds until the stop signal.
  internal::v1::Event last;
  for (const auto& reply : ControlReads()) {
    if (reply.has_event() && reply.event().kind() == internal::v1::Event::DRAIN) {
      EXPECT_EQ(reply.event().drain().trigger(), internal::v1::DRAIN_TRIGGER_PRESTOP);
      last = reply.event();
    }
  }
  EXPECT_EQ(last.kind(), internal::v1::Event::DRAIN);
  EXPECT_EQ(last.phase(), internal::v1::PHASE_DRAINED);
  EXPECT_TRUE(last.drain().complete());
}

// Garbage from vigil-control: named, vigil-control killed and started again, workers untouched.
TEST_F(ControlLinkTest, AFrameOverTheLimitRestartsTheControlPlane) {
  StartLink();
  const pid_t control = ControlPid();
  ControlWrites(std::string("\xff\xff\xff\xff", 4));
  EXPECT_EQ(os_.SignalsTo(SignalCall::Target::kPid, control), std::vector<int>{SIGKILL});
  EXPECT_EQ(KillAndTimeRestart(), 1s);
}

TEST_F(ControlLinkTest, AFrameThatIsNotACommandRestartsTheControlPlane) {
  StartLink();
  const pid_t control = ControlPid();
  ControlWrites(EncodeFrame("\x0a\xff\xff garbage"));
  EXPECT_EQ(os_.SignalsTo(SignalCall::Target::kPid, control), std::vector<int>{SIGKILL});
}

// Issue 10, defect 6: the largest pool the config accepts (100000 replicas), every worker with
// the longest STATUS= a datagram holds (4089 bytes). The snapshot goes out in parts no bigger
// than kPartBudget and one worker, made as the socket drains: the core never holds more than
// about one part of it, whatever the size of the pool. (Before: one 410 MB frame, over the
// 16 MiB limit, and vigil-control was killed over and over.)
TEST_F(ControlLinkTest, TheLargestPoolTravelsInFramesOfBoundedSize) {
  const int kWorkers = WorkersThatFit(100000);  // The config's maximum of replicas.
  constexpr size_t kStatus = 4089;
  StartBigPool(kWorkers, kStatus);
  StartLinkOnly();
  const Received got = ReadAll();
  std::vector<bool> seen(static_cast<size_t>(kWorkers), false);
  size_t largest = 0;
  ASSERT_FALSE(got.messages.empty());
  ASSERT_TRUE(got.messages[0].has_options());
  for (size_t i = 1; i < got.messages.size(); ++i) {
    const internal::v1::Snapshot& part = got.messages[i].snapshot();
    ASSERT_TRUE(got.messages[i].has_snapshot());
    EXPECT_EQ(part.first(), i == 1);
    EXPECT_EQ(part.last(), i + 1 == got.messages.size());
    largest = std::max(largest, got.frame_sizes[i]);
    for (const auto& pool : part.pools()) {
      EXPECT_EQ(pool.slots(), kWorkers);
      for (const auto& w : pool.workers()) {
        ASSERT_FALSE(seen[static_cast<size_t>(w.slot())]) << "slot " << w.slot() << " twice";
        seen[static_cast<size_t>(w.slot())] = true;
        EXPECT_EQ(w.status_text().size(), kStatus);
        EXPECT_EQ(w.pid(), 1000 + w.slot());
      }
    }
  }
  EXPECT_EQ(std::count(seen.begin(), seen.end(), true), kWorkers);
  EXPECT_GT(got.messages.size(), static_cast<size_t>(kWorkers) / 100);
  EXPECT_LE(largest, kPartBudget + kStatus + 256);
  EXPECT_EQ(link_->events_dropped(), 0u);
}

// Issue 13: a drain reaps its workers by the hundred in one event. Their events go out together
// at the end of it, in slot order, with the drain's progress once (the last state) instead of
// after every exit: before, each exit sent a DRAIN event too (1,000 exits, 1,000 progress
// events, each a write that woke vigil-control), which lengthened the drain's tail.
TEST_F(ControlLinkTest, ABurstOfExitsSendsItsWorkersInOrderAndTheDrainsProgressOnce) {
  constexpr int kWorkers = 50;
  StartBigPool(kWorkers, 0);
  StartLinkOnly();
  ReadAll();
  Signal(SIGTERM);
  ReadAll();
  for (int slot = 0; slot < kWorkers; ++slot)
    os_.QueueReaped(1000 + slot, ExitedWith(0));
  sup().OnSignal(ReceivedSignal{SIGCHLD, 1000, CLD_EXITED});
  // Written by work the burst posted at its end, after what the burst itself posted, in the
  // same turn of the loop.
  EXPECT_TRUE(ControlReads().empty()) << "written inside the event";
  scheduler_.RunPosted();
  std::vector<internal::v1::CoreMessage> got = ControlReads();
  int exited = 0;
  std::vector<int> progress;  // workers_remaining of each DRAIN event
  for (const auto& m : got) {
    ASSERT_TRUE(m.has_event());
    if (m.event().kind() == internal::v1::Event::WORKER_EXITED) {
      EXPECT_EQ(m.event().slot(), exited) << "out of order";
      EXPECT_TRUE(progress.empty()) << "the progress comes after the burst's workers";
      ++exited;
    } else if (m.event().kind() == internal::v1::Event::DRAIN) {
      progress.push_back(m.event().drain().workers_remaining());
    }
  }
  EXPECT_EQ(exited, kWorkers);
  EXPECT_EQ(progress, std::vector<int>{0});
  // No hooks: the drain completed in the same event, and its one DRAIN event says so.
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back().event().kind(), internal::v1::Event::DRAIN);
  EXPECT_TRUE(got.back().event().drain().complete());
  scheduler_.RunPosted();
  EXPECT_TRUE(ControlReads().empty());
}

// A crashed worker's replacement is spawned before vigil-control hears of the crash: the
// exit, the replacement's start and the agent's state go out together after the spawn, so that
// vigil-control's wake-up does not compete with the spawn (docs/performance.md, scenario 6).
TEST_F(ControlLinkTest, ACrashIsWrittenAfterItsReplacementIsSpawned) {
  PoolConfig web = MakePool("web");
  web.replicas = 1;
  web.backoff.initial = Duration::zero();
  web.backoff.jitter = 0;
  config_.pools = {web};
  os_.next_unscripted_pid = 0;
  os_.ScriptSpawnSuccess(1000, /*with_pidfd=*/false);
  Start();
  os_.next_unscripted_pid = 500000;
  StartLinkOnly();
  ReadAll();
  const size_t spawns = os_.spawn_requests.size();
  UniqueFd control = std::move(os_.passed_fd);  // The fake keeps the last spawn's.
  os_.QueueReaped(1000, ExitedWith(1));
  sup().OnSignal(ReceivedSignal{SIGCHLD, 1000, CLD_EXITED});
  os_.passed_fd = std::move(control);
  EXPECT_TRUE(ControlReads().empty()) << "the crash was written before the replacement's spawn";
  control = std::move(os_.passed_fd);
  scheduler_.RunPosted();
  os_.passed_fd = std::move(control);
  ASSERT_EQ(os_.spawn_requests.size(), spawns + 1) << "no zero-delay replacement";
  // All of it now, in order: the crash, then the replacement (another pid) starting.
  int exited = -1;
  int replacement = -1;
  const std::vector<internal::v1::CoreMessage> got = ControlReads();
  for (size_t i = 0; i < got.size(); ++i) {
    const internal::v1::Event& e = got[i].event();
    if (e.kind() == internal::v1::Event::WORKER_EXITED) exited = static_cast<int>(i);
    if (e.kind() == internal::v1::Event::WORKER_STATE && e.worker().pid() > 0 &&
        e.worker().pid() != 1000) {
      replacement = static_cast<int>(i);
    }
  }
  EXPECT_GE(exited, 0) << "no WORKER_EXITED";
  EXPECT_GT(replacement, exited) << "no WORKER_STATE of the replacement after the exit";
}

// A control plane that falls more than kMaxBacklog behind (here: thousands of 4 KB events while
// it reads nothing) loses those events and gets a fresh snapshot instead; it is not killed, the
// core's buffer stays bounded, and what it finally reads is the current state.
TEST_F(ControlLinkTest, FallingBehindDropsEventsForAFreshSnapshot) {
  constexpr int kWorkers = 6000;
  ASSERT_EQ(WorkersThatFit(kWorkers), kWorkers);
  StartBigPool(kWorkers, 0);  // Ready, no status text yet.
  StartLinkOnly();
  const pid_t control = ControlPid();
  ReadAll();                                   // The first snapshot.
  for (int slot = 0; slot < kWorkers; ++slot)  // 6000 events of 4 KB, none read meanwhile.
    SendTo(slot, "STATUS=" + std::string(4089, 'a' + slot % 26));
  EXPECT_GT(link_->events_dropped(), 0u);
  EXPECT_TRUE(os_.SignalsTo(SignalCall::Target::kPid, control).empty());
  const Received got = ReadAll();
  // The last complete snapshot holds every worker's last status.
  int last_first = -1;
  for (size_t i = 0; i < got.messages.size(); ++i) {
    if (got.messages[i].snapshot().first()) last_first = static_cast<int>(i);
  }
  ASSERT_GE(last_first, 0) << "no fresh snapshot";
  ASSERT_TRUE(got.messages.back().snapshot().last());
  int workers = 0;
  for (size_t i = static_cast<size_t>(last_first); i < got.messages.size(); ++i) {
    for (const auto& pool : got.messages[i].snapshot().pools()) {
      for (const auto& w : pool.workers()) {
        EXPECT_EQ(w.status_text(), std::string(4089, 'a' + w.slot() % 26));
        ++workers;
      }
    }
  }
  EXPECT_EQ(workers, kWorkers);
}

// The hole dropped events leave is marked where it is: the fresh snapshot's first part comes
// before any event that follows the hole, also within a burst (a drain's exits), whose events
// are written together. Otherwise vigil-control applies those events to a picture that misses
// the dropped ones and serves it as whole (workers left STOPPING after a drain: CI, stop 20).
TEST_F(ControlLinkTest, AfterAHoleTheFreshSnapshotComesBeforeAnyLaterEvent) {
  constexpr int kWorkers = 6000;
  ASSERT_EQ(WorkersThatFit(kWorkers), kWorkers);
  StartBigPool(kWorkers, 0);
  StartLinkOnly();
  ReadAll();  // The first snapshot.
  link_->BeginBurst();
  for (int slot = 0; slot < kWorkers; ++slot)  // One 4 KB event per slot, in slot order.
    SendTo(slot, "STATUS=" + std::string(4089, 'a' + slot % 26));
  link_->EndBurst();
  ASSERT_GT(link_->events_dropped(), 0u);
  const Received got = ReadAll();
  // Walk the stream as vigil-control reads it: after a gap in the slots of the events, a
  // snapshot's first part must come before the next event.
  int next_slot = 0;
  bool fresh = false;  // a first part has come since the last gap
  int gaps = 0;
  for (const internal::v1::CoreMessage& m : got.messages) {
    if (m.has_snapshot() && m.snapshot().first()) fresh = true;
    if (!m.has_event() || m.event().kind() != internal::v1::Event::WORKER_STATE) continue;
    const int slot = m.event().slot();
    if (slot != next_slot) {
      ++gaps;
      EXPECT_TRUE(fresh) << "the event of slot " << slot << " follows a hole (after slot "
                         << next_slot - 1 << ") before the fresh snapshot's first part";
    }
    fresh = false;
    next_slot = slot + 1;
  }
  EXPECT_GT(gaps, 0) << "no hole in the events received";
  ASSERT_FALSE(got.messages.empty());
  EXPECT_TRUE(got.messages.back().snapshot().last());
}

// A control plane that asks and never reads the answers is stuck: killed once they pass the
// limit (answers are never dropped), not before.
TEST_F(ControlLinkTest, AnswersLeftUnreadPastTheLimitRestartTheControlPlane) {
  StartLink();
  ReadAll();
  const pid_t control = ControlPid();
  internal::v1::ControlMessage m;
  m.mutable_command()->mutable_metrics();
  std::string commands;
  for (int i = 0; i < 100; ++i)
    commands += EncodeFrame(m.SerializeAsString());
  size_t sent = 0;
  while (os_.SignalsTo(SignalCall::Target::kPid, control).empty() && sent < 100000) {
    ControlWrites(commands);
    sent += 100;
  }
  EXPECT_EQ(os_.SignalsTo(SignalCall::Target::kPid, control), std::vector<int>{SIGKILL});
  EXPECT_GT(sent, 100u);  // Not at the first answers.
}

// A control plane that reads nothing at all while output waits (SIGSTOP, a deadlock) is killed
// after kStallTimeout without progress, not before; one that reads, however slowly, is not.
TEST_F(ControlLinkTest, OnlyAControlPlaneThatReadsNothingIsKilledAsStuck) {
  StartBigPool(300, 0);
  StartLinkOnly();
  const pid_t control = ControlPid();
  ReadAll();
  for (int slot = 0; slot < 300; ++slot)  // 1.2 MB of events: more than the socket holds.
    SendTo(slot, "STATUS=" + std::string(4089, 'a'));
  scheduler_.AdvanceBy(9s);
  char buf[65536];
  ASSERT_GT(::recv(os_.passed_fd.get(), buf, sizeof buf, MSG_DONTWAIT), 0);  // A little.
  ASSERT_TRUE(watcher_.FireWritable(watcher_.WatchedFds().back()));
  scheduler_.AdvanceBy(9s);  // 18 s since the start, 9 s since it last read.
  EXPECT_TRUE(os_.SignalsTo(SignalCall::Target::kPid, control).empty());
  scheduler_.AdvanceBy(1s);
  EXPECT_EQ(os_.SignalsTo(SignalCall::Target::kPid, control), std::vector<int>{SIGKILL});
}

TEST_F(ControlLinkTest, NoStallTimerWhileNothingWaits) {
  StartLink();
  ReadAll();
  EXPECT_EQ(scheduler_.pending(), 0u);  // The idle core has no timer (zero wake-ups).
}

}  // namespace
}  // namespace vigil::testing
