// The fakes the pool-mode tests stand on: FakeFdWatcher, FakeNotifyTransport, FakeRandom, and
// FakeOs's growing pids. A fake that lies makes every test above it worthless.
#include <fcntl.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/fakes/fake_fd_watcher.h"
#include "tests/fakes/fake_notify_transport.h"
#include "tests/fakes/fake_os.h"
#include "tests/fakes/fake_random.h"

namespace vigil::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(FakeFdWatcherTest, RecordsCallsAndFiresOnlyWatchedDescriptors) {
  FakeFdWatcher watcher;
  int readable = 0;
  int writable = 0;
  ASSERT_TRUE(watcher.Watch(5, [&] { ++readable; }).ok());
  ASSERT_TRUE(watcher.WatchWritable(6, [&] { ++writable; }).ok());
  EXPECT_TRUE(watcher.Fire(5));
  EXPECT_TRUE(watcher.FireWritable(6));
  EXPECT_FALSE(watcher.Fire(6));  // Watched for writing only.
  EXPECT_FALSE(watcher.Fire(7));
  watcher.Unwatch(5);
  EXPECT_FALSE(watcher.Fire(5));
  EXPECT_EQ(readable, 1);
  EXPECT_EQ(writable, 1);
  EXPECT_THAT(watcher.calls, ElementsAre("Watch(5)", "WatchWritable(6)", "Unwatch(5)"));
}

TEST(FakeFdWatcherTest, ACallbackMayUnwatchItself) {
  FakeFdWatcher watcher;
  int calls = 0;
  ASSERT_TRUE(watcher
                  .Watch(5,
                         [&] {
                           ++calls;
                           watcher.Unwatch(5);
                         })
                  .ok());
  EXPECT_TRUE(watcher.Fire(5));
  EXPECT_FALSE(watcher.IsWatched(5));
  EXPECT_EQ(calls, 1);
}

TEST(FakeFdWatcherTest, AScriptedFailureRegistersNothing) {
  FakeFdWatcher watcher;
  watcher.watch_result = Status::Error("epoll_ctl: no space");
  EXPECT_FALSE(watcher.Watch(5, [] {}).ok());
  EXPECT_FALSE(watcher.IsWatched(5));
  EXPECT_EQ(watcher.watched_count(), 0u);
}

TEST(FakeNotifyTransportTest, OpenHandsOutRealDescriptorsAndRecordsLabelsAndOwners) {
  FakeOs os;
  FakeNotifyTransport notify(&os);
  auto a = notify.Open("web/0", 1000, 1000);
  auto b = notify.Open("web/1", static_cast<uid_t>(-1), static_cast<gid_t>(-1));
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_NE(a->fd.get(), b->fd.get());
  EXPECT_GE(::fcntl(a->fd.get(), F_GETFD), 0);  // A live descriptor: closing it is safe.
  EXPECT_EQ(a->paths.socket_path, "/notify/web-0-1/notify");
  EXPECT_EQ(notify.LastFdWithLabel("web/1"), b->fd.get());
  EXPECT_EQ(notify.LastFdWithLabel("jobs/0"), -1);
  EXPECT_THAT(notify.open_attempts, ElementsAre("web/0", "web/1"));
  EXPECT_EQ(notify.opened[0].owner, 1000u);
  notify.Close(*a);
  EXPECT_FALSE(a->fd.valid());
  EXPECT_THAT(notify.closed, ElementsAre("/notify/web-0-1/notify"));
}

TEST(FakeNotifyTransportTest, ScriptedFailuresComeFirstInOrder) {
  FakeOs os;
  FakeNotifyTransport notify(&os);
  notify.ScriptOpenFailure(Status::Error("one"));
  notify.ScriptOpenFailure(Status::Error("two"));
  EXPECT_EQ(notify.Open("a", 0, 0).status().message(), "one");
  EXPECT_EQ(notify.Open("b", 0, 0).status().message(), "two");
  EXPECT_TRUE(notify.Open("c", 0, 0).ok());
  EXPECT_THAT(notify.open_attempts, ElementsAre("a", "b", "c"));
  EXPECT_EQ(notify.opened.size(), 1u);
}

