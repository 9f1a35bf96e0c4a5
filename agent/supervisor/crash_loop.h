// The crash-loop verdict of one worker slot: when restarting it has become pointless. Pure,
// driven by the caller's clock. Two rules, either of which past `max_restarts` is the verdict
// (the pool is "failed", docs/pools.md):
//
//  - unstable runs (the default catch): a run restarted by policy is unstable when it ended
//    before the worker had been ready (in readiness mode `started`: running) for
//    `stability_period` in one stretch; a boot failure, boot timeout or spawn failure always is,
//    and so is a success exit that ends such a short run under `restart: always`. More than
//    `max_restarts` unstable runs IN A ROW are a crash loop, however far apart the backoff puts
//    them; a stable run starts the count again. This catches what the window misses once the
//    backoff has grown: a worker that fails 5 s after each start reaches its sixth failure after
//    6 x 5 s + 31 s of backoff (55-67 s with jitter), outside a 60 s window about half the time.
//  - the window (OTP's restart intensity, the rule before issue 12): more than `max_restarts`
//    failure restarts within the sliding `period`, stable runs or not. It still catches workers
//    that crash often after a short while of service.
//
// The caller judges stability (it knows when the worker was ready) and records only runs that
// its restart policy restarts; runs Vigil ended itself (drain, scale-down, recycling, rolling
// restarts) are not judged.
#pragma once

#include <deque>
#include <optional>

#include "agent/base/clock.h"
#include "agent/config/config.h"

namespace vigil {

enum class CrashLoopRule { kUnstableRuns, kWindow };
const char* CrashLoopRuleName(CrashLoopRule rule);  // "unstable_runs", "window"

struct CrashLoopVerdict {
  CrashLoopRule rule = CrashLoopRule::kUnstableRuns;
  int count = 0;  // unstable runs in a row, or failures within the period
};

// The sliding window: failure restarts with their time.
class CrashLoopWindow {
 public:
  explicit CrashLoopWindow(const CrashLoopConfig& config) : config_(config) {}

  // Records a failure restart at `now`; returns true when that makes a crash loop.
  bool RecordFailure(MonoTime now);
  int failures_in_window() const { return static_cast<int>(times_.size()); }

 private:
  CrashLoopConfig config_;
  std::deque<MonoTime> times_;  // at most max_restarts + 1: the verdict ends the slot
};

// Both rules for one slot.
class CrashLoopDetector {
 public:
  explicit CrashLoopDetector(const CrashLoopConfig& config) : config_(config), window_(config) {}

  // A run ended at `now` and is restarted by policy: `stable` when the worker had been ready for
  // the stability period, `failure` when it ended in a failure. Returns the verdict when this
  // run makes a crash loop (the unstable-runs rule first when both trip).
  std::optional<CrashLoopVerdict> RecordRun(bool stable, bool failure, MonoTime now);
  // Forgets every run (the slot is started afresh after a verdict).
  void Reset();

  int unstable_runs() const { return unstable_runs_; }
  int failures_in_window() const { return window_.failures_in_window(); }

 private:
  CrashLoopConfig config_;
  CrashLoopWindow window_;
  int unstable_runs_ = 0;  // in a row
};

}  // namespace vigil
