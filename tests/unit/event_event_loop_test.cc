// EventLoop against the real kernel: real pipes, a real timerfd and the real MonotonicClock.
// No sleeps: timers are due in the past or ~1 ms ahead, and RunOnce() is repeated a bounded
// number of times. An alarm() guard turns a loop that would block forever into a failure.
#include "agent/event/event_loop.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "agent/base/clock.h"
#include "agent/base/unique_fd.h"

namespace vigil {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

struct Pipe {
  UniqueFd read;
  UniqueFd write;

  static Pipe Make() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
    return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
  }
  void Put() const { EXPECT_EQ(::write(write.get(), "x", 1), 1); }
  void Drain() const {
    char buf[64];
    while (::read(read.get(), buf, sizeof buf) > 0) {
    }
  }
};

std::set<int> OpenTimerfds() {
  std::set<int> fds;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(entry.path(), ec);
    if (!ec && target.string() == "anon_inode:[timerfd]") {
      fds.insert(std::stoi(entry.path().filename().string()));
    }
  }
  return fds;
}

class EventLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::alarm(30);  // Guard: a RunOnce() that never returns kills the binary instead of hanging.
    const std::set<int> before = OpenTimerfds();
    auto loop = EventLoop::Create(clock_);
    ASSERT_TRUE(loop.ok()) << loop.status().message();
    loop_ = std::move(loop).value();
    for (int fd : OpenTimerfds()) {
      if (before.count(fd) == 0) timer_fd_ = fd;
    }
  }
  void TearDown() override { ::alarm(0); }

  // Runs the loop until `done` holds, at most `max_iterations` wake-ups.
  void RunUntil(const std::function<bool()>& done, int max_iterations = 1000) {
    for (int i = 0; i < max_iterations && !done(); ++i) {
      Status s = loop_->RunOnce();
      ASSERT_TRUE(s.ok()) << s.message();
    }
    ASSERT_TRUE(done()) << "condition not reached after " << max_iterations << " wake-ups";
  }

  // The timerfd's remaining time as the kernel reports it in /proc/self/fdinfo, or "" if it
  // cannot be read (then the test skips).
  std::string TimerItValue() {
    if (timer_fd_ < 0) return "";
    std::ifstream in("/proc/self/fdinfo/" + std::to_string(timer_fd_));
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("it_value:", 0) == 0) return line;
    }
    return "";
  }
  bool TimerArmed() { return TimerItValue() != "it_value: (0, 0)"; }

  MonotonicClock clock_;
  std::unique_ptr<EventLoop> loop_;
  int timer_fd_ = -1;
};

TEST_F(EventLoopTest, TimerWithPastDeadlineFires) {
  bool fired = false;
  loop_->RunAt(clock_.Now() - 1s, [&] { fired = true; });
  RunUntil([&] { return fired; }, 10);
}

TEST_F(EventLoopTest, TimerAMillisecondAheadFires) {
  bool fired = false;
  const MonoTime deadline = clock_.Now() + 1ms;
  MonoTime fired_at;
  loop_->RunAt(deadline, [&] {
    fired = true;
    fired_at = clock_.Now();
  });
  RunUntil([&] { return fired; }, 100);
  EXPECT_GE(fired_at, deadline);  // Never early.
}

TEST_F(EventLoopTest, DeadlineAtOrBeforeTheClockEpochStillFires) {
  bool fired = false;
  loop_->RunAt(MonoTime(-5s), [&] { fired = true; });
  RunUntil([&] { return fired; }, 10);
}

TEST_F(EventLoopTest, RunAtNeverReturnsNoTimer) {
  EXPECT_NE(loop_->RunAt(clock_.Now() + 1h, [] {}), kNoTimer);
}

