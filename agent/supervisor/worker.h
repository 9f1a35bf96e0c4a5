// Worker: the state machine of one worker slot of a pool, pure.
//
//   backoff -> starting -> ready -> stopping -> exited
//      ^__________|__________|_________|  (restart by policy, after a backoff delay)
//
// Each event method takes the time it happened and returns the actions the owner (Pool) must
// carry out, in order: spawn, signal the process group, (re)arm or cancel a timer, report an
// exit or a readiness change, start or stop readiness probes, ask for recycling, declare a crash
// loop (each run restarted by policy is judged stable or not, crash_loop.h). The Worker itself
// makes no syscall, reads no clock and owns no timer, so every path, including backoff and the
// crash-loop verdict, is unit-tested deterministically with a fake clock. Single-threaded.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/base/clock.h"
#include "agent/base/random.h"
#include "agent/config/config.h"
#include "agent/notify/notify_message.h"
#include "agent/supervisor/crash_loop.h"
#include "agent/supervisor/exit_reason.h"

namespace vigil {

enum class WorkerState { kBackoff, kStarting, kReady, kStopping, kExited };
inline constexpr int kWorkerStateCount = 5;
const char* WorkerStateName(WorkerState state);

// Why a stop was asked for. Decides the exit reason and whether the slot is restarted.
enum class StopCause {
  kNone,
  kSelf,     // the worker said STOPPING=1: restarted by policy once it exits
  kDrain,    // the agent is shutting down: not restarted
  kAdmin,    // scale down, API: not restarted
  kRecycle,  // max_lifetime: replaced at once, not a failure
  kRestart,  // rolling restart (API): replaced at once, reason admin
};

enum class WorkerTimer { kBackoff, kBoot, kWatchdog, kStop, kLifetime };
inline constexpr int kWorkerTimerCount = 5;

struct WorkerAction {
  enum class Kind {
    kSpawn,
    kSignal,    // signo to the worker's process group
    kSetTimer,  // timer at `at` (replacing an armed one of the same kind)
    kCancelTimer,
    kStartProbing,  // readiness probes (exec, tcp, http) from now on
    kStopProbing,
    kExited,        // a run ended, as `exit` says
    kReadyChanged,  // ready() changed
    kRecycleDue,    // max_lifetime reached; the pool stops it when no other is recycling
    kCrashLoop,     // a crash loop (crash_verdict() says which rule): the slot has given up
  };
  Kind kind;
  int signo = 0;
  WorkerTimer timer = WorkerTimer::kBackoff;
  MonoTime at{};
  ExitRecord exit{};
};
using WorkerActions = std::vector<WorkerAction>;

class Worker {
 public:
  Worker(const PoolConfig& config, int slot, Random& random);

  WorkerActions Start(MonoTime now);
  WorkerActions Spawned(MonoTime now);
  WorkerActions SpawnFailed(MonoTime now);
  WorkerActions Notified(const NotifyMessage& message, MonoTime now);
  WorkerActions ProbeResult(bool success, MonoTime now);
  // The worker's main process ended with `wait_status`; `oom` when the container's OOM-kill
  // counter rose meanwhile.
  WorkerActions Exited(int wait_status, bool oom, MonoTime now);
  WorkerActions TimerFired(WorkerTimer timer, MonoTime now);
  // Sends `signo` (unless it was already the last signal sent) and SIGKILLs at `kill_at` unless
  // an earlier kill is already armed.
  WorkerActions Stop(StopCause cause, int signo, MonoTime kill_at, MonoTime now);
  // Stop() for when the drain's deadline comes: a worker already stopping then is a straggler,
  // whatever it dies of next (its exit is not graceful, even if it obeys the fast signal).
  WorkerActions StopAtDeadline(int signo, MonoTime kill_at, MonoTime now);

