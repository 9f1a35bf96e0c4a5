// ControlLink (agent/ipc/control_link.h) as vigil-control sees it, against the fakes: commands
// carried out on the Supervisor and answered with the command's id, the events that follow a
// worker's exit, Stop(), and the control_exited line. (ipc_control_link_test.cc covers restarts,
// backoff, limits and stalls.) The test plays vigil-control on the child's end of the
// socketpair that FakeOs keeps (passed_fd).
#include <signal.h>
#include <sys/socket.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "agent/ipc/control_link.h"
#include "agent/ipc/frame.h"
#include "tests/fakes/log_capture.h"
#include "tests/fakes/supervisor_harness.h"

namespace vigil::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

// grpc::StatusCode values the core answers with.
constexpr int kGrpcOk = 0;
constexpr int kGrpcInvalidArgument = 3;
constexpr int kGrpcNotFound = 5;

class ControlLinkCommandsTest : public SupervisorHarness {
 protected:
  // Pools "a" and "b" with no replicas: every spawn so far is vigil-control's.
  void StartLink() {
    for (PoolConfig& p : config_.pools)
      p.replicas = 0;
    Start();
    link_ = std::make_unique<ControlLink>(config_, sup(), os_, scheduler_, watcher_, clock_,
                                          "vigil-control");
    sup().SetListener(link_.get());
    link_->Start();
    control_pid_ = os_.next_unscripted_pid - 1;
    control_ = std::move(os_.passed_fd);  // FakeOs forgets it at the next spawn.
    ASSERT_FALSE(watcher_.WatchedFds().empty());
    socket_ = watcher_.WatchedFds().back();  // The core's end: the only fd watched yet.
    Reads();                                 // The snapshot.
  }
  void TearDown() override {
    if (supervisor_) sup().SetListener(nullptr);
    link_.reset();
    SupervisorHarness::TearDown();
  }

