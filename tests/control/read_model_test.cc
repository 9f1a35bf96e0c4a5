#include "agent/control/read_model.h"

#include <gtest/gtest.h>

#include <vector>

namespace vigil::control {
namespace {

internal::v1::Snapshot TwoWorkerSnapshot() {
  internal::v1::Snapshot s;
  s.set_phase(2);
  s.set_ready(true);
  auto* pool = s.add_pools();
  pool->set_name("web");
  pool->set_desired(2);
  pool->set_ready(2);
  pool->set_pool_ready(true);
  for (int slot = 0; slot < 2; ++slot) {
    auto* w = pool->add_workers();
    w->set_slot(slot);
    w->set_pid(100 + slot);
    w->set_state(3);  // ready
  }
  return s;
}

TEST(ReadModel, NotConnectedUntilTheFirstSnapshot) {
  ReadModel model;
  EXPECT_FALSE(model.connected());
  EXPECT_FALSE(model.ready());
  model.ApplySnapshot(TwoWorkerSnapshot());
  EXPECT_TRUE(model.connected());
  EXPECT_TRUE(model.ready());
  const v1::AgentStatus status = model.Status();
  ASSERT_EQ(status.pools_size(), 1);
  EXPECT_EQ(status.pools(0).workers_size(), 2);
  EXPECT_EQ(status.pools(0).workers(1).pid(), 101);
  EXPECT_EQ(status.phase(), v1::PHASE_READY);
}

TEST(ReadModel, WorkerEventsUpdateTheWorkerAndThePoolCounts) {
  ReadModel model;
  model.ApplySnapshot(TwoWorkerSnapshot());
  internal::v1::Event e;
  e.set_kind(v1::Event::WORKER_EXITED);
  e.set_pool("web");
  e.set_slot(1);
  e.mutable_worker()->set_slot(1);
  e.mutable_worker()->set_state(1);  // backoff
  e.mutable_worker()->mutable_last_exit()->set_reason("exited");
  e.mutable_worker()->mutable_last_exit()->set_code(1);
  e.mutable_pool_info()->set_desired(2);
  e.mutable_pool_info()->set_ready(1);
  e.mutable_pool_info()->set_backoff(1);
  e.mutable_pool_info()->set_pool_ready(true);
  model.ApplyEvent(e);
  const v1::Pool pool = model.Status().pools(0);
  EXPECT_EQ(pool.ready(), 1);
  EXPECT_EQ(pool.backoff(), 1);
  EXPECT_EQ(pool.workers(1).state(), v1::WORKER_STATE_BACKOFF);
  EXPECT_EQ(pool.workers(1).last_exit().reason(), "exited");
  EXPECT_EQ(pool.workers(1).last_exit().code(), 1);
}

TEST(ReadModel, DrainEventsTurnReadinessOffAndCarryProgress) {
  ReadModel model;
  model.ApplySnapshot(TwoWorkerSnapshot());
  v1::DrainProgress progress;
  EXPECT_FALSE(model.DrainProgress(&progress));
  internal::v1::Event e;
  e.set_kind(v1::Event::DRAIN);
  e.set_phase(3);
  e.set_ready(false);
  e.mutable_drain()->set_trigger("prestop");
  e.mutable_drain()->set_workers_remaining(2);
  model.ApplyEvent(e);
  EXPECT_FALSE(model.ready());
  ASSERT_TRUE(model.DrainProgress(&progress));
  EXPECT_EQ(progress.trigger(), "prestop");
  EXPECT_EQ(progress.workers_remaining(), 2);
  EXPECT_FALSE(progress.complete());
}

TEST(ReadModel, SubscribersGetASnapshotFirstThenEventsInOrderUntilUnsubscribed) {
  ReadModel model;
  model.ApplySnapshot(TwoWorkerSnapshot());
  std::vector<v1::Event::Kind> seen;
  const int id = model.Subscribe([&](const v1::Event& e) { seen.push_back(e.kind()); }, true);
  internal::v1::Event readiness;
  readiness.set_kind(v1::Event::READINESS);
  readiness.set_phase(1);
  model.ApplyEvent(readiness);
  model.Unsubscribe(id);
  model.ApplyEvent(readiness);
  EXPECT_EQ(seen, (std::vector<v1::Event::Kind>{v1::Event::SNAPSHOT, v1::Event::READINESS}));
}

TEST(ReadModel, ASnapshotAfterAReconnectReplacesEverything) {
  ReadModel model;
  model.ApplySnapshot(TwoWorkerSnapshot());
  internal::v1::Snapshot empty;
  empty.set_phase(1);
  model.ApplySnapshot(empty);
  EXPECT_EQ(model.Status().pools_size(), 0);
  EXPECT_FALSE(model.ready());
}

// Regression test for a fixed bug found by tests/fuzz/ipc_control_fuzz.cc: a worker event for
// slot -1 wrote before the pool's array of workers (a crash), and one for slot 2^31-1 grew the
// pool to 2^31 workers (vigil-control ran out of memory). No pool has slots outside
// 0..99999 (replicas is at most 100000), so such an event changes nothing.
TEST(ReadModel, WorkerEventsForSlotsNoPoolCanHaveAreIgnored) {
  ReadModel model;
  model.ApplySnapshot(TwoWorkerSnapshot());
  for (int slot : {-1, -2147483647 - 1, 100000, 2147483647}) {
    internal::v1::Event e;
    e.set_kind(v1::Event::WORKER_STATE);
    e.set_pool("web");
    e.set_slot(slot);
    e.mutable_worker()->set_slot(slot);
    e.mutable_worker()->set_pid(7);
    model.ApplyEvent(e);
    const v1::Pool pool = model.Status().pools(0);
    ASSERT_EQ(pool.workers_size(), 2) << "slot " << slot;
    EXPECT_EQ(pool.workers(0).pid(), 100) << "slot " << slot;
    EXPECT_EQ(pool.workers(1).pid(), 101) << "slot " << slot;
  }
  // The last slot a pool can have still grows it.
  internal::v1::Event e;
  e.set_kind(v1::Event::WORKER_STATE);
  e.set_pool("web");
  e.set_slot(99999);
  e.mutable_worker()->set_slot(99999);
  model.ApplyEvent(e);
  EXPECT_EQ(model.Status().pools(0).workers_size(), 100000);
}

}  // namespace
}  // namespace vigil::control
