// Supervisor: pool mode's agent. It owns every Pool, starts them in file order, routes reaped
// pids to them (everything else is an orphan, reaped and forgotten), tracks the agent's
// readiness, runs the drain, carries out the control plane's commands, and decides Vigil's exit
// status.
//
// Drain (docs/drain.md): decided by DrainMachine (lifecycle/drain.h, pure), whose actions the
// Supervisor carries out (stop a pool, arm a timer, watch the workers' ports for traffic through
// TrafficWatch, run the hooks through HookRunner, exit).
// Started by the stop signal (SIGTERM), the API or the preStop hook, a worker (X_VIGIL_STOP=1)
// or a crash-loop verdict; a second trigger joins the drain in progress. A drain started by the
// signal, a worker or a verdict exits when complete; one started by preStop or the API waits for
// the stop signal and then exits at once, so the kubelet never sees PID 1 die under its hook.
//
// Signals: SIGTERM drains (repeats are logged, never passed on); SIGINT and SIGQUIT stop fast
// (fast signal, short deadline, all pools at once); SIGCHLD reaps; every other signal is
// forwarded to every worker's process group through each pool's rewrite table.
//
// Exit status (docs/pools.md): 0 every worker ended gracefully; 1 Vigil failed; 2 usage or
// configuration; 3 crash-loop verdict; 4 workers SIGKILLed at a deadline; 5 a worker failed and
// was not restarted.
//
// Single-threaded: every method runs on the core loop.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/base/status.h"
#include "agent/config/config.h"
#include "agent/event/posted_work.h"
#include "agent/event/timer.h"
#include "agent/lifecycle/drain.h"
#include "agent/lifecycle/hook_runner.h"
#include "agent/lifecycle/traffic_watch.h"
#include "agent/signal/received_signal.h"
#include "agent/signal/signals.h"
#include "agent/supervisor/pool.h"

namespace vigil {

inline constexpr int kPoolExitOk = 0;
inline constexpr int kPoolExitCrashLoop = 3;
inline constexpr int kPoolExitKilledAtDeadline = 4;
inline constexpr int kPoolExitWorkerFailed = 5;

// kStopping is the drain in progress; kDrained a complete drain waiting for the stop signal.
enum class AgentPhase { kStarting, kReady, kStopping, kDrained, kDone };
const char* AgentPhaseName(AgentPhase phase);

// What the agent counts, for metrics (docs/metrics.md); the pools count the rest (PoolCounters).
// Owned by the core, so the counts survive restarts of vigil-control. Bounded label sets.

struct AgentCounters {
  uint64_t signals_received[kMaxSignal + 1] = {};  // by signal number, 1..kMaxSignal (SIGCHLD too)
  uint64_t reaped = 0;          // every process reaped: workers, probes, hooks, orphans
  uint64_t orphans_reaped = 0;  // reaped processes that were no child of Vigil's
  uint64_t drains_by_trigger[kDrainTriggerCount] = {};  // drains started, by what started them
  Histogram drain_seconds{DrainBuckets()};              // drain start to complete
  Histogram prestop_hold_seconds{DrainBuckets()};       // preStop/API drain request to complete
  Histogram propagation_seconds{DrainBuckets()};        // readiness off to the first stop signal
  uint64_t propagation_connections = 0;  // new connections seen while propagating (auto)
  uint64_t propagation_ends[kPropagationEndCount] = {};  // by why the delay ended
  std::map<std::string, uint64_t> killed_in_drain;       // by pool: SIGKILLed at a drain deadline
  HookCounts hooks;                                      // by (hook name, HookResult)
};

// How the last drain's propagation delay ended (log propagation_over, the termination message).
struct PropagationReport {
  bool ended = false;
  PropagationEnd reason = PropagationEnd::kFixed;
  Duration took = Duration::zero();
  uint64_t connections = 0;  // new connections seen while it lasted (auto)
};

// What the control plane hears about (implemented by the core's side of the control link).
class AgentListener {
 public:
  virtual ~AgentListener() = default;
  virtual void OnWorkerChanged(const Pool& pool, int slot) = 0;
  virtual void OnWorkerExited(const Pool& pool, int slot, const ExitRecord& record) = 0;
  virtual void OnAgentChanged() = 0;  // phase, readiness or drain progress
  virtual void OnPoolChanged(const Pool& pool) { (void)pool; }
  // Around a burst of exits reaped in one event (a drain of n workers reaps them by the
  // hundred): what is reported in between may be sent together at its end, in order, with the
  // agent's state once (the last) rather than after every exit. Never nested deeper than once.
  virtual void BeginBurst() {}
  virtual void EndBurst() {}
};

class Supervisor final : public PoolObserver {
 public:
  Supervisor(const Config& config, PoolServices services);