  // Sends `command` as vigil-control and returns the Result with its id.
  internal::v1::Result Ask(internal::v1::Command command) {
    command.set_id(++next_id_);
    internal::v1::ControlMessage message;
    *message.mutable_command() = command;
    std::string payload;
    EXPECT_TRUE(message.SerializeToString(&payload));
    const std::string frame = EncodeFrame(payload);
    EXPECT_EQ(::send(control_.get(), frame.data(), frame.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(frame.size()));
    EXPECT_TRUE(watcher_.Fire(socket_));
    for (const auto& m : Reads()) {
      if (m.has_result() && m.result().id() == next_id_) return m.result();
    }
    ADD_FAILURE() << "no answer to command " << next_id_;
    return {};
  }
  // Everything the core has written to vigil-control since the last call.
  std::vector<internal::v1::CoreMessage> Reads() {
    char buf[65536];
    for (;;) {
      const ssize_t n = ::recv(control_.get(), buf, sizeof buf, MSG_DONTWAIT);
      if (n <= 0) break;
      decoder_.Append(buf, static_cast<size_t>(n));
    }
    std::vector<internal::v1::CoreMessage> out;
    bool corrupt = false;
    while (auto payload = decoder_.Next(&corrupt)) {
      out.emplace_back();
      EXPECT_TRUE(out.back().ParseFromString(*payload));
    }
    EXPECT_FALSE(corrupt);
    return out;
  }
  static internal::v1::Command Scale(const std::string& pool, int replicas) {
    internal::v1::Command c;
    c.mutable_scale()->set_pool(pool);
    c.mutable_scale()->set_replicas(replicas);
    return c;
  }
  static internal::v1::Command Drain(internal::v1::DrainTrigger trigger) {
    internal::v1::Command c;
    c.mutable_drain()->set_trigger(trigger);
    c.mutable_drain()->set_reason("test");
    return c;
  }
  int SpawnsOf(const std::string& binary) const {
    int n = 0;
    for (const SpawnRequest& r : os_.spawn_requests)
      n += !r.argv.empty() && r.argv[0] == binary;
    return n;
  }

  std::unique_ptr<ControlLink> link_;
  UniqueFd control_;  // vigil-control's end of the socketpair
  int socket_ = -1;   // the core's end
  FrameDecoder decoder_;
  pid_t control_pid_ = -1;
  uint64_t next_id_ = 100;
};

TEST_F(ControlLinkCommandsTest, ScaleIsCarriedOutAndAnsweredWithItsId) {
  StartLink();
  const internal::v1::Result r = Ask(Scale("a", 2));
  EXPECT_EQ(r.id(), next_id_);
  EXPECT_EQ(r.code(), kGrpcOk) << r.message();
  EXPECT_EQ(r.count(), 2);
  EXPECT_EQ(pool(0).desired(), 2);
  EXPECT_EQ(SpawnsOf("a-server"), 2);
  EXPECT_EQ(SpawnsOf("b-server"), 0);
}

TEST_F(ControlLinkCommandsTest, RefusalsAreAnsweredWithTheirCauseAndChangeNothing) {
  StartLink();
  internal::v1::Result r = Ask(Scale("nope", 1));
  EXPECT_EQ(r.code(), kGrpcNotFound);
  EXPECT_EQ(r.message(), "no pool named 'nope'");
  r = Ask(Scale("a", -1));
  EXPECT_EQ(r.code(), kGrpcInvalidArgument);
  EXPECT_EQ(r.message(), "replicas must not be negative");
  internal::v1::Command signal;
  signal.mutable_signal()->set_pool("a");
  signal.mutable_signal()->set_slot(0);
  signal.mutable_signal()->set_signo(0);
  r = Ask(signal);
  EXPECT_EQ(r.code(), kGrpcInvalidArgument);
  EXPECT_EQ(r.message(), "invalid signal number");
  r = Ask(internal::v1::Command());  // No body at all.
  EXPECT_EQ(r.code(), kGrpcInvalidArgument);
  EXPECT_EQ(r.message(), "unknown command");
  EXPECT_EQ(pool(0).desired(), 0);
  EXPECT_EQ(SpawnsOf("a-server"), 0);
  EXPECT_TRUE(os_.signals.empty());
}

TEST_F(ControlLinkCommandsTest, SignalReachesTheWorkersGroupAndCountsThem) {
  StartLink();
  ASSERT_EQ(Ask(Scale("a", 2)).code(), kGrpcOk);
  const pid_t first = os_.next_unscripted_pid - 2;
  internal::v1::Command signal;
  signal.mutable_signal()->set_pool("a");
  signal.mutable_signal()->set_slot(0);
  signal.mutable_signal()->set_signo(SIGHUP);
  const internal::v1::Result r = Ask(signal);
  EXPECT_EQ(r.code(), kGrpcOk);
  EXPECT_EQ(r.count(), 1);
  EXPECT_EQ(GroupSignals(first), std::vector<int>{SIGHUP});
  EXPECT_TRUE(GroupSignals(first + 1).empty());
}

// A preStop drain (vigilctl drain, HTTP /drain) and an API drain keep their triggers (any other
// trigger is refused: ControlLinkTest.ADrainWithATriggerNoClientMayAskForIsRefused); a shutdown
// is the fast stop.
TEST_F(ControlLinkCommandsTest, DrainTriggers) {
  StartLink();
  EXPECT_EQ(Ask(Drain(internal::v1::DRAIN_TRIGGER_PRESTOP)).code(), kGrpcOk);
  EXPECT_TRUE(sup().drain().started);
  EXPECT_EQ(sup().drain().trigger, DrainTrigger::kPreStop);
}

TEST_F(ControlLinkCommandsTest, AnApiDrainIsTheApis) {
  StartLink();
  EXPECT_EQ(Ask(Drain(internal::v1::DRAIN_TRIGGER_API)).code(), kGrpcOk);
  EXPECT_EQ(sup().drain().trigger, DrainTrigger::kApi);
}

TEST_F(ControlLinkCommandsTest, ShutdownIsTheFastStop) {
  StartLink();
  internal::v1::Command shutdown;
  shutdown.mutable_shutdown()->set_reason("test");
  EXPECT_EQ(Ask(shutdown).code(), kGrpcOk);
  EXPECT_EQ(sup().drain().trigger, DrainTrigger::kFastStop);
}

// A worker's exit reaches vigil-control as an event carrying the exit, as the status shows it.
TEST_F(ControlLinkCommandsTest, AWorkersExitIsSentAsAnEvent) {
  StartLink();
  ASSERT_EQ(Ask(Scale("a", 1)).code(), kGrpcOk);
  const pid_t worker = os_.next_unscripted_pid - 1;
  Reads();
  Reap(worker, KilledBy(SIGSEGV));
  bool seen = false;
  for (const auto& m : Reads()) {
    if (!m.has_event() || !m.event().worker().has_last_exit()) continue;
    const auto& e = m.event();
    EXPECT_EQ(e.pool(), "a");
    EXPECT_EQ(e.slot(), 0);
    EXPECT_EQ(e.worker().last_exit().reason(), "signaled");
    EXPECT_EQ(e.worker().last_exit().signal(), SIGSEGV);
    EXPECT_EQ(e.worker().last_exit().code(), -1);
    seen = true;
  }
  EXPECT_TRUE(seen) << "no event with the worker's exit";
}

TEST_F(ControlLinkCommandsTest, StopAsksVigilControlToGoAndDoesNotRestartIt) {
  StartLink();
  link_->Stop();
  EXPECT_EQ(os_.SignalsTo(SignalCall::Target::kPid, control_pid_, /*with_sigcont=*/false),
            std::vector<int>{SIGTERM});
  const int spawns = SpawnsOf("vigil-control");
  EXPECT_TRUE(link_->OnProcessExited(control_pid_, KilledBy(SIGTERM)));
  scheduler_.AdvanceBy(1h);
  EXPECT_EQ(SpawnsOf("vigil-control"), spawns);
}

TEST_F(ControlLinkCommandsTest, AnotherPidIsNotVigilControl) {
  StartLink();
  EXPECT_FALSE(link_->OnProcessExited(control_pid_ + 1, ExitedWith(0)));
  EXPECT_FALSE(link_->OnProcessExited(-1, ExitedWith(0)));
}

// The control_exited line says how it ended with the label every exit has (exit_label.h).
TEST_F(ControlLinkCommandsTest, ControlExitedSaysHowItEnded) {
  StartLink();
  LogCapture log;
  EXPECT_TRUE(link_->OnProcessExited(control_pid_, KilledBy(SIGKILL)));
  EXPECT_THAT(log.text(), HasSubstr("control plane signaled(SIGKILL); restarting "));
  scheduler_.AdvanceBy(1h);
  const pid_t again = os_.next_unscripted_pid - 1;
  ASSERT_NE(again, control_pid_) << "not started again";
  EXPECT_TRUE(link_->OnProcessExited(again, ExitedWith(2)));
  EXPECT_THAT(log.text(), HasSubstr("control plane exited(2); restarting "));
}

}  // namespace
}  // namespace vigil::testing
