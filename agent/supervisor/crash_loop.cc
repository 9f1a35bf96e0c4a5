#include "agent/supervisor/crash_loop.h"

namespace vigil {

const char* CrashLoopRuleName(CrashLoopRule rule) {
  switch (rule) {
    case CrashLoopRule::kUnstableRuns:
      return "unstable_runs";
    case CrashLoopRule::kWindow:
      return "window";
  }
  return "?";
}

bool CrashLoopWindow::RecordFailure(MonoTime now) {
  times_.push_back(now);
  while (!times_.empty() && times_.front() <= now - config_.period)
    times_.pop_front();
  return static_cast<int>(times_.size()) > config_.max_restarts;
}

std::optional<CrashLoopVerdict> CrashLoopDetector::RecordRun(bool stable, bool failure,
                                                             MonoTime now) {
  // Bounded: the verdict, at max_restarts + 1 (at most 1000001), ends the slot's runs.
  unstable_runs_ = stable ? 0 : unstable_runs_ + 1;
  const bool window_tripped = failure && window_.RecordFailure(now);
  if (unstable_runs_ > config_.max_restarts) {
    return CrashLoopVerdict{CrashLoopRule::kUnstableRuns, unstable_runs_};
  }
  if (window_tripped) return CrashLoopVerdict{CrashLoopRule::kWindow, failures_in_window()};
  return std::nullopt;
}

void CrashLoopDetector::Reset() {
  window_ = CrashLoopWindow(config_);
  unstable_runs_ = 0;
}

}  // namespace vigil
