// Clock: the monotonic time every deadline in Vigil is measured against.
//
// All scheduling logic takes a Clock so tests can drive time by hand (tests/fakes/fake_clock.h).
// Wall-clock time is never used for deadlines: it jumps. It is read only to show when something
// happened (status and events for the control plane), through WallUnixMs(), so that that too is
// behind the seam.
#pragma once

#include <chrono>
#include <cstdint>

namespace vigil {

using Duration = std::chrono::nanoseconds;
using MonoTime = std::chrono::time_point<std::chrono::steady_clock, Duration>;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual MonoTime Now() const = 0;
  // CLOCK_REALTIME in milliseconds since the Unix epoch: for display, never for deadlines.
  virtual int64_t WallUnixMs() const = 0;
};

// CLOCK_MONOTONIC, the clock timerfd and epoll deadlines use.
class MonotonicClock final : public Clock {
 public:
  MonoTime Now() const override {
    return std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now());
  }
  int64_t WallUnixMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace vigil