TEST_F(EventLoopTest, TimersFireInDeadlineOrder) {
  std::vector<int> order;
  const MonoTime now = clock_.Now();
  loop_->RunAt(now - 1s, [&] { order.push_back(3); });
  loop_->RunAt(now - 3s, [&] { order.push_back(1); });
  loop_->RunAt(now - 2s, [&] { order.push_back(2); });
  RunUntil([&] { return order.size() == 3; }, 10);
  EXPECT_THAT(order, ElementsAre(1, 2, 3));
}

TEST_F(EventLoopTest, EarlierTimerAddedLaterRearmsTheTimerfd) {
  // A loop armed for an hour from now must still wake for a timer that is due now.
  bool late = false;
  bool early = false;
  loop_->RunAt(clock_.Now() + 1h, [&] { late = true; });
  loop_->RunAt(clock_.Now() - 1ms, [&] { early = true; });
  RunUntil([&] { return early; }, 10);
  EXPECT_FALSE(late);
}

TEST_F(EventLoopTest, CancelledTimerDoesNotFire) {
  bool cancelled_fired = false;
  bool other_fired = false;
  const MonoTime now = clock_.Now();
  TimerId id = loop_->RunAt(now + 1ms, [&] { cancelled_fired = true; });
  loop_->RunAt(now + 2ms, [&] { other_fired = true; });
  loop_->Cancel(id);
  RunUntil([&] { return other_fired; }, 100);
  EXPECT_FALSE(cancelled_fired);
}

TEST_F(EventLoopTest, CancelAfterFiringAndUnknownIdsAreNoOps) {
  int fired = 0;
  TimerId id = loop_->RunAt(clock_.Now() - 1s, [&] { ++fired; });
  RunUntil([&] { return fired == 1; }, 10);
  loop_->Cancel(id);
  loop_->Cancel(kNoTimer);
  loop_->Cancel(987654);
  bool next = false;
  loop_->RunAt(clock_.Now() - 1s, [&] { next = true; });
  RunUntil([&] { return next; }, 10);
  EXPECT_EQ(fired, 1);
}

TEST_F(EventLoopTest, TimerCallbackMayScheduleAnotherTimer) {
  bool second = false;
  loop_->RunAt(clock_.Now() - 1s,
               [&] { loop_->RunAt(clock_.Now() - 1ms, [&] { second = true; }); });
  RunUntil([&] { return second; }, 10);
}

TEST_F(EventLoopTest, TimerCallbackMayCancelALaterTimer) {
  bool later_fired = false;
  bool sentinel = false;
  TimerId later = loop_->RunAt(clock_.Now() + 2ms, [&] { later_fired = true; });
  loop_->RunAt(clock_.Now() - 1s, [&] { loop_->Cancel(later); });
  loop_->RunAt(clock_.Now() + 3ms, [&] { sentinel = true; });
  RunUntil([&] { return sentinel; }, 100);
  EXPECT_FALSE(later_fired);
}

// Regression test for a fixed bug: RunDueTimers() pops every due timer (DeadlineQueue::PopDue)
// before running any, so a timer callback that Cancel()s another timer due in the same batch does
// not stop it: Cancel() finds nothing to remove and the cancelled callback runs anyway. The header
// promises callbacks may remove timers, and Scheduler::Cancel's contract is that a cancelled timer
// never runs.
TEST_F(EventLoopTest, TimerCallbackMayCancelATimerDueInTheSameBatch) {
  bool second_fired = false;
  TimerId second = kNoTimer;
  const MonoTime due = clock_.Now() - 1s;
  loop_->RunAt(due, [&] { loop_->Cancel(second); });
  second = loop_->RunAt(due, [&] { second_fired = true; });
  bool sentinel = false;
  loop_->RunAt(clock_.Now() + 1ms, [&] { sentinel = true; });
  RunUntil([&] { return sentinel; }, 100);
  EXPECT_FALSE(second_fired);
}

TEST_F(EventLoopTest, WatchedPipeCallbackRuns) {
  Pipe p = Pipe::Make();
  int calls = 0;
  ASSERT_TRUE(loop_
                  ->Watch(p.read.get(),
                          [&] {
                            ++calls;
                            p.Drain();
                          })
                  .ok());
  p.Put();
  RunUntil([&] { return calls == 1; }, 10);
  p.Put();
  RunUntil([&] { return calls == 2; }, 10);
}

