// The termination message: how the agent ended and how each pool's workers ended, in at most
// 4 KiB, written on exit to the path Kubernetes reads it from (terminationMessagePath, default
// /dev/termination-log; `kubectl describe pod` shows it under "Message"). After a preStop drain
// with a 30 s grace period, in which one `jobs` worker ignored its stop signal and was SIGKILLed
// at the deadline (27 s + 1.5 s), and the kubelet's SIGTERM came at 29.1 s:
//
//   vigil exited 4: drain complete (trigger prestop, 29.1s), 1 straggler(s) signalled or
//     killed at a deadline
//   propagation 2.1s (quiet, 143 new connection(s) after readiness off)
//   pool web: 3/3 ended gracefully: exited(0) x3
//   pool jobs: 0/1 ended gracefully: stop_timeout_killed(SIGKILL) x1
// (the first line is one line; cut here to fit; the propagation line comes when the drain waited
// for the traffic to stop, from the log's propagation_over)
//
// The first line: Vigil's exit status; "drain complete" or "drain incomplete", with the drain's
// trigger and the time from its start to the exit (a preStop or API drain waits, drained, for
// the stop signal: that wait is included), or "every worker ended for good" without a drain;
// the stragglers, when there were any. Then one line per pool, in file order: the workers whose
// last run ended gracefully, ", N had failed and were waiting to restart" for the workers stopped
// during their backoff after a failure (not graceful: exit 5), ", FAILED (crash loop: 6 unstable
// runs in a row)" (or ": 6 failures within 60s", by the window rule) after a verdict, and each way
// a worker last ended (reason(code or signal), or "never ran"), sorted, with its count. A message
// over 4 KiB is cut (at a line boundary when one falls in its second half) and ends in "...".
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
