// Scheduler: one-shot timers on the monotonic clock, and work posted to run after the current
// event. Implemented by EventLoop (with a timerfd) and, in tests, by a fake driven by a
// FakeClock. Single-threaded: only the loop thread calls it.
#pragma once

#include <cstdint>
#include <functional>

#include "agent/base/clock.h"

namespace vigil {

using TimerId = uint64_t;
inline constexpr TimerId kNoTimer = 0;

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  // Runs `callback` once, from the loop, at or after `deadline`. Never returns kNoTimer.
  virtual TimerId RunAt(MonoTime deadline, std::function<void()> callback) = 0;
  // Runs `callback` once, from the loop, after the callback now running returns and before the
  // loop waits for new events (Envoy's Dispatcher::post): for work that must not run inside the
  // caller's own stack, such as a report upward that may change the caller's state. Posted work
  // runs in the order it was posted. Cancelled with Cancel(), like a timer; never kNoTimer.
  virtual TimerId Post(std::function<void()> callback) = 0;
  // Cancelling an unknown, fired or already-cancelled timer (or posted work) is a no-op.
  virtual void Cancel(TimerId id) = 0;
};

}  // namespace vigil