TEST_F(EventLoopTest, WatchIsLevelTriggered) {
  Pipe p = Pipe::Make();
  int calls = 0;
  ASSERT_TRUE(loop_->Watch(p.read.get(), [&] { ++calls; }).ok());  // Never drains.
  p.Put();
  ASSERT_TRUE(loop_->RunOnce().ok());
  ASSERT_TRUE(loop_->RunOnce().ok());
  EXPECT_EQ(calls, 2);
}

// Regression (issue 13, 10,000 workers): with thousands of workers' sockets ready at once, a
// control request, a signal or a deadline waited for a pass over all of them (a level-triggered
// ready list is served in turn, a batch per turn: ~300 turns at 10,000), and /metrics timed
// out. The urgent set and the timerfd are served in the next turn whatever else is ready.
TEST_F(EventLoopTest, AnUrgentFdAndADueTimerAreServedInTheNextTurnWhateverElseIsReady) {
  std::vector<Pipe> busy;
  int busy_calls = 0;
  for (int i = 0; i < 8 * EventLoop::kBatch; ++i) {
    busy.push_back(Pipe::Make());
    busy.back().Put();
    ASSERT_TRUE(
        loop_->Watch(busy.back().read.get(), [&] { ++busy_calls; }).ok());  // Never drained.
  }
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(loop_->RunOnce().ok());
  EXPECT_EQ(busy_calls, 3 * EventLoop::kBatch);
  Pipe urgent = Pipe::Make();
  Pipe normal = Pipe::Make();
  bool urgent_ran = false, normal_ran = false, timer_ran = false;
  ASSERT_TRUE(loop_
                  ->WatchUrgent(urgent.read.get(),
                                [&] {
                                  urgent_ran = true;
                                  urgent.Drain();
                                })
                  .ok());
  ASSERT_TRUE(loop_
                  ->Watch(normal.read.get(),
                          [&] {
                            normal_ran = true;
                            normal.Drain();
                          })
                  .ok());
  loop_->RunAt(clock_.Now(), [&] { timer_ran = true; });
  urgent.Put();
  normal.Put();
  ASSERT_TRUE(loop_->RunOnce().ok());
  EXPECT_TRUE(urgent_ran);
  EXPECT_TRUE(timer_ran);
  EXPECT_FALSE(normal_ran);  // It waits its turn behind the busy ones: the backlog is real.
  RunUntil([&] { return normal_ran; }, 20);
}

// Regression (issue 13): with 10,000 workers each heartbeat was read at the worker's watchdog
// deadline rather than at its socket, because every turn ran every timer due: a long turn made
// more deadlines due, which made the next turn long. A turn runs a bounded batch of due timers;
// the rest, in deadline order, in the next turns, and a descriptor ready meanwhile is served in
// between.
TEST_F(EventLoopTest, DueTimersRunABatchATurnAndDescriptorsAreServedInBetween) {
  constexpr int kTimers = 10 * EventLoop::kTimerBatch;
  std::vector<int> order;
  for (int i = 0; i < kTimers; ++i)
    loop_->RunAt(clock_.Now() - std::chrono::milliseconds(kTimers - i),
                 [&order, i] { order.push_back(i); });
  Pipe pipe = Pipe::Make();
  int served_after = -1;
  ASSERT_TRUE(loop_
                  ->Watch(pipe.read.get(),
                          [&] {
                            served_after = static_cast<int>(order.size());
                            pipe.Drain();
                          })
                  .ok());
  ASSERT_TRUE(loop_->RunOnce().ok());
  EXPECT_GE(order.size(), 1u);
  EXPECT_LE(order.size(), 2u * EventLoop::kTimerBatch);
  pipe.Put();
  RunUntil([&] { return order.size() == static_cast<size_t>(kTimers); }, 2 * kTimers);
  EXPECT_GE(served_after, 0);
  EXPECT_LT(served_after, kTimers);  // not after every timer
  for (int i = 0; i < kTimers; ++i)
    ASSERT_EQ(order[static_cast<size_t>(i)], i);  // deadline order, across turns
}

