// Lifecycle.Watch over a real gRPC server (on an abstract unix socket) with a status
// bigger than a stream's queue budget (limits::kStreamQueueBytes): a client that reads gets the
// whole snapshot, page by page, however big; one that does not read is still cut off by the
// events that pile up behind it; a fresh snapshot supersedes the events queued, and two
// snapshots' pages never interleave (issue 10, defects 4 and 6).
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "agent/control/call_gate.h"
#include "agent/control/lifecycle_service.h"
#include "agent/control/limits.h"
#include "agent/control/read_model.h"
#include "tests/control/lifecycle_server.h"
#include "tests/control/test_snapshots.h"
#include "vigil/v1/lifecycle.grpc.pb.h"

namespace vigil::control {
namespace {

constexpr int kWorkers = 2000;
const std::string kStatusText(4000, 's');  // about the longest STATUS= a worker can set

// One pool of kWorkers workers with a full STATUS= each: about 8 MB, twice a stream's budget.
internal::v1::Snapshot BigSnapshot(int first_pid) {
  return OnePoolSnapshot("web", kWorkers, first_pid, kStatusText);
}

internal::v1::Event WorkerEvent(int slot, int pid, const std::string& text) {
  internal::v1::Event e;
  e.set_kind(internal::v1::Event::WORKER_STATE);
  e.set_pool("web");
  e.set_slot(slot);
  e.mutable_worker()->set_slot(slot);
  e.mutable_worker()->set_pid(pid);
  e.mutable_worker()->set_state(internal::v1::WORKER_STATE_READY);
  e.mutable_worker()->set_status_text(text);
  return e;
}

class WatchStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_.ApplySnapshot(BigSnapshot(1000));
    ASSERT_GT(model_.Status().ByteSizeLong(), limits::kStreamQueueBytes + kPageBudget);
    served_.Start("watch-test");
  }

  // A client whose transport takes in little that it has not read (no window growth), so
  // that what it does not read stays queued in vigil-control.
  std::unique_ptr<v1::Lifecycle::Stub> Stub(bool small_window) const {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(4 << 20);  // gRPC's default: the pages fit under it.
    if (small_window) {
      args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
      args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 * 1024);
    }
    return v1::Lifecycle::NewStub(
        grpc::CreateCustomChannel(address_, grpc::InsecureChannelCredentials(), args));
  }

  // Reads one whole snapshot (pages until `more` is off); the pids of its workers, in order.
  static std::vector<int> ReadSnapshot(grpc::ClientReader<v1::Event>* reader, int* pages) {
    std::vector<int> pids;
    v1::Event e;
    *pages = 0;
    while (reader->Read(&e)) {
      EXPECT_EQ(e.kind(), v1::Event::SNAPSHOT) << "after " << *pages << " pages";
      if (e.kind() != v1::Event::SNAPSHOT) break;
      ++*pages;
      EXPECT_LE(e.ByteSizeLong(), kPageBudget + kStatusText.size() + 200);
      for (const auto& pool : e.status().pools()) {
        for (const auto& w : pool.workers())
          pids.push_back(w.pid());
      }
      if (!e.more()) break;
    }
    return pids;
  }

  static std::vector<int> Pids(int first) {
    std::vector<int> pids;
    for (int i = 0; i < kWorkers; ++i)
      pids.push_back(first + i);
    return pids;
  }

  LifecycleServer served_;
  const std::string& address_ = served_.address;
  ReadModel& model_ = served_.model;
  ControlCounters& counters_ = served_.counters;
};

TEST_F(WatchStreamTest, AClientThatReadsGetsASnapshotBiggerThanTheStreamBudget) {
  auto stub = Stub(/*small_window=*/false);
  grpc::ClientContext context;
  auto reader = stub->Watch(&context, v1::WatchRequest());
  int pages = 0;
  EXPECT_EQ(ReadSnapshot(reader.get(), &pages), Pids(1000));
  EXPECT_GT(pages, 4);
  // Then the events, as they come.
  model_.ApplyEvent(WorkerEvent(7, 4242, "after"));
  v1::Event e;
  ASSERT_TRUE(reader->Read(&e));
  EXPECT_EQ(e.kind(), v1::Event::WORKER_STATE);
  EXPECT_EQ(e.worker().pid(), 4242);
  context.TryCancel();
  while (reader->Read(&e)) {
  }
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED) << status.error_message();
  EXPECT_EQ(counters_.cut_off(StreamKind::kWatch), 0u);
}

TEST_F(WatchStreamTest, AClientThatDoesNotReadIsStillCutOffByTheEventsBehindTheSnapshot) {
  auto stub = Stub(/*small_window=*/true);
  grpc::ClientContext context;
  auto reader = stub->Watch(&context, v1::WatchRequest());
  // The first page says the stream is subscribed; from there on the client reads nothing.
  v1::Event first;
  ASSERT_TRUE(reader->Read(&first));
  ASSERT_EQ(first.kind(), v1::Event::SNAPSHOT);
  // Events of about 4 kB each: the stream's budget (4 MiB) holds about a thousand of them.
  int pushed = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        for (int i = 0; i < 50; ++i, ++pushed)
          model_.ApplyEvent(WorkerEvent(pushed % kWorkers, 9000 + pushed, kStatusText));
        return counters_.cut_off(StreamKind::kWatch) > 0 || pushed > 20000;
      },
      std::chrono::seconds(60)));
  EXPECT_EQ(counters_.cut_off(StreamKind::kWatch), 1u) << pushed << " events pushed";
  EXPECT_LT(pushed, 3000);  // Cut off by its budget, not by what the transport took in.
  // Reading now, the client gets what was sent before the cut-off, then the status.
  v1::Event e;
  while (reader->Read(&e)) {
  }
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(status.error_message().find("a stream fell too far behind"), std::string::npos)
      << status.error_message();
}

TEST_F(WatchStreamTest, AFreshSnapshotSupersedesTheQueuedEventsAndFollowsTheOneBeingSent) {
  auto stub = Stub(/*small_window=*/true);
  grpc::ClientContext context;
  auto reader = stub->Watch(&context, v1::WatchRequest());
  v1::Event first;
  ASSERT_TRUE(reader->Read(&first));  // Subscribed; the next pages wait for the client.
  ASSERT_TRUE(first.more());
  for (int i = 0; i < 100; ++i)
    model_.ApplyEvent(WorkerEvent(i, 5000 + i, "queued"));
  model_.ApplySnapshot(BigSnapshot(20000));
  // The first snapshot is finished, then the second follows; the events queued between them
  // are in the second (and were dropped from the queue).
  int pages = 0;
  std::vector<int> pids;
  for (const auto& pool : first.status().pools()) {
    for (const auto& w : pool.workers())
      pids.push_back(w.pid());
  }
  const std::vector<int> rest = ReadSnapshot(reader.get(), &pages);
  pids.insert(pids.end(), rest.begin(), rest.end());
  EXPECT_EQ(pids, Pids(1000));
  EXPECT_EQ(ReadSnapshot(reader.get(), &pages), Pids(20000));
  model_.ApplyEvent(WorkerEvent(7, 4242, "after"));
  v1::Event e;
  ASSERT_TRUE(reader->Read(&e));
  EXPECT_EQ(e.worker().pid(), 4242);
  context.TryCancel();
  while (reader->Read(&e)) {
  }
  reader->Finish();
  EXPECT_EQ(counters_.cut_off(StreamKind::kWatch), 0u);
}

}  // namespace
}  // namespace vigil::control
