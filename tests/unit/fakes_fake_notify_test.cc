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

TEST(FakeNotifyTransportTest, OpenHandsOutRealDescriptorsAndRecordsNames) {
  FakeNotifyTransport notify;
  auto a = notify.Open("vigil-x-web-0-1");
  auto b = notify.Open("vigil-x-web-1-2");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_NE(a->get(), b->get());
  EXPECT_GE(::fcntl(a->get(), F_GETFD), 0);  // A live descriptor: closing it is safe.
  EXPECT_EQ(notify.LastFdWithPrefix("vigil-x-web-1-"), b->get());
  EXPECT_EQ(notify.LastFdWithPrefix("vigil-x-jobs-"), -1);
  EXPECT_THAT(notify.open_attempts, ElementsAre("vigil-x-web-0-1", "vigil-x-web-1-2"));
  EXPECT_EQ(notify.NewToken(), "t1");
  EXPECT_EQ(notify.NewToken(), "t2");
}

TEST(FakeNotifyTransportTest, ScriptedFailuresComeFirstInOrder) {
  FakeNotifyTransport notify;
  notify.ScriptOpenFailure(Status::Error("one"));
  notify.ScriptOpenFailure(Status::Error("two"));
  EXPECT_EQ(notify.Open("a").status().message(), "one");
  EXPECT_EQ(notify.Open("b").status().message(), "two");
  EXPECT_TRUE(notify.Open("c").ok());
  EXPECT_THAT(notify.open_attempts, ElementsAre("a", "b", "c"));
  EXPECT_EQ(notify.opened.size(), 1u);
}

TEST(FakeNotifyTransportTest, DrainReturnsQueuedDatagramsOnceInOrder) {
  FakeNotifyTransport notify;
  auto fd = notify.Open("a");
  ASSERT_TRUE(fd.ok());
  notify.Queue(fd->get(), "READY=1", 100);
  notify.Queue(fd->get(), "STATUS=x", 0, /*truncated=*/true);
  EXPECT_EQ(notify.pending(fd->get()), 2u);
  auto datagrams = notify.Drain(fd->get());
  ASSERT_EQ(datagrams.size(), 2u);
  EXPECT_EQ(datagrams[0].data, "READY=1");
  EXPECT_EQ(datagrams[0].sender_pid, 100);
  EXPECT_FALSE(datagrams[0].truncated);
  EXPECT_TRUE(datagrams[1].truncated);
  EXPECT_THAT(notify.Drain(fd->get()), IsEmpty());
  EXPECT_THAT(notify.drained, ElementsAre(fd->get(), fd->get()));
}

TEST(FakeNotifyTransportTest, AReusedDescriptorNumberStartsWithNothingQueued) {
  FakeNotifyTransport notify;
  int number = -1;
  {
    auto fd = notify.Open("old");
    ASSERT_TRUE(fd.ok());
    number = fd->get();
    notify.Queue(number, "READY=1", 100);
  }  // Closed with a datagram still queued.
  auto again = notify.Open("new");
  ASSERT_TRUE(again.ok());
  if (again->get() == number) {
    EXPECT_EQ(notify.pending(number), 0u);
  }
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