// Work for the next turn runs once a turn, after the turn's events, whatever timers are due:
// a backlog of due timers (run a batch a turn) does not hold it back, and the work it queues
// for the next turn waits for the next turn.
TEST_F(EventLoopTest, NextTurnWorkRunsEachTurnAheadOfABacklogOfDueTimers) {
  int timers_ran = 0;
  for (int i = 0; i < 20 * EventLoop::kTimerBatch; ++i)
    loop_->RunAt(clock_.Now() - std::chrono::seconds(1), [&] { ++timers_ran; });
  int turns_of_work = 0;
  std::function<void()> work = [&] {
    ++turns_of_work;
    if (turns_of_work < 5) loop_->RunNextTurn(work);
  };
  loop_->RunNextTurn(work);
  for (int turn = 1; turn <= 5; ++turn) {
    ASSERT_TRUE(loop_->RunOnce().ok());
    EXPECT_EQ(turns_of_work, turn);  // one step a turn, never two
  }
  EXPECT_LT(timers_ran, 20 * EventLoop::kTimerBatch);  // the backlog is still being worked off
  const TimerId cancelled = loop_->RunNextTurn([&] { ADD_FAILURE() << "cancelled work ran"; });
  loop_->Cancel(cancelled);
  ASSERT_TRUE(loop_->RunOnce().ok());
}

// An urgent watch is a watch like any other: writable too, and removed by Unwatch.
TEST_F(EventLoopTest, AnUrgentWatchCanAlsoWatchWritableAndBeRemoved) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
  UniqueFd a(fds[0]), b(fds[1]);
  int readable = 0, writable = 0;
  ASSERT_TRUE(loop_
                  ->WatchUrgent(a.get(),
                                [&] {
                                  ++readable;
                                  char buf[8];
                                  while (::read(a.get(), buf, sizeof buf) > 0) {
                                  }
                                })
                  .ok());
  ASSERT_TRUE(loop_
                  ->AlsoWatchWritable(a.get(),
                                      [&] {
                                        ++writable;
                                        loop_->StopWritable(a.get());
                                      })
                  .ok());
  ASSERT_EQ(::write(b.get(), "x", 1), 1);
  RunUntil([&] { return readable >= 1 && writable == 1; }, 10);
  loop_->Unwatch(a.get());
  ASSERT_EQ(::write(b.get(), "y", 1), 1);
  bool other = false;
  loop_->RunAt(clock_.Now(), [&] { other = true; });
  RunUntil([&] { return other; }, 10);
  EXPECT_EQ(readable, 1);
  EXPECT_EQ(writable, 1);
}

TEST_F(EventLoopTest, HangUpCountsAsReadable) {
  Pipe p = Pipe::Make();
  bool called = false;
  ASSERT_TRUE(loop_->Watch(p.read.get(), [&] { called = true; }).ok());
  p.write.Reset();
  RunUntil([&] { return called; }, 10);
}

TEST_F(EventLoopTest, WatchWritableRunsWhenTheFdCanBeWritten) {
  Pipe p = Pipe::Make();
  int calls = 0;
  ASSERT_TRUE(loop_
                  ->WatchWritable(p.write.get(),
                                  [&] {
                                    ++calls;
                                    loop_->Unwatch(
                                        p.write.get());  // Writable stays true: one call is enough.
                                  })
                  .ok());
  RunUntil([&] { return calls == 1; }, 10);
}