  // The stop signal this worker decided on went out `late` after the decision (the pool sends
  // a big stop's signals a batch per turn, and arms their SIGKILL only then): the SIGKILL,
  // armed again, moves as much later, so that the worker keeps its whole stop_timeout from the
  // signal. Nothing once SIGKILLed or not stopping. The drain's deadline still comes first: it
  // re-arms the kill earlier (StopAtDeadline).
  WorkerActions StopSignalSent(Duration late);

  // When a stop asked for at `now` ends in SIGKILL: now + stop_timeout, saturated.
  MonoTime StopDeadline(MonoTime now) const;

  WorkerState state() const { return state_; }
  bool ready() const { return state_ == WorkerState::kReady; }
  bool running() const {
    return state_ == WorkerState::kStarting || state_ == WorkerState::kReady ||
           state_ == WorkerState::kStopping;
  }
  bool crash_looped() const { return crash_verdict_.has_value(); }
  // Why the slot gave up (crash_loop.h), while it has.
  const std::optional<CrashLoopVerdict>& crash_verdict() const { return crash_verdict_; }
  // Vigil has SIGKILLed the current run (a deadline): its SIGKILL is no OOM kill.
  bool sigkill_sent() const { return sigkill_sent_; }
  int slot() const { return slot_; }
  int restarts() const { return restarts_; }
  MonoTime since() const { return since_; }  // when the current state was entered
  const std::optional<ExitRecord>& last_exit() const { return last_exit_; }
  const std::string& status_text() const { return status_text_; }
  // Its last run ended gracefully, or it never ran. A worker stopped while waiting to restart
  // (there was no process to stop) ended as its last run did: gracefully unless that run was a
  // failure. A pool whose workers were all crashing must not look graceful when the drain comes.
  bool ended_gracefully() const {
    if (stopped_idle_) return !last_exit_ || !last_exit_->failure;
    return !last_exit_ || last_exit_->graceful;
  }
  // Stopped while waiting to restart after a failure (the drain, or a scale-down, came during
  // its backoff): the termination message says so.
  bool stopped_after_failure() const { return stopped_idle_ && last_exit_ && last_exit_->failure; }

 private:
  enum class AbortCause { kNone, kWatchdog, kBootTimeout };

  void Enter(WorkerState state, MonoTime now) {
    state_ = state;
    since_ = now;
  }
  void SetTimer(WorkerActions* out, WorkerTimer timer, MonoTime at);
  void CancelTimer(WorkerActions* out, WorkerTimer timer);
  void BecomeReady(WorkerActions* out, MonoTime now);
  void LeaveReady(WorkerActions* out, MonoTime now);
  void NoteReadyTime(MonoTime now);
  void Abort(WorkerActions* out, AbortCause cause, int signo, Duration kill_after, MonoTime now);
  WorkerActions Finish(ExitRecord record, MonoTime now);
  ExitRecord Classify(int wait_status, bool oom) const;
  bool IsProbeMode() const;

  const PoolConfig& config_;
  const int slot_;
  Random& random_;
  CrashLoopDetector crash_loop_;

  WorkerState state_ = WorkerState::kExited;
  MonoTime since_{};
  std::optional<MonoTime> armed_[kWorkerTimerCount];

  // The current run.
  std::optional<MonoTime> ready_since_;
  bool was_ready_ = false;
  bool stable_ = false;  // was ready for crash_loop.stability_period in one stretch
  AbortCause abort_ = AbortCause::kNone;
  StopCause stop_request_ = StopCause::kNone;
  int last_signal_ = 0;
  bool sigkill_sent_ = false;
  bool straggler_ = false;  // still running at the drain's deadline
  int probe_failures_ = 0;

  // Across runs.
  int backoff_step_ = 0;  // the n of the backoff: failures and unstable runs since the series began
  int restarts_ = 0;
  std::optional<CrashLoopVerdict> crash_verdict_;
  bool stopped_idle_ = false;  // the last stop request found it in backoff
  std::optional<ExitRecord> last_exit_;
  std::string status_text_;
};

}  // namespace vigil
