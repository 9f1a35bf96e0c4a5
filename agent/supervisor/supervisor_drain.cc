// The Supervisor's side of the drain: it feeds DrainMachine (lifecycle/drain.h) its events, run
// to completion, and carries out the actions it returns: timers, the traffic watch of
// `propagation_delay: auto`, stopping pools, the stop hooks, the drain's end. What is decided
// lives in the machine; this file only executes it (supervisor.h has the contract).
#include <utility>

#include "agent/base/scope_exit.h"
#include "agent/log/log.h"
#include "agent/supervisor/supervisor.h"

namespace vigil {
namespace {

int64_t Millis(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace

void Supervisor::Feed(DrainEvent event) {
  for (const DrainEvent& pending : drain_events_) {
    if (pending.kind == event.kind && pending.trigger == event.trigger) return;
  }
  drain_events_.push_back(std::move(event));
  if (feeding_) return;  // The loop below feeds it once the current actions are carried out.
  feeding_ = true;
  // Should an action throw (the loop catches it), the next event still finds the machine fed.
  const ScopeExit done([this] {
    feeding_ = false;
    drain_events_.clear();
  });
  while (!drain_events_.empty()) {
    DrainEvent next = std::move(drain_events_.front());
    drain_events_.pop_front();
    next.idle.clear();
    for (const auto& pool : pools_)
      next.idle.push_back(pool->idle());
    for (const DrainAction& action : drain_.Handle(next, services_.clock.Now()))
      Carry(action);
  }
}

Timer& Supervisor::DrainTimer(DrainAction::Timer timer) {
  return timer == DrainAction::Timer::kPropagation ? propagation_timer_ : deadline_timer_;
}

void Supervisor::Carry(const DrainAction& a) {
  using Kind = DrainAction::Kind;
  const MonoTime now = services_.clock.Now();
  switch (a.kind) {
    case Kind::kStarted: {
      const DrainTrigger trigger = drain().trigger;
      ++counters_.drains_by_trigger[static_cast<int>(trigger)];
      phase_ = AgentPhase::kStopping;
      log::Event(log::Level::kInfo, "drain_started",
                 trigger == DrainTrigger::kFastStop ? "fast shutdown" : "drain started",
                 {{"trigger", DrainTriggerName(trigger)}, {"deadline_ms", Millis(a.at - now)}});
      for (const auto& pool : pools_)
        pool->StopProbing();
      return;
    }
    case Kind::kJoined:
      if (a.note == DrainAction::Note::kSignalIgnored) {
        log::Event(log::Level::kInfo, "signal_ignored",
                   "SIGTERM again during the drain: not passed on to workers", {});
      } else if (a.note == DrainAction::Note::kExitWhenComplete) {
        log::Event(log::Level::kInfo, "drain_joined",
                   "stop signal: exiting once the drain completes",
                   {{"trigger", DrainTriggerName(drain().trigger)}});
      } else if (a.note == DrainAction::Note::kEscalated) {
        log::Event(log::Level::kInfo, "shutdown_escalated", "fast stop during the drain", {});
      }
      return;
    case Kind::kArmTimer:
      if (a.timer == DrainAction::Timer::kPropagation) {
        propagating_ = true;
        propagation_timer_.ArmAt(a.at, [this] {
          EndPropagation(config_.drain.propagation_auto ? PropagationEnd::kMaxDelay
                                                        : PropagationEnd::kFixed);
          Feed(DrainEvent{DrainEvent::Kind::kPropagationOver});
        });
      } else {
        deadline_timer_.ArmAt(a.at, [this] { Feed(DrainEvent{DrainEvent::Kind::kDeadline}); });
      }
      return;
    case Kind::kCancelTimer:
      if (a.timer == DrainAction::Timer::kPropagation) EndPropagation(PropagationEnd::kCutShort);
      DrainTimer(a.timer).Cancel();
      return;
    case Kind::kWatchTraffic:
      WatchTraffic();
      return;
    case Kind::kStopPool: {
      if (a.pool < 0 || static_cast<size_t>(a.pool) >= pools_.size()) return;  // Not started.
      Pool& pool = *pools_[static_cast<size_t>(a.pool)];
      if (!a.fast) {
        log::Event(log::Level::kInfo, "pool_stopping", "stopping pool", {{"pool", pool.name()}});
      }
      pool.StopAll(StopCause::kDrain, a.fast, a.at, a.at_deadline);
      Feed(DrainEvent{DrainEvent::Kind::kPoolsChanged});  // It may be idle already.
      return;
    }
    case Kind::kDeadline:
      if (const int remaining = WorkersRunning(); remaining > 0) {
        log::Event(log::Level::kWarn, "drain_deadline", "drain deadline: fast signal to stragglers",
                   {{"workers", remaining}});
      }
      return;
    case Kind::kRunHooks:
      hooks_.Run(drain().trigger, drain().started_at,
                 [this] { Feed(DrainEvent{DrainEvent::Kind::kHooksDone}); });
      return;
    case Kind::kComplete:
      CompleteDrain(a.exit);
      return;
    case Kind::kExit:
      Finish();
      return;
    case Kind::kAgentChanged:
      NotifyAgentChanged();
      return;
  }
}

void Supervisor::WatchTraffic() {
  std::vector<int> ports;
  std::vector<pid_t> pids;
  for (const auto& pool : pools_) {
    const std::vector<int>& listed = pool->config().ports;
    if (!listed.empty()) {
      ports.insert(ports.end(), listed.begin(), listed.end());
      continue;  // Listed: what it listens on is not asked.
    }
    for (int slot = 0; slot < pool->slot_count(); ++slot) {
      if (const pid_t pid = pool->pid_of(slot); pid > 0) pids.push_back(pid);
    }
  }
  const std::optional<PropagationEnd> at_once =
      traffic_.Start(ports, pids, [this](PropagationEnd reason) {
        EndPropagation(reason);
        Feed(DrainEvent{DrainEvent::Kind::kPropagationOver});
      });
  if (at_once) {
    // Nothing to wait for: over in this very event (fed after the actions being carried out),
    // so no worker exit can come between readiness going off and the first stop signal.
    EndPropagation(*at_once);
    Feed(DrainEvent{DrainEvent::Kind::kPropagationOver});
    return;
  }
}

void Supervisor::EndPropagation(PropagationEnd reason) {
  if (!propagating_) return;
  propagating_ = false;
  traffic_.Stop();
  propagation_timer_.Cancel();
  // From readiness going off (the drain's start, from which the timer's end was computed), so a
  // fixed delay measures exactly itself.
  const Duration took = services_.clock.Now() - drain().started_at;
  counters_.propagation_seconds.Observe(std::chrono::duration<double>(took).count());
  ++counters_.propagation_ends[static_cast<int>(reason)];
  const uint64_t connections = traffic_.connections();  // 0 for a fixed delay: never watched
  counters_.propagation_connections += connections;
  propagation_ = PropagationReport{true, reason, took, connections};
  std::string ports;
  // Appended piece by piece: `"," + std::to_string(port)` trips GCC 12's -Wrestrict at -O3 (a
  // false positive in char_traits.h, GCC bug 105329), which broke the Release build.
  for (int port : traffic_.ports()) {
    if (!ports.empty()) ports += ',';
    ports += std::to_string(port);
  }
  log::Event(log::Level::kInfo, "propagation_over", "propagation delay over",
             {{"reason", PropagationEndName(reason)},
              {"duration_ms", Millis(took)},
              {"connections", static_cast<int64_t>(connections)},
              {"ports", ports},
              {"failed_samples", static_cast<int64_t>(traffic_.failed_samples())}});
}

void Supervisor::CompleteDrain(bool exit) {
  const MonoTime now = services_.clock.Now();
  const DrainState& drain = drain_.state();
  counters_.drain_seconds.Observe(std::chrono::duration<double>(now - drain.started_at).count());
  if (hold_since_) {
    counters_.prestop_hold_seconds.Observe(
        std::chrono::duration<double>(now - *hold_since_).count());
  }
  log::Event(log::Level::kInfo, "drain_complete", "drain complete",
             {{"trigger", DrainTriggerName(drain.trigger)},
              {"duration_ms", Millis(now - drain.started_at)}});
  if (exit) {
    Finish();
  } else {
    phase_ = AgentPhase::kDrained;
    log::Event(log::Level::kInfo, "drained", "drained: waiting for the stop signal to exit", {});
    NotifyAgentChanged();
  }
}

}  // namespace vigil