TEST(FakeNotifyTransportTest, DrainReturnsQueuedDatagramsInOrderWithSendersReadThen) {
  FakeOs os;
  FakeNotifyTransport notify(&os);
  auto fd = notify.Open("a", 0, 0);
  ASSERT_TRUE(fd.ok());
  const int n = fd->fd.get();
  os.process_groups[100] = 100;
  notify.Queue(n, "READY=1", 100);
  notify.Queue(n, "STATUS=x", 0, /*truncated=*/true);
  notify.Queue(n, "STATUS=y", 555);
  EXPECT_EQ(notify.pending(n), 3u);
  os.process_groups.erase(100);  // Gone before it was read: that is what Drain sees.
  auto first = notify.Drain(n, 2, {});
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].data, "READY=1");
  EXPECT_EQ(first[0].sender.credentials_pid, 100);
  EXPECT_EQ(first[0].sender.process.pid, -1);
  EXPECT_EQ(first[0].sender.process.identity, os.IdentityOf(100));
  EXPECT_FALSE(first[0].truncated);
  EXPECT_TRUE(first[1].truncated);
  EXPECT_EQ(first[1].sender.process.pid, 0);  // Outside the namespace.
  EXPECT_EQ(notify.pending(n), 1u);
  EXPECT_EQ(notify.Drain(n, 64, {}).size(), 1u);
  EXPECT_THAT(notify.Drain(n, 64, {}), IsEmpty());
  EXPECT_THAT(notify.drained, ElementsAre(n, n, n));
  EXPECT_THAT(notify.drain_limits, ElementsAre(2u, 64u, 64u));
}

TEST(FakeNotifyTransportTest, AReusedDescriptorNumberStartsWithNothingQueued) {
  FakeOs os;
  FakeNotifyTransport notify(&os);
  int number = -1;
  {
    auto fd = notify.Open("old", 0, 0);
    ASSERT_TRUE(fd.ok());
    number = fd->fd.get();
    notify.Queue(number, "READY=1", 100);
  }  // Closed with a datagram still queued.
  auto again = notify.Open("new", 0, 0);
  ASSERT_TRUE(again.ok());
  if (again->fd.get() == number) {
    EXPECT_EQ(notify.pending(number), 0u);
  }
}

TEST(FakeOsPidfdTest, PidfdsAnswerFromTheProcessTableAndKeepTheirIdentity) {
  FakeOs os;
  os.process_groups[50] = 40;
  auto fd = os.OpenPidfd(50);
  ASSERT_TRUE(fd.ok());
  ProcessFacts facts = os.InspectPidfd(fd->get());
  EXPECT_EQ(facts.pid, 50);
  EXPECT_EQ(facts.pgid, 40);
  EXPECT_FALSE(facts.exited);
  os.exited.insert(50);
  EXPECT_TRUE(os.InspectPidfd(fd->get()).exited);
  os.process_groups.erase(50);
  facts = os.InspectPidfd(fd->get());
  EXPECT_EQ(facts.pid, -1);
  EXPECT_EQ(facts.identity, os.IdentityOf(50));
  EXPECT_EQ(os.OpenPidfd(50).status().os_error(), ESRCH);
}

TEST(FakeRandomTest, ReturnsTheSequenceThenTheFallback) {
  FakeRandom random(0.25);
  random.sequence = {0.0, 0.9};
  EXPECT_EQ(random.Uniform01(), 0.0);
  EXPECT_EQ(random.Uniform01(), 0.9);
  EXPECT_EQ(random.Uniform01(), 0.25);
  EXPECT_EQ(random.Uniform01(), 0.25);
  EXPECT_EQ(random.calls, 4);
  EXPECT_EQ(FakeRandom().Uniform01(), 0.5);
}

TEST(FakeOsSpawnPidsTest, UnscriptedSpawnsGetGrowingPidsWhenAskedAndScriptsStillComeFirst) {
  FakeOs os;
  SpawnRequest request;
  request.argv = {"x"};
  auto spawn = [&] {
    SpawnedChild child;
    SpawnError error;
    EXPECT_TRUE(os.Spawn(request, &child, &error));
    return child.pid;
  };
  EXPECT_EQ(spawn(), 100);  // The default: always 100.
  EXPECT_EQ(spawn(), 100);
  os.next_unscripted_pid = 200;
  os.ScriptSpawnSuccess(50);
  EXPECT_EQ(spawn(), 50);
  EXPECT_EQ(spawn(), 200);
  EXPECT_EQ(spawn(), 201);
}

}  // namespace
}  // namespace vigil::testing
