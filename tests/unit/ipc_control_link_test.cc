// ControlLink: the core's supervision of vigil-control (agent/ipc/control_link.h), against the
// fakes: when it is started again after it died. Pools have no replicas here, so every spawn is
// vigil-control's and its pid is the last one FakeOs handed out.
#include "agent/ipc/control_link.h"

#include <gtest/gtest.h>

#include <sys/socket.h>

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
    link_ = std::make_unique<ControlLink>(config_, sup(), os_, scheduler_, watcher_, clock_,
                                          "vigil-control");
    link_->Start();
    ASSERT_EQ(Spawns(), 1);
  }
  void TearDown() override {
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

  std::unique_ptr<ControlLink> link_;
  FrameDecoder decoder_;
};

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
  ControlReads();  // The snapshot.
  internal::v1::ControlMessage m;
  m.mutable_command()->set_id(42);
  m.mutable_command()->mutable_ping();
  ControlWrites(EncodeFrame(m.SerializeAsString()));
  const auto replies = ControlReads();
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].result().id(), 42u);
  EXPECT_EQ(replies[0].result().code(), 0);
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

}  // namespace
}  // namespace vigil::testing
