#include "agent/event/event_loop.h"

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <vector>

#include "agent/log/log.h"

namespace vigil {
namespace {
constexpr uint64_t kTimerToken = 0;              // Watch tokens start at 1.
constexpr uint64_t kUrgentToken = ~uint64_t{0};  // the urgent set, in the main one
}  // namespace

StatusOr<std::unique_ptr<EventLoop>> EventLoop::Create(const Clock& clock) {
  UniqueFd epoll_fd(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_fd) return Status::FromErrno("epoll_create1", errno);
  UniqueFd urgent_fd(::epoll_create1(EPOLL_CLOEXEC));
  if (!urgent_fd) return Status::FromErrno("epoll_create1", errno);
  UniqueFd timer_fd(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!timer_fd) return Status::FromErrno("timerfd_create", errno);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kTimerToken;
  if (::epoll_ctl(urgent_fd.get(), EPOLL_CTL_ADD, timer_fd.get(), &ev) != 0) {
    return Status::FromErrno("epoll_ctl(timerfd)", errno);
  }
  ev.data.u64 = kUrgentToken;
  if (::epoll_ctl(epoll_fd.get(), EPOLL_CTL_ADD, urgent_fd.get(), &ev) != 0) {
    return Status::FromErrno("epoll_ctl(urgent set)", errno);
  }
  return std::unique_ptr<EventLoop>(
      new EventLoop(clock, std::move(epoll_fd), std::move(urgent_fd), std::move(timer_fd)));
}

EventLoop::EventLoop(const Clock& clock, UniqueFd epoll_fd, UniqueFd urgent_fd, UniqueFd timer_fd)
    : clock_(clock),
      epoll_fd_(std::move(epoll_fd)),
      urgent_fd_(std::move(urgent_fd)),
      timer_fd_(std::move(timer_fd)) {}

Status EventLoop::Watch(int fd, Callback on_readable) {
  return Add(fd, EPOLLIN, std::move(on_readable), nullptr, /*urgent=*/false);
}

Status EventLoop::WatchUrgent(int fd, Callback on_readable) {
  return Add(fd, EPOLLIN, std::move(on_readable), nullptr, /*urgent=*/true);
}

Status EventLoop::WatchWritable(int fd, Callback on_writable) {
  return Add(fd, EPOLLOUT, nullptr, std::move(on_writable), /*urgent=*/false);
}

Status EventLoop::Add(int fd, uint32_t events, Callback on_readable, Callback on_writable,
                      bool urgent) {
  if (token_of_fd_.count(fd) != 0) return Status::Error("fd " + std::to_string(fd) + " is watched");
  const uint64_t token = next_token_++;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = token;
  if (::epoll_ctl(SetOf(urgent), EPOLL_CTL_ADD, fd, &ev) != 0) {
    return Status::FromErrno("epoll_ctl(add " + std::to_string(fd) + ")", errno);
  }
  watches_.emplace(token,
                   WatchEntry{fd, events, urgent, std::move(on_readable), std::move(on_writable)});
  token_of_fd_.emplace(fd, token);
  return Status();
}

Status EventLoop::AlsoWatchWritable(int fd, Callback on_writable) {
  auto it = token_of_fd_.find(fd);
  if (it == token_of_fd_.end())
    return Status::Error("fd " + std::to_string(fd) + " is not watched");
  WatchEntry& entry = watches_.at(it->second);
  epoll_event ev{};
  ev.events = entry.events | EPOLLOUT;
  ev.data.u64 = it->second;
  if (::epoll_ctl(SetOf(entry.urgent), EPOLL_CTL_MOD, fd, &ev) != 0) {
    return Status::FromErrno("epoll_ctl(mod " + std::to_string(fd) + ")", errno);
  }
  entry.events = ev.events;
  entry.on_writable = std::move(on_writable);
  return Status();
}

void EventLoop::StopWritable(int fd) {
  auto it = token_of_fd_.find(fd);
  if (it == token_of_fd_.end()) return;
  WatchEntry& entry = watches_.at(it->second);
  if ((entry.events & EPOLLOUT) == 0 || !entry.on_readable) return;
  epoll_event ev{};
  ev.events = entry.events & ~static_cast<uint32_t>(EPOLLOUT);
  ev.data.u64 = it->second;
  if (::epoll_ctl(SetOf(entry.urgent), EPOLL_CTL_MOD, fd, &ev) == 0) {
    entry.events = ev.events;
    entry.on_writable = nullptr;
  }
}

void EventLoop::Unwatch(int fd) {
  auto it = token_of_fd_.find(fd);
  if (it == token_of_fd_.end()) return;
  // Failure means the fd was already closed, which removed it from the epoll set anyway.
  ::epoll_ctl(SetOf(watches_.at(it->second).urgent), EPOLL_CTL_DEL, fd, nullptr);
  watches_.erase(it->second);
  token_of_fd_.erase(it);
}

TimerId EventLoop::RunAt(MonoTime deadline, std::function<void()> callback) {
  TimerId id = timers_.Add(deadline, std::move(callback));
  ArmTimer();
  return id;
}

TimerId EventLoop::Post(std::function<void()> callback) {
  const TimerId id = next_posted_++;
  posted_.emplace(id, std::move(callback));
  return id;
}

TimerId EventLoop::RunNextTurn(std::function<void()> callback) {
  const TimerId id = next_turn_id_++;
  next_turn_.emplace(id, std::move(callback));
  return id;
}

void EventLoop::Cancel(TimerId id) {
  if (id & kPostedBit) {
    posted_.erase(id);
    return;
  }
  if (id & kNextTurnBit) {
    next_turn_.erase(id);
    return;
  }
  // Disarming is left lazy (ArmTimer): a timerfd that fires with nothing due re-arms then.
  timers_.Cancel(id);
}

void EventLoop::ArmTimer() {
  std::optional<MonoTime> earliest = timers_.Earliest();
  // Re-armed only for an earlier deadline. One armed earlier than needed (its timer cancelled,
  // or moved later: a worker's watchdog deadline at each of its pings) is left to fire: it finds
  // nothing due and arms for the earliest then. A system call per ping saved, for one wake-up
  // per watchdog period.
  if (!earliest || (armed_for_ && *armed_for_ <= *earliest)) return;
  itimerspec spec{};
  auto ns = earliest->time_since_epoch().count();
  if (ns <= 0) ns = 1;  // it_value 0 would disarm; 1 ns is "already due".
  spec.it_value.tv_sec = ns / 1000000000;
  spec.it_value.tv_nsec = ns % 1000000000;
  ++timer_arms_;
  if (::timerfd_settime(timer_fd_.get(), TFD_TIMER_ABSTIME, &spec, nullptr) != 0) {
    // Cannot happen with a valid fd and spec; a missed timer would stall a drain, so say so.
    log::Error("timerfd_settime: {}", std::strerror(errno));
    armed_for_.reset();
    return;
  }
  armed_for_ = earliest;
}

void EventLoop::Dispatch(const Callback& callback) {
  DispatchOne(callback);
  RunPosted();
}

void EventLoop::RunPosted() {
  // Work posted by posted work runs in the same pass (it too is "after the current event"), up
  // to the cap: a callback that keeps posting cannot hold the loop.
  for (size_t ran = 0; ran < kMaxPostedPerPass && !posted_.empty(); ++ran) {
    auto first = posted_.begin();
    Callback callback = std::move(first->second);
    posted_.erase(first);
    DispatchOne(callback);
  }
}

void EventLoop::DispatchOne(const Callback& callback) {
  try {
    callback();
  } catch (const std::exception& e) {
    log::Error("internal error in event handler (ignored): {}", e.what());
  } catch (...) {
    log::Error("internal error in event handler (ignored): unknown exception");
  }
}

void EventLoop::RunDueTimers() {
  uint64_t expirations;
  // EAGAIN (a timer re-armed after it fired) is harmless: we look at the queue either way.
  [[maybe_unused]] ssize_t n = ::read(timer_fd_.get(), &expirations, sizeof expirations);
  armed_for_.reset();
  // One at a time: a callback may cancel (or add) a timer due in this same batch. A batch at
  // most: those still due re-arm the timerfd in the past, so the next turn comes back for them.
  const MonoTime now = clock_.Now();
  for (int ran = 0; ran < kTimerBatch; ++ran) {
    std::optional<std::function<void()>> callback = timers_.PopNextDue(now);
    if (!callback) break;
    Dispatch(*callback);
  }
  ArmTimer();
}

Status EventLoop::RunOnce() {
  epoll_event events[kBatch];
  // Work left posted (posted outside the loop, or a pass hit its cap) is this turn's work: it
  // runs now, and the loop only looks for events then, without blocking.
  const bool had_posted = !posted_.empty();
  RunPosted();
  // This turn runs the next-turn work queued before it; what that work queues waits for the next.
  const TimerId next_turn_cutoff = next_turn_id_;
  const bool busy = had_posted || !next_turn_.empty();
  int n = ::epoll_wait(epoll_fd_.get(), events, kBatch, busy ? 0 : -1);
  if (n < 0) {
    if (errno == EINTR) return Status();
    return Status::FromErrno("epoll_wait", errno);
  }
  ++wakeups_;
  // A full batch means more are ready than one turn takes: the urgent set may be far behind
  // them in the ready list, so it is served first.
  if (n == kBatch) RunUrgent();
  for (int i = 0; i < n; ++i) {
    if (events[i].data.u64 == kUrgentToken) {
      RunUrgent();
    } else {
      DispatchEvent(events[i]);
    }
  }
  while (!next_turn_.empty() && next_turn_.begin()->first < next_turn_cutoff) {
    auto first = next_turn_.begin();
    Callback callback = std::move(first->second);
    next_turn_.erase(first);
    Dispatch(callback);
  }
  return Status();
}

void EventLoop::RunUrgent() {
  epoll_event events[kBatch];
  const int n = ::epoll_wait(urgent_fd_.get(), events, kBatch, 0);
  // EINTR or nothing ready: the main set reports the urgent set again while anything in it is.
  for (int i = 0; i < n; ++i)
    DispatchEvent(events[i]);
}

void EventLoop::DispatchEvent(const epoll_event& event) {
  const uint64_t token = event.data.u64;
  if (token == kTimerToken) {
    RunDueTimers();
    return;
  }
  auto it = watches_.find(token);
  if (it == watches_.end()) return;  // Removed by an earlier callback of this batch.
  const uint32_t ready = event.events;
  const bool failed = ready & (EPOLLERR | EPOLLHUP);
  if ((ready & EPOLLOUT || (failed && !it->second.on_readable)) && it->second.on_writable) {
    // A failed connect() shows as an error on a write-only watch: its callback reads it.
    Callback callback = it->second.on_writable;  // Copy: the callback may Unwatch itself.
    Dispatch(callback);
    it = watches_.find(token);
    if (it == watches_.end()) return;
  }
  if ((ready & (EPOLLIN | EPOLLRDHUP) || failed) && it->second.on_readable) {
    Callback callback = it->second.on_readable;
    Dispatch(callback);
  }
}

}  // namespace vigil
