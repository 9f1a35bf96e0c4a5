// Clock: the monotonic time every deadline in Vigil is measured against.
//
// All scheduling logic takes a Clock so tests can drive time by hand (tests/fakes/fake_clock.h).
// Wall-clock time is never used for deadlines: it jumps.
#pragma once

#include <chrono>

namespace vigil {

using Duration = std::chrono::nanoseconds;
using MonoTime = std::chrono::time_point<std::chrono::steady_clock, Duration>;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual MonoTime Now() const = 0;
};

// CLOCK_MONOTONIC, the clock timerfd and epoll deadlines use.
class MonotonicClock final : public Clock {
 public:
  MonoTime Now() const override {
    return std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now());
  }
};

}  // namespace vigil
