#include "agent/signal/exit_label.h"

#include <sys/wait.h>

#include "agent/signal/signals.h"

namespace vigil {

ExitDetail DetailOfExit(int code, int signal) {
  ExitDetail detail;
  if (signal > 0) {
    detail.by_signal = true;
    detail.signal_name = SignalName(signal);
  } else {
    detail.code = code >= 0 ? code : -1;
  }
  return detail;
}

std::string ExitLabel(std::string_view reason, int code, int signal) {
  // Appended piece by piece: `"(" + std::to_string(...)` trips GCC 12's false -Wrestrict at -O3
  // (GCC bug 105329), which -Werror turns into a broken Release build.
  std::string label(reason);
  const ExitDetail detail = DetailOfExit(code, signal);
  if (detail.by_signal) {
    label.append("(").append(detail.signal_name).append(")");
  } else if (detail.code >= 0) {
    label.append("(").append(std::to_string(detail.code)).append(")");
  }
  return label;
}

std::string WaitStatusLabel(int wait_status) {
  if (WIFEXITED(wait_status)) return ExitLabel("exited", WEXITSTATUS(wait_status), 0);
  if (WIFSIGNALED(wait_status)) {
    return ExitLabel(WCOREDUMP(wait_status) ? "core_dump" : "signaled", -1, WTERMSIG(wait_status));
  }
  return ExitLabel("unknown", -1, 0);
}

}  // namespace vigil
