// SupervisorHarness: a GoogleTest fixture holding a Supervisor whose pools run against every
// fake (FakeOs, FakeScheduler, FakeClock, FakeFdWatcher, FakeNotifyTransport, FakeRandom), for
// the tests of the Supervisor and of what is built from it (metrics, status).
//
// config_ starts as two pools "a" and "b" of one replica ("a-server", "b-server", no jitter);
// tests change it before Start(). Pools spawn in file order, so with one replica each pool i's
// first worker is pid 100 + i. Signals and SIGCHLD are delivered by hand, reaped exits are
// scripted in FakeOs, and time moves only when the test says so. Each of Start(), Signal(),
// Reap() and Send() is one event of the loop: the work it posted runs before it returns, as the
// real loop runs it before waiting again.
#pragma once

#include <signal.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "agent/supervisor/supervisor.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/fake_fd_watcher.h"
#include "tests/fakes/fake_notify_transport.h"
#include "tests/fakes/fake_os.h"
#include "tests/fakes/fake_random.h"
#include "tests/fakes/fake_scheduler.h"
#include "tests/fakes/fake_tcp_table.h"
#include "tests/fakes/pool_checks.h"

namespace vigil::testing {

constexpr int ExitedWith(int code) {
  return W_EXITCODE(code, 0);
}
constexpr int KilledBy(int signo) {
  return W_EXITCODE(0, signo);
}
inline constexpr pid_t kShell = 999;  // Whoever sends Vigil signals (the kubelet, a shell).

inline PoolConfig MakePool(const std::string& name) {
  PoolConfig p;
  p.name = name;
  p.command = {name + "-server"};
  p.backoff.jitter = 0;
  return p;
}

class SupervisorHarness : public ::testing::Test {
 protected:
  SupervisorHarness() {
    config_.source = "test";
    config_.pools = {MakePool("a"), MakePool("b")};
    // The drain's tests predate `propagation_delay: auto`: no delay unless a test sets one
    // (the auto delay's own tests turn it on, with tcp_).
    config_.drain.propagation_auto = false;
    os_.next_unscripted_pid = 100;
  }

  // Creates the supervisor for config_ as it is now and starts it: every worker has been
  // spawned when it returns (a pool past Pool::kStartBatch takes that many turns of the loop).
  void Start() {
    PoolServices services{os_, scheduler_, watcher_, notify_, clock_, random_, false};
    services.environment = &environment_;
    services.tcp = &tcp_;
    supervisor_ = std::make_unique<Supervisor>(config_, std::move(services));
    supervisor_->Start();
    scheduler_.RunPosted();
    const auto starting = [this] {
      for (const auto& pool : supervisor_->pools()) {
        if (pool->pending_starts() > 0) return true;
      }
      return false;
    };
    while (starting() && scheduler_.RunOneDue()) {
    }
  }
  Supervisor& sup() { return *supervisor_; }

  // Every test also checks each pool's O(1) per-state counts against a scan of its workers.
  void TearDown() override {
    if (!supervisor_) return;
    for (const auto& p : supervisor_->pools())
      ExpectStateCountsMatchWorkers(*p);
  }
  const Pool& pool(int i) { return *sup().pools()[static_cast<size_t>(i)]; }
  const Worker& worker(int pool_index, int slot) {
    return *pool(pool_index).workers()[static_cast<size_t>(slot)];
  }

  void Signal(int signo, pid_t sender = kShell) {
    sup().OnSignal(ReceivedSignal{signo, sender, SI_USER});
    scheduler_.RunPosted();
  }
  // `pid` ended with `status`; Vigil gets SIGCHLD.
  void Reap(pid_t pid, int status) {
    os_.QueueReaped(pid, status);
    sup().OnSignal(ReceivedSignal{SIGCHLD, pid, CLD_EXITED});
    scheduler_.RunPosted();
  }
  int NotifyFd(const std::string& pool_name, int slot) {
    return notify_.LastFdWithLabel(pool_name + "/" + std::to_string(slot));
  }
  // `text` arrives on the notify socket of pool_name/slot's current run, sent by `sender`.
  void Send(const std::string& pool_name, int slot, const std::string& text, pid_t sender) {
    const int fd = NotifyFd(pool_name, slot);
    ASSERT_GE(fd, 0);
    notify_.Queue(fd, text, sender);
    ASSERT_TRUE(watcher_.Fire(fd));
    scheduler_.RunPosted();
  }
  // The signals a process group got, in order; StopSignals leaves the SIGKILLs out. Both leave
  // out the SIGCONT that follows every stop signal (PoolTest.EveryStopSignalIsFollowedBy...).
  std::vector<int> GroupSignals(pid_t pgid) {
    return os_.SignalsTo(SignalCall::Target::kGroup, pgid, /*with_sigcont=*/false);
  }
  std::vector<int> StopSignals(pid_t pgid) {
    std::vector<int> out;
    for (int s : GroupSignals(pgid)) {
      if (s != SIGKILL) out.push_back(s);
    }
    return out;
  }

  Config config_;
  ChildEnvironment environment_;  // what Vigil inherited, as children get it (set before Start)
  FakeOs os_;
  FakeClock clock_;
  FakeScheduler scheduler_{clock_};
  FakeFdWatcher watcher_;
  FakeNotifyTransport notify_{&os_};
  FakeRandom random_;
  FakeTcpTable tcp_;
  std::unique_ptr<Supervisor> supervisor_;
};

}  // namespace vigil::testing
