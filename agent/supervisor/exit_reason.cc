#include "agent/supervisor/exit_reason.h"

#include "agent/signal/exit_label.h"

namespace vigil {

const char* ExitReasonName(ExitReason reason) {
  switch (reason) {
    case ExitReason::kExited:
      return "exited";
    case ExitReason::kSignaled:
      return "signaled";
    case ExitReason::kCoreDump:
      return "core_dump";
    case ExitReason::kOomKilled:
      return "oom_killed";
    case ExitReason::kWatchdog:
      return "watchdog";
    case ExitReason::kBootTimeout:
      return "boot_timeout";
    case ExitReason::kBootFailure:
      return "boot_failure";
    case ExitReason::kStopTimeoutKilled:
      return "stop_timeout_killed";
    case ExitReason::kRecycled:
      return "recycled";
    case ExitReason::kSpawnFailed:
      return "spawn_failed";
    case ExitReason::kAdmin:
      return "admin";
  }
  return "unknown";
}

std::string ExitLabel(const ExitRecord& record) {
  return ExitLabel(ExitReasonName(record.reason), record.code, record.signal);
}

}  // namespace vigil