TEST_F(EventLoopTest, WatchWritableDoesNotFireForAFullPipe) {
  Pipe p = Pipe::Make();
  while (::write(p.write.get(), "xxxxxxxxxxxxxxxx", 16) > 0) {
  }
  bool writable = false;
  ASSERT_TRUE(loop_->WatchWritable(p.write.get(), [&] { writable = true; }).ok());
  bool tick = false;
  loop_->RunAt(clock_.Now() - 1s, [&] { tick = true; });
  RunUntil([&] { return tick; }, 10);
  EXPECT_FALSE(writable);
  p.Drain();
  RunUntil([&] { return writable; }, 10);
}

TEST_F(EventLoopTest, AnFdIsWatchedForReadingOrWritingNotBoth) {
  Pipe p = Pipe::Make();
  ASSERT_TRUE(loop_->Watch(p.read.get(), [] {}).ok());
  EXPECT_FALSE(loop_->WatchWritable(p.read.get(), [] {}).ok());
  ASSERT_TRUE(loop_->WatchWritable(p.write.get(), [] {}).ok());
  EXPECT_FALSE(loop_->Watch(p.write.get(), [] {}).ok());
}

TEST_F(EventLoopTest, WatchingAnFdTwiceIsAnErrorNamingIt) {
  Pipe p = Pipe::Make();
  ASSERT_TRUE(loop_->Watch(p.read.get(), [] {}).ok());
  Status s = loop_->Watch(p.read.get(), [] {});
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("fd " + std::to_string(p.read.get())));
}

TEST_F(EventLoopTest, WatchingABadFdFails) {
  Pipe p = Pipe::Make();
  const int fd = p.read.get();
  p.read.Reset();
  Status s = loop_->Watch(fd, [] {});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.os_error(), EBADF);
  // A failed Watch leaves no trace: the fd number can be watched once it is valid again.
  Pipe q = Pipe::Make();
  UniqueFd again;
  if (q.read.get() != fd) {
    ASSERT_EQ(::dup2(q.read.get(), fd), fd);
    again.Reset(fd);
  }
  EXPECT_TRUE(loop_->Watch(fd, [] {}).ok());
  loop_->Unwatch(fd);
}

TEST_F(EventLoopTest, UnwatchedFdNoLongerRunsItsCallback) {
  Pipe p = Pipe::Make();
  int calls = 0;
  ASSERT_TRUE(loop_->Watch(p.read.get(), [&] { ++calls; }).ok());
  loop_->Unwatch(p.read.get());
  loop_->Unwatch(p.read.get());  // Twice: a no-op.
  loop_->Unwatch(12345);         // Never watched: a no-op.
  p.Put();
  bool tick = false;
  loop_->RunAt(clock_.Now() - 1s, [&] { tick = true; });
  RunUntil([&] { return tick; }, 10);
  EXPECT_EQ(calls, 0);
  // And it can be watched again.
  ASSERT_TRUE(loop_->Watch(p.read.get(), [&] { ++calls; }).ok());
  RunUntil([&] { return calls == 1; }, 10);
}

TEST_F(EventLoopTest, CallbackMayUnwatchItself) {
  Pipe p = Pipe::Make();
  int calls = 0;
  ASSERT_TRUE(loop_
                  ->Watch(p.read.get(),
                          [&] {
                            ++calls;
                            loop_->Unwatch(p.read.get());
                          })
                  .ok());
  p.Put();
  RunUntil([&] { return calls == 1; }, 10);
  bool tick = false;
  loop_->RunAt(clock_.Now() - 1s, [&] { tick = true; });
  RunUntil([&] { return tick; }, 10);
  EXPECT_EQ(calls, 1);
}

