// The termination message: how the agent ended and how each pool's workers ended, in at most
// 4 KiB, written on exit to the path Kubernetes reads it from (terminationMessagePath, default
// /dev/termination-log; `kubectl describe pod` shows it under "Message").
//
//   vigil exited 4: drain complete (trigger prestop, 12.3s), 1 straggler(s) signalled or
//     killed at a deadline
//   pool web: 3/3 ended gracefully: exited(0) x3
//   pool jobs: 0/1 ended gracefully: stop_timeout_killed(SIGKILL) x1
// (the first line is one line; cut here to fit)
//
// Building is pure; writing happens only when the file already exists and is writable (the
// kubelet creates it), so nothing is left behind outside Kubernetes.
#pragma once

#include <string>

#include "agent/base/status.h"
#include "agent/supervisor/supervisor.h"

namespace vigil {

inline constexpr size_t kMaxTerminationMessage = 4096;

std::string BuildTerminationMessage(const Supervisor& supervisor, MonoTime now);
std::string BuildSingleCommandTerminationMessage(const std::string& command, int exit_code);

// Writes `text` (cut to 4 KiB) to `path` if it exists and is writable; OK when there is none.
Status WriteTerminationMessage(const std::string& path, const std::string& text);

}  // namespace vigil
