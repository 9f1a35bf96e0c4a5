// CrashLoopWindow: OTP's restart intensity for one worker slot. Failure restarts are recorded
// with their time; more than `max_restarts` within the sliding `period` is a crash loop, and the
// pool gets the verdict "failed". Pure, driven by the caller's clock.
#pragma once

#include <deque>

#include "agent/base/clock.h"
#include "agent/config/config.h"

namespace vigil {

class CrashLoopWindow {
 public:
  explicit CrashLoopWindow(const CrashLoopConfig& config) : config_(config) {}

  // Records a failure restart at `now`; returns true when that makes a crash loop.
  bool RecordFailure(MonoTime now);
  int failures_in_window() const { return static_cast<int>(times_.size()); }

 private:
  CrashLoopConfig config_;
  std::deque<MonoTime> times_;
};

}  // namespace vigil
