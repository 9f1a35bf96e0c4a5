// Prober: readiness probes of one pool's workers, for readiness modes exec, tcp and http.
//
// While a slot is being probed, the first probe runs after min(`readiness.period`, 100 ms) and
// each next one `readiness.period` after the last ended (never two at once); each must finish
// within `readiness.timeout`; each result goes to the callback (the Worker counts failures against
// `failure_threshold`). Probes never block the loop:
//   exec  the command, run in its own process group (stdout/stderr to /dev/null), exit 0 = pass;
//         on timeout its group is SIGKILLed. Its environment is a worker's (child_environment.h:
//         the pool's env:, no NOTIFY_SOCKET or WATCHDOG_*) with VIGIL_POOL, VIGIL_WORKER and
//         VIGIL_WORKER_PID.
//   tcp   a non-blocking connect() to host:port (through Os::StartConnect, so that unit tests
//         play the server); connected = pass.
//   http  connect, "GET path HTTP/1.0", a status of 200-399 = pass (as the kubelet's httpGet).
// Timers are Timer handles: none outlives the Prober. Single-threaded.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/base/unique_fd.h"
#include "agent/config/config.h"
#include "agent/event/fd_watcher.h"
#include "agent/event/scheduler.h"
#include "agent/event/timer.h"
#include "agent/sys/child_environment.h"
#include "agent/sys/os.h"

namespace vigil {

class Prober {
 public:
  using ResultCallback = std::function<void(int slot, bool success)>;

  Prober(const PoolConfig& config, Os& os, Scheduler& scheduler, FdWatcher& watcher,
         const Clock& clock, const ChildEnvironment& environment, ResultCallback on_result);
  ~Prober();
  Prober(const Prober&) = delete;
  Prober& operator=(const Prober&) = delete;

  void Start(int slot, pid_t worker_pid);
  void Stop(int slot);
  // An exec probe's process was reaped; false when `pid` is not a probe of ours.
  bool OnProcessExited(pid_t pid, int wait_status);

 private:
  struct Probe {
    bool active = false;
    pid_t worker_pid = -1;
    Timer next;     // the next probe
    Timer timeout;  // the running probe's deadline
    bool running = false;
    pid_t exec_pid = -1;
    UniqueFd socket;
    bool watching = false;
    std::string response;
  };

  void Schedule(int slot, Duration delay);
  void Launch(int slot);
  void LaunchExec(int slot);
  void LaunchConnect(int slot);
  void OnConnected(int slot);
  void OnHttpReadable(int slot);
  void Complete(int slot, bool success);
  void Abandon(int slot);  // stops a running probe without a result
  Probe& at(int slot);

  const PoolConfig& config_;
  Os& os_;
  Scheduler& scheduler_;
  FdWatcher& watcher_;
  const Clock& clock_;
  const ChildEnvironment& environment_;
  ResultCallback on_result_;
  std::vector<Probe> probes_;
  // The slot of each running exec probe's process: every reaped pid of the agent is offered to
  // every pool's Prober, so a scan of the slots made each exit O(slots) and a drain of n
  // workers O(n^2).
  std::unordered_map<pid_t, int> slot_of_exec_;
};

}  // namespace vigil
