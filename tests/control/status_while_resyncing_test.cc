// Lifecycle.GetStatus over a real gRPC server while a fresh snapshot arrives from the core (it
// sends one after dropping the events of a vigil-control that fell behind): the picture has a
// hole until the snapshot's last part, so the answer waits for it rather than show workers in
// states they have left (a drained pod's workers shown STOPPING: CI, stop 20). A waiting call
// holds a place at its listener and gives it back when its deadline passes.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "agent/control/call_gate.h"
#include "agent/control/lifecycle_service.h"
#include "agent/control/limits.h"
#include "agent/control/read_model.h"
#include "tests/control/lifecycle_server.h"
#include "tests/control/test_snapshots.h"
#include "vigil/v1/lifecycle.grpc.pb.h"

namespace vigil::control {
namespace {

using namespace std::chrono_literals;

class StatusWhileResyncingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_.ApplySnapshot(OnePoolSnapshot("web", 3, 100));  // Connected: pids 100-102.
    served_.Start("resync-test");
    stub_ = v1::Lifecycle::NewStub(
        grpc::CreateChannel(served_.address, grpc::InsecureChannelCredentials()));
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

  LifecycleServer served_;
  ReadModel& model_ = served_.model;
  CallGate& gate_ = served_.gate;
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
