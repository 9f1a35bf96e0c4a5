#include "agent/lifecycle/drain.h"

#include <algorithm>
#include <utility>

namespace vigil {
namespace {

using Kind = DrainAction::Kind;

DrainAction Act(Kind kind) {
  DrainAction a;
  a.kind = kind;
  return a;
}

DrainAction TimerAction(Kind kind, DrainAction::Timer timer, MonoTime at = {}) {
  DrainAction a = Act(kind);
  a.timer = timer;
  a.at = at;
  return a;
}

bool AllIdle(const std::vector<bool>& idle) {
  return std::all_of(idle.begin(), idle.end(), [](bool i) { return i; });
}

}  // namespace

const char* DrainTriggerName(DrainTrigger trigger) {
  switch (trigger) {
    case DrainTrigger::kSignal:
      return "signal";
    case DrainTrigger::kPreStop:
      return "prestop";
    case DrainTrigger::kApi:
      return "api";
    case DrainTrigger::kWorker:
      return "worker";
    case DrainTrigger::kCrashLoop:
      return "crash_loop";
    case DrainTrigger::kFastStop:
      return "fast_stop";
  }
  return "?";
}

const char* DrainStepName(DrainStep step) {
  switch (step) {
    case DrainStep::kIdle:
      return "idle";
    case DrainStep::kPropagating:
      return "propagating";
    case DrainStep::kStoppingPools:
      return "stopping_pools";
    case DrainStep::kStoppingFast:
      return "stopping_fast";
    case DrainStep::kPastDeadline:
      return "past_deadline";
    case DrainStep::kRunningHooks:
      return "running_hooks";
    case DrainStep::kComplete:
      return "complete";
  }
  return "?";
}

DrainMachine::DrainMachine(const DrainConfig& config, std::vector<Duration> stop_timeouts)
    : plan_(config),
      propagation_(config.propagation_auto || config.propagation_delay > Duration::zero()),
      watch_traffic_(config.propagation_auto),
      stop_timeouts_(std::move(stop_timeouts)) {}

DrainActions DrainMachine::Handle(const DrainEvent& event, MonoTime now) {
  DrainActions out;
  switch (event.kind) {
    case DrainEvent::Kind::kTrigger:
      if (step_ == DrainStep::kIdle) {
        Start(event, now, &out);
      } else {
        Join(event, now, &out);
      }
      break;
    case DrainEvent::Kind::kPropagationOver:
      if (step_ == DrainStep::kPropagating) StopInOrder(now, &out);
      break;
    case DrainEvent::Kind::kDeadline:
      // Once the hooks run every pool is idle: the deadline has no one left to hurry.
      if (!Stopping()) break;
      out.push_back(Act(Kind::kDeadline));
      if (step_ == DrainStep::kPropagating) {
        out.push_back(TimerAction(Kind::kCancelTimer, DrainAction::Timer::kPropagation));
      }
      StopAllFast(now, /*at_deadline=*/true, &out);
      out.push_back(Act(Kind::kAgentChanged));
      break;
    case DrainEvent::Kind::kPoolsChanged:
      PoolsChanged(event.idle, now, &out);
      break;
    case DrainEvent::Kind::kHooksDone:
      if (step_ == DrainStep::kRunningHooks) Finish(&out);
      break;
  }
  return out;
}

void DrainMachine::Start(const DrainEvent& event, MonoTime now, DrainActions* out) {
  state_.started = true;
  state_.trigger = event.trigger;
  state_.started_at = now;
  state_.deadline = plan_.Deadline(now, event.requested);
  // A preStop hook or an API caller waits for the drain: Vigil stays up, drained, until the stop
  // signal, so the kubelet never sees PID 1 die under its hook.
  state_.exit_when_complete =
      event.trigger != DrainTrigger::kPreStop && event.trigger != DrainTrigger::kApi;
  DrainAction started = Act(Kind::kStarted);
  started.at = state_.deadline;
  out->push_back(started);
  out->push_back(Act(Kind::kAgentChanged));  // Readiness is off from this instant.
  out->push_back(TimerAction(Kind::kArmTimer, DrainAction::Timer::kDeadline, state_.deadline));
  if (event.trigger == DrainTrigger::kFastStop) {
    fast_ = true;
    StopAllFast(now, /*at_deadline=*/false, out);
  } else if (propagation_) {
    step_ = DrainStep::kPropagating;
    out->push_back(TimerAction(Kind::kArmTimer, DrainAction::Timer::kPropagation,
                               plan_.PropagationEnd(now, state_.deadline)));
    if (watch_traffic_) out->push_back(Act(Kind::kWatchTraffic));
    PoolsChanged(event.idle, now, out);  // Nothing running: nothing to wait for.
  } else {
    StopInOrder(now, out);
  }
}

void DrainMachine::Join(const DrainEvent& event, MonoTime now, DrainActions* out) {
  // A second trigger never restarts the drain; it may make it exit when complete, and a fast
  // stop is a fast stop.
  DrainAction joined = Act(Kind::kJoined);
  switch (event.trigger) {
    case DrainTrigger::kSignal:
      joined.note = state_.exit_when_complete ? DrainAction::Note::kSignalIgnored
                                              : DrainAction::Note::kExitWhenComplete;
      state_.exit_when_complete = true;
      break;
    case DrainTrigger::kFastStop:
      state_.exit_when_complete = true;
      if (!fast_) {
        fast_ = true;
        joined.note = DrainAction::Note::kEscalated;
      }
      break;
    case DrainTrigger::kWorker:
    case DrainTrigger::kCrashLoop:
      state_.exit_when_complete = true;
      break;
    case DrainTrigger::kPreStop:
    case DrainTrigger::kApi:
      break;
  }
  if (joined.note != DrainAction::Note::kNone) out->push_back(joined);
  if (joined.note == DrainAction::Note::kEscalated &&
      (step_ == DrainStep::kPropagating || step_ == DrainStep::kStoppingPools)) {
    // Past the deadline every pool already has its fast signal and an earlier SIGKILL.
    if (step_ == DrainStep::kPropagating) {
      out->push_back(TimerAction(Kind::kCancelTimer, DrainAction::Timer::kPropagation));
    }
    StopAllFast(now, /*at_deadline=*/false, out);
  }
  if (state_.complete && state_.exit_when_complete) out->push_back(Act(Kind::kExit));
  out->push_back(Act(Kind::kAgentChanged));
}

void DrainMachine::PoolsChanged(const std::vector<bool>& idle, MonoTime now, DrainActions* out) {
  if (!Stopping()) return;
  if (step_ == DrainStep::kStoppingPools && stopping_ >= 0) {
    const bool down = static_cast<size_t>(stopping_) < idle.size() && idle[stopping_];
    if (!down) return;
    if (stopping_ > 0) {
      // Reverse start order: a pool is told to stop once every pool started after it is down.
      // One per event: the owner feeds kPoolsChanged again once it has told this one.
      --stopping_;
      DrainAction stop = Act(Kind::kStopPool);
      stop.pool = stopping_;
      stop.at = plan_.GracefulKillAt(now, stop_timeouts_[stopping_], state_.deadline);
      out->push_back(stop);
      return;
    }
    stopping_ = -1;  // Every pool has been told.
  }
  if (AllIdle(idle)) {
    if (step_ == DrainStep::kPropagating) {
      out->push_back(TimerAction(Kind::kCancelTimer, DrainAction::Timer::kPropagation));
    }
    step_ = DrainStep::kRunningHooks;
    out->push_back(Act(Kind::kRunHooks));
  }
}

void DrainMachine::StopInOrder(MonoTime now, DrainActions* out) {
  step_ = DrainStep::kStoppingPools;
  stopping_ = static_cast<int>(stop_timeouts_.size()) - 1;
  if (stopping_ < 0) {
    PoolsChanged({}, now, out);  // No pool: straight to the hooks.
    return;
  }
  DrainAction stop = Act(Kind::kStopPool);
  stop.pool = stopping_;
  stop.at = plan_.GracefulKillAt(now, stop_timeouts_[stopping_], state_.deadline);
  out->push_back(stop);
}

void DrainMachine::StopAllFast(MonoTime now, bool at_deadline, DrainActions* out) {
  step_ = at_deadline ? DrainStep::kPastDeadline : DrainStep::kStoppingFast;
  stopping_ = -1;
  for (size_t i = 0; i < stop_timeouts_.size(); ++i) {
    DrainAction stop = Act(Kind::kStopPool);
    stop.pool = static_cast<int>(i);
    stop.fast = true;
    stop.at_deadline = at_deadline;
    stop.at = plan_.FastKillAt(now, stop_timeouts_[i], state_.deadline, at_deadline);
    out->push_back(stop);
  }
  if (stop_timeouts_.empty()) PoolsChanged({}, now, out);
}

void DrainMachine::Finish(DrainActions* out) {
  step_ = DrainStep::kComplete;
  state_.complete = true;
  out->push_back(TimerAction(Kind::kCancelTimer, DrainAction::Timer::kDeadline));
  out->push_back(TimerAction(Kind::kCancelTimer, DrainAction::Timer::kPropagation));
  DrainAction complete = Act(Kind::kComplete);
  complete.exit = state_.exit_when_complete;
  out->push_back(complete);
}

bool DrainMachine::Stopping() const {
  return step_ == DrainStep::kPropagating || step_ == DrainStep::kStoppingPools ||
         step_ == DrainStep::kStoppingFast || step_ == DrainStep::kPastDeadline;
}

}  // namespace vigil
