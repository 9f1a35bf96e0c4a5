#include "agent/control/read_model.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/control/test_snapshots.h"

namespace vigil::control {
namespace {

internal::v1::Snapshot TwoWorkerSnapshot() {
  return OnePoolSnapshot("web", 2, 100);
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
  e.set_kind(internal::v1::Event::WORKER_EXITED);
  e.set_pool("web");
  e.set_slot(1);
  e.mutable_worker()->set_slot(1);
  e.mutable_worker()->set_state(internal::v1::WORKER_STATE_BACKOFF);
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
  e.set_kind(internal::v1::Event::DRAIN);
  e.set_phase(internal::v1::PHASE_DRAINING);
  e.set_ready(false);
  e.mutable_drain()->set_trigger(internal::v1::DRAIN_TRIGGER_PRESTOP);
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
  readiness.set_kind(internal::v1::Event::READINESS);
  readiness.set_phase(internal::v1::PHASE_STARTING);
  model.ApplyEvent(readiness);
  model.Unsubscribe(id);
  model.ApplyEvent(readiness);
  EXPECT_EQ(seen, (std::vector<v1::Event::Kind>{v1::Event::SNAPSHOT, v1::Event::READINESS}));
}

TEST(ReadModel, ASnapshotAfterAReconnectReplacesEverything) {
  ReadModel model;
  model.ApplySnapshot(TwoWorkerSnapshot());
  internal::v1::Snapshot empty;
  empty.set_first(true);
  empty.set_last(true);
  empty.set_phase(internal::v1::PHASE_STARTING);
  model.ApplySnapshot(empty);
  EXPECT_EQ(model.Status().pools_size(), 0);
  EXPECT_FALSE(model.ready());
}

// ---- A snapshot in parts (ipc.proto, Snapshot) ----

internal::v1::PoolInfo PoolHeader(const std::string& name, int slots) {
  internal::v1::PoolInfo p;
  p.set_name(name);
  p.set_desired(slots);
  p.set_slots(slots);
  return p;
}

internal::v1::WorkerInfo Worker(int slot, int pid, const std::string& status = "") {
  internal::v1::WorkerInfo w;
  w.set_slot(slot);
  w.set_pid(pid);
  w.set_state(internal::v1::WORKER_STATE_READY);
  w.set_status_text(status);
  return w;
}

TEST(ReadModel, SnapshotPartsBuildBesideTheCurrentPictureAndEventsApplyToBoth) {
  ReadModel model;
  model.ApplySnapshot(TwoWorkerSnapshot());  // web: pids 100, 101
  internal::v1::Snapshot first;
  first.set_first(true);
  first.set_phase(internal::v1::PHASE_READY);
  first.set_ready(true);
  *first.add_pools() = PoolHeader("web", 3);
  *first.mutable_pools(0)->add_workers() = Worker(0, 200);
  model.ApplySnapshot(first);
  // Still the old picture while parts arrive.
  EXPECT_EQ(model.Status().pools(0).workers(0).pid(), 100);
  // An event between parts, for a slot not sent yet and for one already sent.
  internal::v1::Event e;
  e.set_kind(internal::v1::Event::WORKER_STATE);
  e.set_pool("web");
  e.set_slot(0);
  *e.mutable_worker() = Worker(0, 300);
  model.ApplyEvent(e);
  EXPECT_EQ(model.Status().pools(0).workers(0).pid(), 300);  // The current picture, too.
  internal::v1::Snapshot last;
  last.set_last(true);
  *last.add_pools() = PoolHeader("web", 3);
  *last.mutable_pools(0)->add_workers() = Worker(1, 201);
  *last.mutable_pools(0)->add_workers() = Worker(2, 202);
  model.ApplySnapshot(last);
  const v1::AgentStatus status = model.Status();
  ASSERT_EQ(status.pools_size(), 1);
  ASSERT_EQ(status.pools(0).workers_size(), 3);
  EXPECT_EQ(status.pools(0).workers(0).pid(), 300);  // The event, applied to the new picture.
  EXPECT_EQ(status.pools(0).workers(1).pid(), 201);
  EXPECT_EQ(status.pools(0).workers(2).pid(), 202);
}

TEST(ReadModel, NotConnectedUntilTheLastPartOfTheFirstSnapshot) {
  ReadModel model;
  internal::v1::Snapshot first;
  first.set_first(true);
  *first.add_pools() = PoolHeader("web", 1);
  model.ApplySnapshot(first);
  EXPECT_FALSE(model.connected());
  internal::v1::Snapshot last;
  last.set_last(true);
  model.ApplySnapshot(last);
  EXPECT_TRUE(model.connected());
  EXPECT_EQ(model.Status().pools_size(), 1);
}

// After a hole (events dropped by the core), the fresh snapshot's first part says so: the
// picture is not current until its last part, though events still keep it going.
TEST(ReadModel, NotCurrentWhileAFreshSnapshotArrives) {
  ReadModel model;
  EXPECT_FALSE(model.current());  // Not connected yet.
  model.ApplySnapshot(TwoWorkerSnapshot());
  EXPECT_TRUE(model.current());
  internal::v1::Snapshot first;
  first.set_first(true);
  first.set_phase(internal::v1::PHASE_READY);
  model.ApplySnapshot(first);
  EXPECT_FALSE(model.current());
  EXPECT_TRUE(model.connected());
  internal::v1::Snapshot last = TwoWorkerSnapshot();
  last.set_first(false);
  model.ApplySnapshot(last);
  EXPECT_TRUE(model.current());
}

TEST(ReadModel, AFreshSnapshotDuringADrainIsFollowedByTheDrainsProgress) {
  ReadModel model;
  std::vector<v1::Event> seen;
  model.Subscribe([&](const v1::Event& e) { seen.push_back(e); }, false);
  internal::v1::Snapshot s = TwoWorkerSnapshot();
  s.mutable_drain()->set_trigger(internal::v1::DRAIN_TRIGGER_PRESTOP);
  s.mutable_drain()->set_complete(true);
  s.mutable_drain()->set_graceful(true);
  model.ApplySnapshot(s);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].kind(), v1::Event::SNAPSHOT);
  EXPECT_EQ(seen[1].kind(), v1::Event::DRAIN);
  EXPECT_TRUE(seen[1].drain().complete());  // What a Drain(wait) waiter looks for.
  EXPECT_EQ(seen[1].drain().trigger(), "prestop");
}

