#include "agent/supervisor/crash_loop.h"

namespace vigil {

bool CrashLoopWindow::RecordFailure(MonoTime now) {
  times_.push_back(now);
  while (!times_.empty() && times_.front() <= now - config_.period)
    times_.pop_front();
  return static_cast<int>(times_.size()) > config_.max_restarts;
}

}  // namespace vigil
