// ControlBackoff: when the core starts vigil-control again after it died (docs/control.md).
//
// A run that ended before `stable` had passed is a quick death: the n-th quick death in a row
// waits `initial` x 2^(n-1), at most `max` (1 s, 2 s, 4 s ... 30 s), so a control plane that
// cannot start does not spin. A run that lasted `stable` or longer proves the control plane
// healthy: the count starts over and the restart is immediate, so a vigil-control that dies
// after hours of service (OOM, a bug) is back at once and the liveness probe does not fail for
// a backoff wait. A spawn that failed is a run that ended at once. Pure: times are passed in.
#pragma once

#include <chrono>

#include "agent/base/clock.h"

namespace vigil {

class ControlBackoff {
 public:
  struct Options {
    Duration initial = std::chrono::seconds(1);
    Duration max = std::chrono::seconds(30);
    Duration stable = std::chrono::seconds(60);
  };

  explicit ControlBackoff(Options options) : options_(options) {}

  // A run began at `now`.
  void Started(MonoTime now) {
    started_ = now;
    running_ = true;
  }
  // The run ended (or the spawn failed) at `now`: how long to wait before the next start.
  Duration Ended(MonoTime now) {
    const bool stable = running_ && now - started_ >= options_.stable;
    running_ = false;
    if (stable) {
      quick_deaths_ = 0;
      return Duration::zero();
    }
    if (quick_deaths_ < 64) ++quick_deaths_;
    Duration delay = options_.initial;
    for (int i = 1; i < quick_deaths_ && delay < options_.max; ++i)
      delay *= 2;
    return std::min(delay, options_.max);
  }
  int quick_deaths() const { return quick_deaths_; }

 private:
  Options options_;
  MonoTime started_{};
  bool running_ = false;
  int quick_deaths_ = 0;
};

}  // namespace vigil