TEST(ReadModel, AFreshSnapshotIsPublishedWithoutItsStatus) {
  ReadModel model;
  std::vector<v1::Event> seen;
  model.Subscribe([&](const v1::Event& e) { seen.push_back(e); }, false);
  model.ApplySnapshot(TwoWorkerSnapshot());
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].kind(), v1::Event::SNAPSHOT);
  EXPECT_FALSE(seen[0].has_status());  // Listeners page it (SnapshotEvents).
}

// ---- Pages ----

// A status of `workers` workers in two pools, each with `status` as its text.
v1::AgentStatus BigStatus(int workers, const std::string& status) {
  ReadModel model;
  internal::v1::Snapshot s;
  s.set_first(true);
  s.set_last(true);
  s.set_phase(internal::v1::PHASE_READY);
  s.set_ready(true);
  for (const char* name : {"a", "b"}) {
    auto* p = s.add_pools();
    *p = PoolHeader(name, workers / 2);
    for (int slot = 0; slot < workers / 2; ++slot)
      *p->add_workers() = Worker(slot, 1000 + slot, status);
  }
  model.ApplySnapshot(s);
  return model.Status();
}

TEST(PageToken, RoundTripsAndRefusesGarbage) {
  EXPECT_EQ(PageToken(PageStart{3, 1500}), "3/1500");
  const auto start = ParsePageToken("3/1500");
  ASSERT_TRUE(start);
  EXPECT_EQ(start->pool, 3);
  EXPECT_EQ(start->slot, 1500);
  ASSERT_TRUE(ParsePageToken(""));  // The first page.
  for (const char* bad : {"3", "/1", "1/", "a/b", "-1/0", "1/-1", "99999999999/0", "1/2/3", " 1/2"})
    EXPECT_FALSE(ParsePageToken(bad)) << bad;
}

// Issue 10, defect 6: 4000 workers with the longest status a worker can send, 4089 bytes that
// are never UTF-8 (16356 characters each in the API): 65 MB of status, 16 times gRPC's default
// 4 MiB. Every page stays under kPageBudget plus one worker, whatever the size; the pages
// together are the whole status.
TEST(Pages, EveryPageIsBoundedAndTogetherTheyAreTheStatus) {
  const std::string shown(4 * 4089, 'x');  // What PublicText makes of 4089 bytes 0xff.
  constexpr int kWorkers = 4000;
  const v1::AgentStatus status = BigStatus(kWorkers, shown);
  std::optional<PageStart> start = PageStart{};
  std::vector<std::pair<std::string, int>> seen;  // pool, slot
  int pages = 0;
  while (start) {
    v1::AgentStatus page;
    start = CopyPage(status, *start, kPageBudget, &page);
    ++pages;
    EXPECT_LE(page.ByteSizeLong(), kPageBudget + shown.size() + 200);
    EXPECT_EQ(page.phase(), v1::PHASE_READY);
    EXPECT_TRUE(page.ready());
    for (const auto& p : page.pools()) {
      EXPECT_EQ(p.desired(), kWorkers / 2);
      for (const auto& w : p.workers())
        seen.emplace_back(p.name(), w.slot());
    }
  }
  EXPECT_GT(pages, 60);
  ASSERT_EQ(seen.size(), static_cast<size_t>(kWorkers));
  for (int i = 0; i < kWorkers; ++i)
    EXPECT_EQ(seen[static_cast<size_t>(i)],
              std::make_pair(std::string(i < kWorkers / 2 ? "a" : "b"), i % (kWorkers / 2)));
}

