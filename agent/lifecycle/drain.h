// DrainMachine: the drain (docs/drain.md) as one explicit state machine, pure.
//
//   step                 event                          next step
//   idle                 a trigger                      propagating (a delay is configured:
//                                                       fixed, or auto: the default),
//                                                       stopping pools, or stopping fast
//                                                       (SIGINT, SIGQUIT, `vigilctl shutdown`)
//   propagating          the delay is over (its timer,  stopping pools (the last pool told)
//                        or auto's traffic watch)
//   stopping pools       the pool told is down          the one started before it is told
//   propagating,         a fast stop joins              stopping fast (every pool at once)
//     stopping pools
//   propagating,         the deadline                   past deadline (fast signal to every
//     stopping pools/fast                               pool, SIGKILL a fast window later)
//   propagating, stop-   every pool idle                running hooks (the propagation delay
//     ping pools/fast,                                  is not waited out for nothing)
//     past deadline
//   running hooks        the last hook ended            complete (exits, or waits drained)
//
// A second trigger joins the drain in progress and never restarts it: the stop signal, a
// worker or a verdict make it exit when complete (at once if it is), a fast stop turns it fast.
//
// Handle() is the one transition function: it takes an event and the time, returns the actions
// its owner (the Supervisor) must carry out, in order, and reads no clock, makes no syscall and
// owns no timer, so every path is unit-tested deterministically (tests/unit/
// lifecycle_drain_test.cc). Deadlines come from GracePlan. The owner feeds `kPoolsChanged` after
// each `kStopPool` it carries out and whenever a pool goes idle; events that arrive while it is
// carrying out actions are fed after them (run to completion), so Handle() is never re-entered.
// Single-threaded.
#pragma once

#include <vector>

#include "agent/base/clock.h"
#include "agent/config/config.h"
#include "agent/lifecycle/grace_plan.h"

namespace vigil {

enum class DrainTrigger { kSignal, kPreStop, kApi, kWorker, kCrashLoop, kFastStop };
inline constexpr int kDrainTriggerCount = 6;
const char* DrainTriggerName(DrainTrigger trigger);

enum class DrainStep {
  kIdle,           // no drain
  kPropagating,    // readiness off, waiting for load balancers before the first stop signal
  kStoppingPools,  // pools told to stop gracefully one at a time, in reverse start order
  kStoppingFast,   // every pool told its fast signal at once (a fast stop)
  kPastDeadline,   // the deadline came: stragglers got their fast signal, SIGKILL follows
  kRunningHooks,   // every pool is idle: stop hooks run, in reverse registration order
  kComplete,       // done; exits, or waits for the stop signal (a preStop or API drain)
};
const char* DrainStepName(DrainStep step);

// What the rest of the agent reads of the drain (status, metrics, termination message).
struct DrainState {
  bool started = false;
  DrainTrigger trigger = DrainTrigger::kSignal;
  MonoTime started_at{};
  MonoTime deadline{};
  bool complete = false;
  bool exit_when_complete = false;
};

struct DrainEvent {
  enum class Kind {
    kTrigger,          // a drain was asked for (`trigger`, `requested` deadline if > 0)
    kPropagationOver,  // the propagation timer fired
    kDeadline,         // the deadline timer fired
    kPoolsChanged,     // a pool was told to stop or went idle: `idle` is each pool's idleness now
    kHooksDone,        // the last stop hook ended
  };
  explicit DrainEvent(Kind k) : kind(k) {}
  Kind kind;
  DrainTrigger trigger = DrainTrigger::kSignal;
  Duration requested = Duration::zero();
  std::vector<bool> idle;  // by pool index, for every event (the owner fills it in)
};

struct DrainAction {
  enum class Kind {
    kStarted,       // the drain began: readiness off, count and log it (`deadline`)
    kJoined,        // a trigger joined the drain in progress (`note` says how, for the log)
    kArmTimer,      // `timer` at `at`
    kCancelTimer,   // `timer` (the propagation timer: the traffic watch too)
    kWatchTraffic,  // propagation_delay auto: watch the workers' ports; kPropagationOver when
                    // quiet (the propagation timer, armed before, is the upper bound)
    kStopPool,      // pool `pool`: stop (fast signal if `fast`), SIGKILL at `at`
    kDeadline,      // the deadline came: log the stragglers
    kRunHooks,      // start the stop hooks; kHooksDone comes back
    kComplete,      // observe and log the drain's end; then exit (`exit`) or wait, drained
    kExit,          // a trigger joined a complete drain: exit now
    kAgentChanged,  // tell the control plane (readiness, phase, progress)
  };
  enum class Timer { kPropagation, kDeadline };
  enum class Note { kNone, kExitWhenComplete, kSignalIgnored, kEscalated };
  Kind kind;
  Timer timer = Timer::kDeadline;
  MonoTime at{};
  int pool = -1;
  bool fast = false;
  bool at_deadline = false;  // kStopPool at the deadline: its stopping workers are stragglers
  bool exit = false;
  Note note = Note::kNone;
};
using DrainActions = std::vector<DrainAction>;

class DrainMachine {
 public:
  // `stop_timeouts`: each pool's stop_timeout, by index (pools are fixed at start).
  DrainMachine(const DrainConfig& config, std::vector<Duration> stop_timeouts);

  DrainActions Handle(const DrainEvent& event, MonoTime now);

  DrainStep step() const { return step_; }
  const DrainState& state() const { return state_; }
  const GracePlan& plan() const { return plan_; }

 private:
  void Start(const DrainEvent& event, MonoTime now, DrainActions* out);
  void Join(const DrainEvent& event, MonoTime now, DrainActions* out);
  void PoolsChanged(const std::vector<bool>& idle, MonoTime now, DrainActions* out);
  void StopInOrder(MonoTime now, DrainActions* out);
  void StopAllFast(MonoTime now, bool at_deadline, DrainActions* out);
  void Finish(DrainActions* out);
  bool Stopping() const;  // a step before the hooks, after the start

  GracePlan plan_;
  bool propagation_ = false;    // a propagation delay is configured (fixed or auto)
  bool watch_traffic_ = false;  // auto: the traffic watch may end it before its timer
  std::vector<Duration> stop_timeouts_;
  DrainStep step_ = DrainStep::kIdle;
  DrainState state_;
  bool fast_ = false;  // a fast stop was asked for (the start or an escalation)
  int stopping_ = -1;  // kStoppingPools: the pool told to stop and waited for
};

}  // namespace vigil
