// Why a worker ended: the closed set every log line, metric and API reply uses.
//
//   exited              exited by itself with a code (see ExitRecord::code)
//   signaled            killed by a signal (ExitRecord::signal): one Vigil did not send, or the
//                       stop signal Vigil sent (then graceful, as systemd treats SIGTERM)
//   core_dump           killed by a signal and dumped core
//   oom_killed          SIGKILLed while the container's OOM-kill counter rose
//   watchdog            no WATCHDOG=1 in time (or WATCHDOG=trigger): aborted by Vigil
//   boot_timeout        not ready within boot_timeout: stopped by Vigil
//   boot_failure        exited or died before it was ready
//   stop_timeout_killed did not exit within stop_timeout after its stop signal: SIGKILLed
//   recycled            stopped by Vigil at max_lifetime
//   spawn_failed        could not be started at all (fork, exec, user, working dir)
//   admin               stopped on request (scale down, restart, API)
// Pure.
#pragma once

#include <string>

namespace vigil {

enum class ExitReason {
  kExited,
  kSignaled,
  kCoreDump,
  kOomKilled,
  kWatchdog,
  kBootTimeout,
  kBootFailure,
  kStopTimeoutKilled,
  kRecycled,
  kSpawnFailed,
  kAdmin,
};
inline constexpr int kExitReasonCount = 11;

const char* ExitReasonName(ExitReason reason);

// How one run of a worker ended.
struct ExitRecord {
  ExitReason reason = ExitReason::kExited;
  int code = -1;              // exit code when it exited, else -1
  int signal = 0;             // terminating signal when it was killed, else 0
  bool before_ready = false;  // it never became ready in this run (a boot-phase end)
  bool graceful = false;      // ended as asked: a success code, or the stop signal Vigil sent
  bool straggler = false;     // had to be signalled at a deadline (fast signal or SIGKILL)
  bool failure = false;       // counts toward backoff and the crash-loop verdict
};

// "exited(1)", "stop_timeout_killed(SIGKILL)": the record's ExitLabel (agent/signal/exit_label.h),
// the one text of an exit in logs, the termination message and vigilctl.
std::string ExitLabel(const ExitRecord& record);

}  // namespace vigil