  void Start();
  void OnSignal(const ReceivedSignal& signal);
  // SIGCHLD: reaps what has exited, a slice of the turn at a time (kTurnSlice, kMinReapsPerTurn
  // at least; the rest in the next turn).
  void OnChildEvent();
  // A reaped pid that no pool claimed: offered here first (the control plane's process).
  void SetExtraReaper(std::function<bool(pid_t, int)> reaper) { extra_reaper_ = std::move(reaper); }
  void SetListener(AgentListener* listener) { listener_ = listener; }
  // The core's soft RLIMIT_NOFILE (unlimited until set). CheckDescriptors() says, before Start(),
  // whether the configured pools fit under it (fd_budget.h); Scale() refuses a size that does
  // not (RESOURCE_EXHAUSTED).
  void SetDescriptorLimit(uint64_t limit) { descriptor_limit_ = limit; }
  Status CheckDescriptors() const;

  // Commands (from the control plane). Errors carry a gRPC-style code in `code`.
  struct CommandResult {
    // grpc::StatusCode: 0 OK, 3 INVALID_ARGUMENT, 5 NOT_FOUND, 8 RESOURCE_EXHAUSTED,
    // 9 FAILED_PRECONDITION
    int code = 0;
    std::string message;
    int count = 0;
  };
  // Starts the drain or joins the one in progress. `deadline` (if > 0) may shorten it.
  CommandResult Drain(DrainTrigger trigger, Duration deadline = Duration::zero());
  CommandResult Scale(const std::string& pool, int replicas);
  CommandResult Restart(const std::string& pool, int max_unavailable);
  CommandResult Signal(const std::string& pool, int slot, int signo);

  bool finished() const { return phase_ == AgentPhase::kDone; }
  int exit_code() const { return exit_code_; }
  bool ready() const { return phase_ == AgentPhase::kReady; }
  AgentPhase phase() const { return phase_; }
  const DrainState& drain() const { return drain_.state(); }
  DrainStep drain_step() const { return drain_.step(); }
  const AgentCounters& counters() const { return counters_; }
  const PropagationReport& propagation() const { return propagation_; }
  const Config& config() const { return config_; }
  int WorkersRunning() const;
  // What every child Vigil starts inherits (workers, probes, hooks, vigil-control).
  const ChildEnvironment& child_environment() const { return services_.child_environment(); }
  const std::vector<std::unique_ptr<Pool>>& pools() const { return pools_; }

  // PoolObserver.
  void OnPoolReadinessChanged(Pool& pool) override;
  void OnWorkerExited(Pool& pool, int slot, const ExitRecord& record) override;
  void OnPoolFailed(Pool& pool) override;
  void OnStopPodRequested(Pool& pool, int slot) override;
  void OnPoolIdle(Pool& pool) override;
  void OnWorkerChanged(Pool& pool, int slot) override;
  void OnPoolChanged(Pool& pool) override;

 private:
  Pool* MutablePool(const std::string& name);
  // Feeds the drain machine `event` (with the pools' idleness now) and carries out its actions;
  // an event that comes while actions are carried out is fed after them (run to completion).
  void Feed(DrainEvent event);
  void Carry(const DrainAction& action);
  Timer& DrainTimer(DrainAction::Timer timer);
  // propagation_delay auto: watch the ports of every pool (listed or listened on).
  void WatchTraffic();
  // The propagation delay ended (`reason`): stop watching, count and log it. Idempotent.
  void EndPropagation(PropagationEnd reason);
  void CompleteDrain(bool exit);
  void UpdateReadiness();
  void MaybeFinish();
  void Finish();
  void NotifyAgentChanged();

  const Config& config_;
  PoolServices services_;
  std::vector<std::unique_ptr<Pool>> pools_;
  AgentPhase phase_ = AgentPhase::kStarting;
  pid_t self_pid_ = 0;
  bool started_ = false;
  bool crash_loop_exit_ = false;
  int exit_code_ = kPoolExitOk;
  AgentCounters counters_;
  DrainMachine drain_;
  // At most one pending event of each kind (and trigger): bounded, and nothing is lost, since a
  // repeated event is the same event (pools re-read, a timer fired, a trigger already joining).
  std::deque<DrainEvent> drain_events_;
  bool feeding_ = false;
  Timer propagation_timer_;
  Timer deadline_timer_;
  TrafficWatch traffic_;
  bool propagating_ = false;  // the propagation timer is armed and not yet over
  PropagationReport propagation_;
  HookRunner hooks_;
  std::function<bool(pid_t, int)> extra_reaper_;
  AgentListener* listener_ = nullptr;
  OomWatch oom_watch_;
  std::optional<MonoTime> hold_since_;  // a preStop or API caller waits for the drain since
  uint64_t descriptor_limit_ = UINT64_MAX;
  PostedWork removals_;  // the runs' directories of a burst of exits, removed after its work
  Timer reap_more_;      // a burst's exits past the turn's slice, reaped from the next turns
};

}  // namespace vigil
