// Lifecycle.GetStatus over a real gRPC server while a fresh snapshot arrives from the core (it
// sends one after dropping the events of a vigil-control that fell behind): the picture has a
// hole until the snapshot's last part, so the answer waits for it rather than show workers in
// states they have left (a drained pod's workers shown STOPPING: CI, stop 20). A waiting call
// holds a place at its listener and gives it back when its deadline passes.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "agent/control/call_gate.h"
#include "agent/control/control_counters.h"
#include "agent/control/core_connection.h"
#include "agent/control/grpc_server.h"
#include "agent/control/lifecycle_service.h"
#include "agent/control/limits.h"
#include "agent/control/read_model.h"
#include "agent/control/stream_budget.h"
#include "tests/control/test_snapshots.h"
#include "vigil/v1/lifecycle.grpc.pb.h"

namespace vigil::control {
namespace {

using namespace std::chrono_literals;

template <typename F>
bool WaitFor(F condition, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

class StatusWhileResyncingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int next = 0;  // An abstract socket's name: nothing to clean up.
    address_ = "unix-abstract:vigil-resync-test-" + std::to_string(::getpid()) + "-" +
               std::to_string(next++);
    model_.ApplySnapshot(OnePoolSnapshot("web", 3, 100));  // Connected: pids 100-102.
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    core_end_ = fds[1];
    core_ = std::make_unique<CoreConnection>(fds[0], model_, [] {});
    service_ = std::make_unique<LifecycleService>(model_, *core_, "", gate_,
                                                  StreamEnv{budget_, counters_});
    grpc::ServerBuilder builder;
    builder.AddListeningPort(address_, grpc::InsecureServerCredentials());
    server_ = GrpcServer::Start(builder, {service_.get()}, "grpc-test");
    ASSERT_NE(server_, nullptr);
    stub_ =
        v1::Lifecycle::NewStub(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    server_.reset();
    service_.reset();
    core_.reset();
    if (core_end_ >= 0) ::close(core_end_);
  }

  // The core dropped events: the fresh snapshot's first part (its header) came in their place.
  void FreshSnapshotBegins() {
    internal::v1::Snapshot first;
    first.set_first(true);
    first.set_phase(internal::v1::PHASE_DRAINED);
    model_.ApplySnapshot(first);
    ASSERT_TRUE(model_.connected());
    ASSERT_FALSE(model_.current());
  }
  // Its last part: the one pool, its workers exited (pids 0).
  void FreshSnapshotEnds() {
    internal::v1::Snapshot last = OnePoolSnapshot("web", 3, 0);
    last.set_first(false);
    for (auto& w : *last.mutable_pools(0)->mutable_workers())
      w.set_state(internal::v1::WORKER_STATE_EXITED);
    model_.ApplySnapshot(last);
    ASSERT_TRUE(model_.current());
  }

  std::string address_;
  ReadModel model_;
  ControlCounters counters_;
  StreamBudget budget_{limits::kStreamQueueBytes, limits::kAllStreamsQueueBytes};
  CallGate gate_{Listener::kUnix, limits::kUnixSocket, counters_};
  int core_end_ = -1;
  std::unique_ptr<CoreConnection> core_;
  std::unique_ptr<LifecycleService> service_;
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<v1::Lifecycle::Stub> stub_;
};

TEST_F(StatusWhileResyncingTest, AWholePictureIsAnsweredAtOnce) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 10s);
  v1::GetStatusResponse response;
  ASSERT_TRUE(stub_->GetStatus(&context, {}, &response).ok());
  ASSERT_EQ(response.status().pools(0).workers_size(), 3);
  EXPECT_EQ(response.status().pools(0).workers(0).pid(), 100);
  EXPECT_EQ(gate_.pending(), 0);
}

TEST_F(StatusWhileResyncingTest, TheAnswerWaitsForTheFreshSnapshotsLastPart) {
  FreshSnapshotBegins();
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 30s);
  v1::GetStatusResponse response;
  grpc::Status status;
  std::thread call([&] { status = stub_->GetStatus(&context, {}, &response); });
  // Waiting, with its place taken: not answered from the picture with the hole.
  const bool waiting = WaitFor([&] { return gate_.pending() == 1; }, 10s);
  if (!waiting) context.TryCancel();
  FreshSnapshotEnds();
  call.join();
  ASSERT_TRUE(waiting) << "GetStatus did not wait for the fresh snapshot";
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status().phase(), v1::PHASE_DRAINED);
  ASSERT_EQ(response.status().pools(0).workers_size(), 3);
  for (const auto& w : response.status().pools(0).workers())
    EXPECT_EQ(w.state(), v1::WORKER_STATE_EXITED) << "slot " << w.slot();
  EXPECT_TRUE(WaitFor([&] { return gate_.pending() == 0; }, 10s));
}

TEST_F(StatusWhileResyncingTest, AWaitingCallEndsAtItsDeadlineAndGivesItsPlaceBack) {
  FreshSnapshotBegins();
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 300ms);
  v1::GetStatusResponse response;
  const grpc::Status status = stub_->GetStatus(&context, {}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(WaitFor([&] { return gate_.pending() == 0; }, 10s));
  FreshSnapshotEnds();  // Nothing left to answer: no call is touched after its end.
}

}  // namespace
}  // namespace vigil::control
