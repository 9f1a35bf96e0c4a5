// FakeClock: a Clock that only moves when the test says so.
//
// Starts at an arbitrary non-zero instant (1000 s after the epoch of MonoTime) so that code
// computing "now - something" never underflows the epoch. Time never goes backwards: Advance()
// by a negative duration or Set() to an earlier instant is a test bug, reported as a failure.
#pragma once

#include <gtest/gtest.h>

#include <chrono>

#include "agent/base/clock.h"

namespace vigil::testing {

class FakeClock final : public Clock {
 public:
  static constexpr MonoTime kStart = MonoTime(std::chrono::seconds(1000));

  FakeClock() = default;
  explicit FakeClock(MonoTime start) : now_(start) {}

  MonoTime Now() const override {
    const MonoTime now = now_;
    now_ += tick_;
    return now;
  }
  // Every Now() moves the clock by `tick` after it answers (0 by default): code that measures
  // how long its own work takes sees time pass.
  void SetTick(Duration tick) { tick_ = tick; }
  // The wall clock moves with the monotonic one, from a fixed instant (2026-01-01T00:00:00Z).
  static constexpr int64_t kWallStartUnixMs = 1767225600000;
  int64_t WallUnixMs() const override {
    return kWallStartUnixMs +
           std::chrono::duration_cast<std::chrono::milliseconds>(now_ - kStart).count();
  }

  void Advance(Duration d) {
    if (d < Duration::zero()) {
      ADD_FAILURE() << "FakeClock::Advance by a negative duration";
      return;
    }
    now_ += d;
  }

  void Set(MonoTime t) {
    if (t < now_) {
      ADD_FAILURE() << "FakeClock::Set would move time backwards";
      return;
    }
    now_ = t;
  }

 private:
  mutable MonoTime now_ = kStart;
  Duration tick_ = Duration::zero();
};

}  // namespace vigil::testing