TEST_F(EventLoopTest, CallbackUnwatchingAnotherFdReadyInTheSameBatchDoesNotCrash) {
  Pipe a = Pipe::Make();
  Pipe b = Pipe::Make();
  int calls = 0;
  // Whichever runs first removes the other, whose event is already in the same epoll batch.
  // The big capture makes the std::function heap-allocated, so a dangling call would be caught
  // by ASan/valgrind, and would likely crash or miscount even without them.
  std::vector<int> big_capture(1000, 7);
  ASSERT_TRUE(loop_
                  ->Watch(a.read.get(),
                          [&, big_capture] {
                            calls += big_capture[999] == 7 ? 1 : 100;
                            loop_->Unwatch(b.read.get());
                          })
                  .ok());
  ASSERT_TRUE(loop_
                  ->Watch(b.read.get(),
                          [&, big_capture] {
                            calls += big_capture[999] == 7 ? 1 : 100;
                            loop_->Unwatch(a.read.get());
                          })
                  .ok());
  a.Put();
  b.Put();
  ASSERT_TRUE(loop_->RunOnce().ok());
  EXPECT_EQ(calls, 1);
}

TEST_F(EventLoopTest, FdNumberReusedWithinABatchDoesNotRunTheNewCallbackForTheOldEvent) {
  Pipe a = Pipe::Make();
  Pipe b = Pipe::Make();
  Pipe fresh = Pipe::Make();
  int old_calls = 0;
  int new_calls = 0;
  // The first callback to run replaces the other pipe with `fresh` under the same fd number.
  auto replace = [&](Pipe& self, Pipe& other) {
    ++old_calls;
    self.Drain();
    const int fd = other.read.get();
    loop_->Unwatch(fd);
    ASSERT_EQ(::dup2(fresh.read.get(), fd), fd);
    ASSERT_TRUE(loop_
                    ->Watch(fd,
                            [&] {
                              ++new_calls;
                              fresh.Drain();
                            })
                    .ok());
  };
  ASSERT_TRUE(loop_->Watch(a.read.get(), [&] { replace(a, b); }).ok());
  ASSERT_TRUE(loop_->Watch(b.read.get(), [&] { replace(b, a); }).ok());
  a.Put();
  b.Put();
  fresh.Put();
  ASSERT_TRUE(loop_->RunOnce().ok());
  EXPECT_EQ(old_calls, 1);
  EXPECT_EQ(new_calls, 0);  // The stale event belonged to the old watch.
  RunUntil([&] { return new_calls == 1; }, 10);
  EXPECT_EQ(old_calls, 1);
}

TEST_F(EventLoopTest, MoreReadyFdsThanOneEpollBatchAreAllServed) {
  std::vector<Pipe> pipes;
  pipes.reserve(40);  // The callbacks keep references to the elements.
  std::vector<int> calls(40, 0);
  for (int i = 0; i < 40; ++i) {
    pipes.push_back(Pipe::Make());
    Pipe& p = pipes.back();
    ASSERT_TRUE(loop_
                    ->Watch(p.read.get(),
                            [&calls, &p, i] {
                              ++calls[i];
                              p.Drain();
                            })
                    .ok());
  }
  for (const Pipe& p : pipes)
    p.Put();
  RunUntil([&] { return std::count(calls.begin(), calls.end(), 1) == 40; }, 10);
}

TEST_F(EventLoopTest, ExceptionFromATimerCallbackIsCaughtAndTheLoopGoesOn) {
  bool after = false;
  const MonoTime now = clock_.Now();
  loop_->RunAt(now - 3s, [] { throw std::runtime_error("boom"); });
  loop_->RunAt(now - 2s, [] { throw 42; });  // Not even a std::exception.
  loop_->RunAt(now - 1s, [&] { after = true; });
  RunUntil([&] { return after; }, 10);
  bool later = false;
  loop_->RunAt(clock_.Now() - 1ms, [&] { later = true; });
  RunUntil([&] { return later; }, 10);
}

TEST_F(EventLoopTest, ExceptionFromAWatchCallbackIsCaughtAndTheLoopGoesOn) {
  Pipe p = Pipe::Make();
  Pipe q = Pipe::Make();
  int throws = 0;
  bool q_ran = false;
  ASSERT_TRUE(loop_
                  ->Watch(p.read.get(),
                          [&] {
                            ++throws;
                            p.Drain();
                            throw std::logic_error("bad");
                          })
                  .ok());
  ASSERT_TRUE(loop_
                  ->Watch(q.read.get(),
                          [&] {
                            q_ran = true;
                            q.Drain();
                          })
                  .ok());
  p.Put();
  q.Put();
  RunUntil([&] { return throws == 1 && q_ran; }, 10);
  p.Put();
  RunUntil([&] { return throws == 2; }, 10);
}

