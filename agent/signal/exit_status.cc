#include "agent/signal/exit_status.h"

#include <sys/wait.h>

#include <cerrno>

namespace vigil {

int ExitCodeFromWaitStatus(int wait_status, const ExitCodeSet& success_codes) {
  if (WIFEXITED(wait_status)) {
    const int code = WEXITSTATUS(wait_status);
    return success_codes.test(code) ? 0 : code;
  }
  if (WIFSIGNALED(wait_status)) {
    // Emulate what sh and bash report for a child killed by a signal.
    const int code = 128 + WTERMSIG(wait_status);
    return code < 256 && success_codes.test(code) ? 0 : code & 0xff;
  }
  return kExitInternal;
}

int ExitCodeForExecError(int err) {
  return (err == ENOENT || err == ENOTDIR) ? kExitNotFound : kExitNotExecutable;
}

}  // namespace vigil
