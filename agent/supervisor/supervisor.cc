#include "agent/supervisor/supervisor.h"

#include <signal.h>
#include <sys/wait.h>

#include "agent/base/duration.h"
#include "agent/log/log.h"
#include "agent/signal/signals.h"
#include "agent/supervisor/fd_budget.h"

namespace vigil {
namespace {

constexpr int kOk = 0;
constexpr int kInvalidArgument = 3;
constexpr int kNotFound = 5;
constexpr int kResourceExhausted = 8;
constexpr int kFailedPrecondition = 9;

int64_t Millis(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

std::vector<Duration> StopTimeouts(const Config& config) {
  std::vector<Duration> out;
  for (const PoolConfig& pool : config.pools)
    out.push_back(pool.stop_timeout);
  return out;
}

}  // namespace

const char* AgentPhaseName(AgentPhase phase) {
  switch (phase) {
    case AgentPhase::kStarting:
      return "starting";
    case AgentPhase::kReady:
      return "ready";
    case AgentPhase::kStopping:
      return "draining";
    case AgentPhase::kDrained:
      return "drained";
    case AgentPhase::kDone:
      return "exiting";
  }
  return "?";
}

Supervisor::Supervisor(const Config& config, PoolServices services)
    : config_(config),
      services_(std::move(services)),
      drain_(config_.drain, StopTimeouts(config_)),
      propagation_timer_(services_.scheduler),
      deadline_timer_(services_.scheduler),
      traffic_(config_.drain, services_.scheduler, services_.clock, services_.tcp),
      hooks_(config_.hooks, drain_.plan(), services_.os, services_.scheduler, services_.clock,
             counters_.hooks, services_.child_environment()),
      oom_watch_(services_.os) {
  if (services_.oom == nullptr) services_.oom = &oom_watch_;
}

Status Supervisor::CheckDescriptors() const {
  std::vector<PoolSize> sizes;
  for (const PoolConfig& pool : config_.pools)
    sizes.push_back({&pool, pool.replicas});
  if (auto shortfall = DescriptorShortfall(sizes, descriptor_limit_)) {
    return Status::Error(*shortfall);
  }
  return Status();
}

void Supervisor::Start() {
  self_pid_ = services_.os.GetPid();
  oom_watch_.Prime();
  for (const PoolConfig& pool_config : config_.pools) {
    pools_.push_back(std::make_unique<Pool>(pool_config, services_, *this));
  }
  // Pools start in file order; each Start() spawns every replica of that pool.
  for (auto& pool : pools_) {
    // A verdict or a stop request may come in while earlier pools start; becoming ready may not
    // stop the later ones from starting.
    if (phase_ != AgentPhase::kStarting && phase_ != AgentPhase::kReady) break;
    pool->Start();
  }
  started_ = true;
  UpdateReadiness();
  MaybeFinish();
}

void Supervisor::OnSignal(const ReceivedSignal& signal) {
  if (signal.signo >= 1 && signal.signo <= kMaxSignal) ++counters_.signals_received[signal.signo];
  if (signal.signo == SIGCHLD) {
    OnChildEvent();
    return;
  }
  if (signal.sender_pid == self_pid_ && self_pid_ != 0) return;  // Our own SIGPIPE and the like.
  switch (signal.signo) {
    case SIGTERM:
      Drain(DrainTrigger::kSignal);
      return;
    case SIGINT:
    case SIGQUIT:
      Drain(DrainTrigger::kFastStop);
      return;
    default:
      log::Event(log::Level::kDebug, "signal_forwarded", "forwarding signal to workers",
                 {{"signal", SignalName(signal.signo)}});
      for (auto& pool : pools_)
        pool->ForwardSignal(signal.signo);
  }
}

void Supervisor::OnChildEvent() {
  for (;;) {
    StatusOr<WaitResult> result = services_.os.WaitAny();
    if (!result.ok()) {
      log::Error("{}", result.status().message());
      break;
    }
    if (result->kind != WaitResult::Kind::kReaped) break;
    if (WIFSTOPPED(result->status)) continue;
    ++counters_.reaped;
    bool owned = false;
    for (auto& pool : pools_) {
      if (pool->OnProcessExited(result->pid, result->status)) {
        owned = true;
        break;
      }
    }
    if (!owned) owned = hooks_.OnProcessExited(result->pid, result->status);
    if (!owned && extra_reaper_) owned = extra_reaper_(result->pid, result->status);
    if (!owned) {
      ++counters_.orphans_reaped;
      log::Debug("reaped orphan pid {}", result->pid);
    }
  }
  MaybeFinish();
}

Supervisor::CommandResult Supervisor::Drain(DrainTrigger trigger, Duration deadline) {
  if (phase_ == AgentPhase::kDone) return {kOk, "the agent is exiting", 0};
  const bool holds = trigger == DrainTrigger::kPreStop || trigger == DrainTrigger::kApi;
  if (holds && !hold_since_) hold_since_ = services_.clock.Now();
  if (holds && drain().complete) {
    counters_.prestop_hold_seconds.Observe(0);  // Already drained: the caller returns at once.
  }
  const bool joins = drain().started;
  DrainEvent event(DrainEvent::Kind::kTrigger);
  event.trigger = trigger;
  event.requested = deadline;
  Feed(std::move(event));
  return {kOk, joins ? "joined the drain in progress" : "drain started", 0};
}

void Supervisor::Feed(DrainEvent event) {
  for (const DrainEvent& pending : drain_events_) {
    if (pending.kind == event.kind && pending.trigger == event.trigger) return;
  }
  drain_events_.push_back(std::move(event));
  if (feeding_) return;  // The loop below feeds it once the current actions are carried out.
  feeding_ = true;
  // Should an action throw (the loop catches it), the next event still finds the machine fed.
  struct Done {
    Supervisor* s;
    ~Done() {
      s->feeding_ = false;
      s->drain_events_.clear();
    }
  } done{this};
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
        // From readiness going off (the drain's start, when the timer's end was computed), so a
        // fixed delay measures exactly itself.
        propagation_start_ = drain().started_at;
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
  if (!traffic_.problem().empty()) {
    log::Event(log::Level::kWarn, "propagation_unwatched",
               "cannot watch the workers' ports: waiting for drain.max_delay",
               {{"error", traffic_.problem()}});
  }
}

void Supervisor::EndPropagation(PropagationEnd reason) {
  if (!propagating_) return;
  propagating_ = false;
  traffic_.Stop();
  propagation_timer_.Cancel();
  const Duration took = services_.clock.Now() - propagation_start_;
  counters_.propagation_seconds.Observe(std::chrono::duration<double>(took).count());
  ++counters_.propagation_ends[static_cast<int>(reason)];
  const uint64_t connections = config_.drain.propagation_auto ? traffic_.connections() : 0;
  counters_.propagation_connections += connections;
  propagation_ = PropagationReport{true, reason, took, connections};
  std::string ports;
  for (int port : traffic_.ports())
    ports += (ports.empty() ? "" : ",") + std::to_string(port);
  log::Event(log::Level::kInfo, "propagation_over", "propagation delay over",
             {{"reason", PropagationEndName(reason)},
              {"duration_ms", Millis(took)},
              {"connections", static_cast<int64_t>(connections)},
              {"ports", ports},
              {"failed_samples", static_cast<int64_t>(traffic_.failed_samples())}});
}

void Supervisor::OnPoolReadinessChanged(Pool&) {
  UpdateReadiness();
}

void Supervisor::OnWorkerExited(Pool& pool, int slot, const ExitRecord& record) {
  if (drain().started && record.straggler) {
    ++counters_.killed_in_drain[pool.name()];
  }
  if (listener_ != nullptr) listener_->OnWorkerExited(pool, slot, record);
  if (drain().started && !drain().complete) NotifyAgentChanged();
}

void Supervisor::OnWorkerChanged(Pool& pool, int slot) {
  if (listener_ != nullptr) listener_->OnWorkerChanged(pool, slot);
}

void Supervisor::OnPoolChanged(Pool& pool) {
  if (listener_ != nullptr) listener_->OnPoolChanged(pool);
}

void Supervisor::OnPoolFailed(Pool& pool) {
  // Decided before stopping anything: stopping may finish the agent on the spot.
  const bool exit_agent = config_.on_pool_failure == PoolFailureAction::kExit;
  if (exit_agent) crash_loop_exit_ = true;
  pool.StopAll(StopCause::kDrain, /*fast=*/false, pool.StopDeadline());
  if (exit_agent) {
    Drain(DrainTrigger::kCrashLoop);
  } else {
    log::Event(log::Level::kWarn, "pool_failed_kept", "pool failed; other pools keep running",
               {{"pool", pool.name()}});
    UpdateReadiness();
    MaybeFinish();
  }
}

void Supervisor::OnStopPodRequested(Pool&, int) {
  Drain(DrainTrigger::kWorker);
}

void Supervisor::OnPoolIdle(Pool&) {
  MaybeFinish();
}

void Supervisor::UpdateReadiness() {
  if (phase_ != AgentPhase::kStarting && phase_ != AgentPhase::kReady) return;
  bool all_ready = true;
  for (const auto& pool : pools_) {
    // With on_pool_failure: keep, a failed pool no longer counts against the others.
    if (pool->failed() && config_.on_pool_failure == PoolFailureAction::kKeepOthers) continue;
    all_ready = all_ready && pool->ready();
  }
  const AgentPhase next = all_ready && !pools_.empty() ? AgentPhase::kReady : AgentPhase::kStarting;
  if (next != phase_) {
    phase_ = next;
    log::Event(log::Level::kInfo, next == AgentPhase::kReady ? "agent_ready" : "agent_unready",
               next == AgentPhase::kReady ? "agent ready" : "agent not ready", {});
    NotifyAgentChanged();
  }
}

void Supervisor::MaybeFinish() {
  if (phase_ == AgentPhase::kDone || !started_) return;
  if (drain().started) {
    Feed(DrainEvent{DrainEvent::Kind::kPoolsChanged});  // The drain decides what comes next.
    return;
  }
  for (const auto& pool : pools_) {
    if (!pool->idle()) return;
  }
  // Every worker ended for good without a drain (restart: never, verdicts): the pod's work is
  // over. But pools scaled to zero on purpose are a standby, not an end: stay up for the next
  // scale or the stop signal.
  bool any_wanted = false;
  for (const auto& pool : pools_)
    any_wanted = any_wanted || pool->desired() > 0;
  if (any_wanted) Finish();
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

void Supervisor::Finish() {
  bool killed = false;
  bool failed = false;
  bool verdict = crash_loop_exit_;
  for (const auto& pool : pools_) {
    killed = killed || pool->any_killed_at_deadline();
    failed = failed || !pool->all_ended_gracefully();
    verdict = verdict || pool->failed();  // With on_pool_failure: keep, too.
  }
  if (verdict) {
    exit_code_ = kPoolExitCrashLoop;
  } else if (killed) {
    exit_code_ = kPoolExitKilledAtDeadline;
  } else if (failed) {
    exit_code_ = kPoolExitWorkerFailed;
  } else {
    exit_code_ = kPoolExitOk;
  }
  deadline_timer_.Cancel();
  propagation_timer_.Cancel();
  traffic_.Stop();
  phase_ = AgentPhase::kDone;
  log::Event(log::Level::kInfo, "agent_exit", "all workers have ended",
             {{"exit_code", exit_code_}});
  NotifyAgentChanged();
}

void Supervisor::NotifyAgentChanged() {
  if (listener_ != nullptr) listener_->OnAgentChanged();
}

int Supervisor::WorkersRunning() const {
  int n = 0;
  for (const auto& pool : pools_) {
    for (const auto& w : pool->workers())
      n += w->running() ? 1 : 0;
  }
  return n;
}

Pool* Supervisor::MutablePool(const std::string& name) {
  for (auto& pool : pools_) {
    if (pool->name() == name) return pool.get();
  }
  return nullptr;
}

Supervisor::CommandResult Supervisor::Scale(const std::string& name, int replicas) {
  if (replicas < 0) return {kInvalidArgument, "replicas must not be negative", 0};
  if (replicas > kMaxReplicas) {
    return {kInvalidArgument, "replicas must be at most " + std::to_string(kMaxReplicas), 0};
  }
  Pool* pool = MutablePool(name);
  if (pool == nullptr) return {kNotFound, "no pool named '" + name + "'", 0};
  if (drain().started) return {kFailedPrecondition, "the agent is draining: cannot scale", 0};
  if (pool->failed()) return {kFailedPrecondition, "pool '" + name + "' has failed", 0};
  std::vector<PoolSize> sizes;
  for (const auto& p : pools_)
    sizes.push_back({&p->config(), p.get() == pool ? replicas : p->desired()});
  if (auto shortfall = DescriptorShortfall(sizes, descriptor_limit_)) {
    log::Event(log::Level::kWarn, "scale_refused", *shortfall, {{"pool", name}, {"to", replicas}});
    return {kResourceExhausted,
            "cannot scale '" + name + "' to " + std::to_string(replicas) + ": " + *shortfall, 0};
  }
  pool->Scale(replicas);
  UpdateReadiness();
  return {kOk, "", replicas};
}

Supervisor::CommandResult Supervisor::Restart(const std::string& name, int max_unavailable) {
  if (max_unavailable < 0) return {kInvalidArgument, "max_unavailable must not be negative", 0};
  Pool* pool = MutablePool(name);
  if (pool == nullptr) return {kNotFound, "no pool named '" + name + "'", 0};
  if (drain().started) return {kFailedPrecondition, "the agent is draining: cannot restart", 0};
  if (pool->failed()) return {kFailedPrecondition, "pool '" + name + "' has failed", 0};
  pool->RollingRestart(max_unavailable);
  return {kOk, "", 0};
}

Supervisor::CommandResult Supervisor::Signal(const std::string& name, int slot, int signo) {
  if (signo < 1 || signo > SIGRTMAX) return {kInvalidArgument, "invalid signal number", 0};
  Pool* pool = MutablePool(name);
  if (pool == nullptr) return {kNotFound, "no pool named '" + name + "'", 0};
  if (slot >= pool->slot_count() || slot < -1) {
    return {kNotFound, "pool '" + name + "' has no worker " + std::to_string(slot), 0};
  }
  const int count = pool->SignalWorkers(slot, signo);
  log::Event(log::Level::kInfo, "signal_sent", "signal sent on request",
             {{"pool", name}, {"slot", slot}, {"signal", SignalName(signo)}, {"workers", count}});
  return {kOk, "", count};
}

}  // namespace vigil