TEST_F(EventLoopTest, WakeupsCountEachReturnOfEpollWait) {
  EXPECT_EQ(loop_->wakeups(), 0u);
  Pipe p = Pipe::Make();
  ASSERT_TRUE(loop_->Watch(p.read.get(), [] {}).ok());
  p.Put();
  ASSERT_TRUE(loop_->RunOnce().ok());
  EXPECT_EQ(loop_->wakeups(), 1u);
  ASSERT_TRUE(loop_->RunOnce().ok());
  ASSERT_TRUE(loop_->RunOnce().ok());
  EXPECT_EQ(loop_->wakeups(), 3u);
}

TEST_F(EventLoopTest, ATimerAndAReadyFdShareOneWakeup) {
  Pipe p = Pipe::Make();
  bool read_ran = false;
  bool timer_ran = false;
  ASSERT_TRUE(loop_
                  ->Watch(p.read.get(),
                          [&] {
                            read_ran = true;
                            p.Drain();
                          })
                  .ok());
  p.Put();
  loop_->RunAt(clock_.Now() - 1s, [&] { timer_ran = true; });
  ASSERT_TRUE(loop_->RunOnce().ok());
  EXPECT_TRUE(read_ran);
  EXPECT_TRUE(timer_ran);
  EXPECT_EQ(loop_->wakeups(), 1u);
}

// "An idle loop with no timers blocks forever": the timerfd is disarmed whenever no timer is
// pending. Not visible through the API, so read the kernel's view from /proc/self/fdinfo.
TEST_F(EventLoopTest, IdleLoopHasNoTimerArmed) {
  if (TimerItValue().empty()) GTEST_SKIP() << "timerfd fdinfo not readable here";
  EXPECT_FALSE(TimerArmed()) << TimerItValue();

  bool fired = false;
  loop_->RunAt(clock_.Now() + 1ms, [&] { fired = true; });
  EXPECT_TRUE(TimerArmed());
  RunUntil([&] { return fired; }, 100);
  EXPECT_FALSE(TimerArmed()) << TimerItValue();
}

TEST_F(EventLoopTest, CancelledTimerCostsAtMostOneWakeupThenTheLoopIsIdle) {
  if (TimerItValue().empty()) GTEST_SKIP() << "timerfd fdinfo not readable here";
  bool fired = false;
  TimerId id = loop_->RunAt(clock_.Now() + 1ms, [&] { fired = true; });
  loop_->Cancel(id);
  // Disarming is lazy: the timerfd may still fire once, with nothing to run.
  if (TimerArmed()) {
    ASSERT_TRUE(loop_->RunOnce().ok());
    EXPECT_EQ(loop_->wakeups(), 1u);
  }
  EXPECT_FALSE(fired);
  EXPECT_FALSE(TimerArmed()) << TimerItValue();
}

// A worker's watchdog deadline moves later at each of its pings: that must not cost a system
// call each time. The timerfd set for the first deadline is left to fire with nothing due.
TEST_F(EventLoopTest, ADeadlineMovedLaterDoesNotSetTheTimerfdAgainUntilItFires) {
  bool fired = false;
  TimerId id = loop_->RunAt(clock_.Now() + 20ms, [] {});
  const uint64_t arms = loop_->timer_arms();
  EXPECT_EQ(arms, 1u);
  for (int i = 1; i <= 100; ++i) {
    loop_->Cancel(id);
    id = loop_->RunAt(clock_.Now() + 20ms + i * 1ms, [&] { fired = true; });
  }
  EXPECT_EQ(loop_->timer_arms(), arms);
  RunUntil([&] { return fired; }, 10);
  // Once at the first deadline (nothing due: set for the last), once at the last.
  EXPECT_EQ(loop_->wakeups(), 2u);
  EXPECT_EQ(loop_->timer_arms(), arms + 1);
}

