// EventLoop: the core's single epoll loop. Descriptors (signalfd, pidfds, sockets) are watched
// level-triggered for input; timers come from a DeadlineQueue behind one timerfd armed with an
// absolute CLOCK_MONOTONIC deadline, so an idle loop with no timers blocks forever: zero wake-ups.
// The timerfd is set again only for an earlier deadline: one cancelled or moved later (a
// watchdog's, at every ping) leaves it to fire once with nothing due, and re-arm then.
// Urgent descriptors (WatchUrgent: the signalfd, the control plane's socket) and the timerfd sit
// in an epoll set of their own, nested in the main one, and are served first whenever a turn
// finds a full batch of ready descriptors: with thousands of workers' sockets ready at once (a
// level-triggered ready list is served in turn), a signal, a deadline or a control request
// still waits one batch, not a pass over every ready socket. When the loop keeps up, the nested
// set is seen like any other descriptor and costs nothing.
// Due timers, too, run a bounded batch at a time (kTimerBatch): after a stall thousands of
// deadlines can be due at once, and running them all in one turn kept a loop of 10,000 workers
// from its descriptors for seconds, where the same work was waiting (each worker's heartbeat,
// read at its watchdog deadline instead of at its socket: every turn long, so every deadline
// due, so every turn long). Timers due keep their deadline order.
// Work for the next turn (Scheduler::RunNextTurn) runs once per turn, after its events and due
// timers; while some is queued the loop does not block.
// Posted work (Scheduler::Post) runs after each callback (a descriptor's, a timer's), in the order
// it was posted, before the next event is dispatched; RunOnce() returns with none left unless a
// pass hit kMaxPostedPerPass (work that keeps posting work), and then the next RunOnce() does not
// block before running the rest.
//
// Contract: everything runs on the thread that calls Run()/RunOnce(). Callbacks may add or remove
// watches and timers, including their own. An exception thrown by a callback is caught, logged,
// and the loop goes on: nothing escapes to PID 1's main().
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <unordered_map>

#include "agent/base/clock.h"
#include "agent/base/status.h"
#include "agent/base/unique_fd.h"
#include "agent/event/deadline_queue.h"
#include "agent/event/fd_watcher.h"
#include "agent/event/scheduler.h"

namespace vigil {

class EventLoop final : public Scheduler, public FdWatcher {
 public:
  using Callback = std::function<void()>;

  static StatusOr<std::unique_ptr<EventLoop>> Create(const Clock& clock);

  // Calls `on_readable` whenever `fd` is readable (or has an error/hang-up). One watch per fd.
  Status Watch(int fd, Callback on_readable) override;
  Status WatchUrgent(int fd, Callback on_readable) override;
  Status WatchWritable(int fd, Callback on_writable) override;
  Status AlsoWatchWritable(int fd, Callback on_writable) override;
  void StopWritable(int fd) override;
  void Unwatch(int fd) override;

  TimerId RunAt(MonoTime deadline, std::function<void()> callback) override;
  TimerId Post(std::function<void()> callback) override;
  TimerId RunNextTurn(std::function<void()> callback) override;
  void Cancel(TimerId id) override;

  // Waits for at least one event (forever if nothing is armed) and dispatches what is ready.
  Status RunOnce();

  // How many times epoll_wait has returned: the core's wake-ups, for tests and benchmarks.
  uint64_t wakeups() const { return wakeups_; }
  // How many times the timerfd has been set: deadlines moved later cost none (ArmTimer).
  uint64_t timer_arms() const { return timer_arms_; }
  // Posted work not run yet (only between a Post() and the end of the callback that posted it).
  size_t posted() const { return posted_.size(); }

  // Events taken from epoll per turn.
  static constexpr int kBatch = 32;
  // Due timers run per batch of timers (at most two batches a turn: the urgent set may be served
  // twice); the rest stay due and run in the next turns, between descriptors' events.
  static constexpr int kTimerBatch = 64;

  // Posted callbacks run in one pass, at most; the rest waits for the next pass (same turn or,
  // past this, the next RunOnce(), which then does not block).
  static constexpr size_t kMaxPostedPerPass = 65536;

 private:
  EventLoop(const Clock& clock, UniqueFd epoll_fd, UniqueFd urgent_fd, UniqueFd timer_fd);
  Status Add(int fd, uint32_t events, Callback on_readable, Callback on_writable, bool urgent);
  // Dispatches one event of either set.
  void DispatchEvent(const epoll_event& event);
  // The epoll set a watch is in.
  int SetOf(bool urgent) const { return urgent ? urgent_fd_.get() : epoll_fd_.get(); }
  // Serves the urgent set's ready descriptors (without waiting).
  void RunUrgent();
  void ArmTimer();
  void RunDueTimers();
  // Runs one callback, catching what it throws; then the work it posted.
  void Dispatch(const Callback& callback);
  void DispatchOne(const Callback& callback);
  void RunPosted();

  const Clock& clock_;
  UniqueFd epoll_fd_;
  UniqueFd urgent_fd_;  // an epoll set, itself watched by epoll_fd_
  UniqueFd timer_fd_;   // in the urgent set
  DeadlineQueue timers_;
  std::optional<MonoTime> armed_for_;  // what the timerfd is set for (none: not set)
  uint64_t timer_arms_ = 0;
  // Watches are looked up by a token, never by pointer: a callback that removes another watch
  // whose event is in the same epoll batch must not leave that event pointing at freed memory.
  struct WatchEntry {
    int fd;
    uint32_t events;
    bool urgent;           // in urgent_fd_'s set, not epoll_fd_'s
    Callback on_readable;  // EPOLLIN (and errors, when set)
    Callback on_writable;  // EPOLLOUT
  };
  std::unordered_map<uint64_t, WatchEntry> watches_;
  std::unordered_map<int, uint64_t> token_of_fd_;
  uint64_t next_token_ = 1;
  // Posted work, by id (ids grow: the map's order is the posting order). Posted ids carry the
  // top bit, so Cancel() tells them from the DeadlineQueue's.
  static constexpr TimerId kPostedBit = TimerId{1} << 63;
  std::map<TimerId, Callback> posted_;
  TimerId next_posted_ = kPostedBit | 1;
  // RunNextTurn's work, in the order it came; a turn runs what was queued before it began.
  static constexpr TimerId kNextTurnBit = TimerId{1} << 62;
  std::map<TimerId, Callback> next_turn_;
  TimerId next_turn_id_ = kNextTurnBit | 1;
  uint64_t wakeups_ = 0;
};

}  // namespace vigil
