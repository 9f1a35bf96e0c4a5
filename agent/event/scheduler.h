// Scheduler: one-shot timers on the monotonic clock. Implemented by EventLoop (with a timerfd)
// and, in tests, by a fake driven by a FakeClock. Single-threaded: only the loop thread calls it.
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
  // Cancelling an unknown, fired or already-cancelled timer is a no-op.
  virtual void Cancel(TimerId id) = 0;
};

}  // namespace vigil