TEST_F(EventLoopTest, TimerfdIsRearmedForTheNextPendingTimerAfterOneFires) {
  if (TimerItValue().empty()) GTEST_SKIP() << "timerfd fdinfo not readable here";
  bool first = false;
  loop_->RunAt(clock_.Now() - 1s, [&] { first = true; });
  loop_->RunAt(clock_.Now() + 1h, [] {});
  RunUntil([&] { return first; }, 10);
  EXPECT_TRUE(TimerArmed()) << TimerItValue();
}

// Posted work runs after the callback that posted it, before the next event of the same batch,
// in posting order; work it posts runs in the same pass.
TEST_F(EventLoopTest, PostedWorkRunsAfterTheCurrentCallbackBeforeTheNextEvent) {
  std::vector<std::string> ran;
  const MonoTime due = clock_.Now() - 1s;
  loop_->RunAt(due, [&] {
    loop_->Post([&] {
      ran.push_back("posted 1");
      loop_->Post([&] { ran.push_back("posted by posted"); });
    });
    loop_->Post([&] { ran.push_back("posted 2"); });
    ran.push_back("timer 1");
  });
  loop_->RunAt(due, [&] { ran.push_back("timer 2"); });
  RunUntil([&] { return ran.size() == 5; }, 10);
  EXPECT_THAT(ran, ElementsAre("timer 1", "posted 1", "posted 2", "posted by posted", "timer 2"));
  EXPECT_EQ(loop_->posted(), 0u);
}

TEST_F(EventLoopTest, WorkPostedOutsideTheLoopRunsOnTheNextTurnWithoutBlocking) {
  bool ran = false;
  loop_->Post([&] { ran = true; });
  ASSERT_TRUE(loop_->RunOnce().ok());  // Nothing else is armed: this would block if it waited.
  EXPECT_TRUE(ran);
}

TEST_F(EventLoopTest, CancelledPostedWorkNeverRunsAndTimersAreUntouched) {
  bool posted_ran = false, timer_ran = false;
  const TimerId timer = loop_->RunAt(clock_.Now() - 1s, [&] { timer_ran = true; });
  const TimerId posted = loop_->Post([&] { posted_ran = true; });
  EXPECT_NE(posted, kNoTimer);
  EXPECT_NE(posted, timer);
  loop_->Cancel(posted);
  loop_->Cancel(posted);  // Twice: a no-op.
  RunUntil([&] { return timer_ran; }, 10);
  EXPECT_FALSE(posted_ran);
}

TEST_F(EventLoopTest, AnExceptionInPostedWorkIsContainedAndTheRestStillRuns) {
  bool second = false;
  loop_->Post([] { throw std::runtime_error("boom"); });
  loop_->Post([&] { second = true; });
  ASSERT_TRUE(loop_->RunOnce().ok());
  EXPECT_TRUE(second);
}

// Work that keeps posting work cannot hold the loop: a pass stops at its cap, the events that
// are ready are served, and the rest runs on the next turn.
TEST_F(EventLoopTest, WorkThatKeepsPostingDoesNotStarveDescriptors) {
  Pipe pipe = Pipe::Make();
  bool readable = false;
  ASSERT_TRUE(loop_
                  ->Watch(pipe.read.get(),
                          [&] {
                            readable = true;
                            pipe.Drain();
                          })
                  .ok());
  size_t runs = 0;
  std::function<void()> again = [&] {
    ++runs;
    if (!readable) loop_->Post(again);
  };
  loop_->Post(again);
  pipe.Put();
  RunUntil([&] { return readable; }, 10);
  EXPECT_GE(runs, EventLoop::kMaxPostedPerPass);
  RunUntil([&] { return loop_->posted() == 0; }, 10);
}

}  // namespace
}  // namespace vigil
