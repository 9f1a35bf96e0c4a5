// The one text of how a process ended, for every place that shows one: the worker_exited log
// line, the crash_loop verdict's last_exit, the termination message, vigilctl's LAST EXIT column
// and the control plane's control_exited line.
//
//   ExitLabel("exited", 1, 0)                -> "exited(1)"
//   ExitLabel("stop_timeout_killed", -1, 9)  -> "stop_timeout_killed(SIGKILL)"
//   ExitLabel("spawn_failed", -1, 0)         -> "spawn_failed"
//   WaitStatusLabel(W_EXITCODE(0, SIGSEGV))  -> "signaled(SIGSEGV)"
//
// The signal wins over the code (a killed process has no code). Depends only on the signal
// names (no logger, no Os), so vigilctl and vigil-control can link it as well as the core. Pure.
#pragma once

#include <string>
#include <string_view>

namespace vigil {

// What the label puts in parentheses, for a log line that gives it as a field of its own:
// "signal" = the signal's name when a signal ended the process, else "code" = the exit code
// (-1 when there is none).
struct ExitDetail {
  bool by_signal = false;
  std::string signal_name;  // "SIGKILL" when by_signal
  int code = -1;
};
ExitDetail DetailOfExit(int code, int signal);

// `reason` and the detail: "exited(1)", "signaled(SIGKILL)"; the bare reason when there is
// neither a code (>= 0) nor a signal (> 0).
std::string ExitLabel(std::string_view reason, int code, int signal);

// The label of a raw wait status, for a process that has no ExitRecord (vigil-control): reason
// "exited", "signaled" or "core_dump".
std::string WaitStatusLabel(int wait_status);

}  // namespace vigil