TEST(Pages, ASmallStatusIsOnePage) {
  const v1::AgentStatus status = BigStatus(4, "ok");
  v1::AgentStatus page;
  EXPECT_FALSE(CopyPage(status, PageStart{}, kPageBudget, &page));
  EXPECT_EQ(page.SerializeAsString(), status.SerializeAsString());
}

TEST(Pages, AStartPastTheEndIsAnEmptyLastPage) {
  const v1::AgentStatus status = BigStatus(4, "ok");
  v1::AgentStatus page;
  EXPECT_FALSE(CopyPage(status, PageStart{7, 0}, kPageBudget, &page));
  EXPECT_EQ(page.pools_size(), 0);
  EXPECT_FALSE(CopyPage(status, PageStart{0, 99}, kPageBudget, &page));
  ASSERT_EQ(page.pools_size(), 2);  // The first pool's header, no workers; then the next.
  EXPECT_EQ(page.pools(0).workers_size(), 0);
}

TEST(Pages, SnapshotEventsArePagesWithMoreOnAllButTheLast) {
  ReadModel model;
  internal::v1::Snapshot s;
  s.set_first(true);
  s.set_last(true);
  *s.add_pools() = PoolHeader("a", 100);
  for (int slot = 0; slot < 100; ++slot)
    *s.mutable_pools(0)->add_workers() = Worker(slot, 1000 + slot, std::string(1000, 'x'));
  model.ApplySnapshot(s);
  const std::vector<v1::Event> events = model.SnapshotEvents(10000);
  ASSERT_GT(events.size(), 5u);
  int workers = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].kind(), v1::Event::SNAPSHOT);
    EXPECT_EQ(events[i].more(), i + 1 < events.size());
    for (const auto& p : events[i].status().pools())
      workers += p.workers_size();
  }
  EXPECT_EQ(workers, 100);
}

TEST(Pages, SubscribersGetASnapshotMarkerAndShareOneCopyOfThePagesPerState) {
  ReadModel model;
  const internal::v1::Snapshot s = OnePoolSnapshot("a", 3000, 1000, std::string(1000, 'x'));
  model.ApplySnapshot(s);
  // A new subscriber gets a SNAPSHOT event without the status, as for a fresh snapshot; it
  // takes the pages from the call.
  std::vector<v1::Event> seen;
  ReadModel::Pages taken;
  const int id = model.Subscribe(
      [&](const v1::Event& e) {
        seen.push_back(e);
        taken = model.SnapshotPages();
      },
      true);
  model.Unsubscribe(id);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].kind(), v1::Event::SNAPSHOT);
  EXPECT_FALSE(seen[0].has_status());
  const std::vector<v1::Event> events = model.SnapshotEvents();
  ASSERT_GT(events.size(), 2u);
  ASSERT_EQ(taken->size(), events.size());
  for (size_t i = 0; i < events.size(); ++i)
    EXPECT_EQ((*taken)[i].SerializeAsString(), events[i].SerializeAsString()) << i;
  // One copy per state, shared; a change of state makes a new one, the old one stays as it was.
  EXPECT_EQ(model.SnapshotPages(), taken);
  internal::v1::Event e;
  e.set_kind(internal::v1::Event::WORKER_STATE);
  e.set_pool("a");
  e.set_slot(0);
  *e.mutable_worker() = Worker(0, 7);
  model.ApplyEvent(e);
  const ReadModel::Pages after = model.SnapshotPages();
  EXPECT_NE(after, taken);
  EXPECT_EQ((*after)[0].status().pools(0).workers(0).pid(), 7);
  EXPECT_EQ((*taken)[0].status().pools(0).workers(0).pid(), 1000);
  model.ApplySnapshot(s);
  EXPECT_EQ((*model.SnapshotPages())[0].status().pools(0).workers(0).pid(), 1000);
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
    e.set_kind(internal::v1::Event::WORKER_STATE);
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
  e.set_kind(internal::v1::Event::WORKER_STATE);
  e.set_pool("web");
  e.set_slot(99999);
  e.mutable_worker()->set_slot(99999);
  model.ApplyEvent(e);
  EXPECT_EQ(model.Status().pools(0).workers_size(), 100000);
}

}  // namespace
}  // namespace vigil::control
