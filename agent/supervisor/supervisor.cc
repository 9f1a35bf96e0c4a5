#include "agent/supervisor/supervisor.h"

#include <signal.h>
#include <sys/wait.h>

#include <exception>

#include "agent/base/duration.h"
#include "agent/base/scope_exit.h"
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
      oom_watch_(services_.os),
      removals_(services_.scheduler),
      reap_more_(services_.scheduler) {
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
  // Pools start in file order; each Start() spawns its first Pool::kStartBatch replicas, and
  // the rest follow a batch per turn of the loop (the pools in turn).
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
  // The burst ends whatever happens (a callback that throws is caught by the loop), so nothing
  // the listener or the notify transport holds is held past this turn of the loop. The runs'
  // directories are removed last: by work posted now, so after the work the exits posted (a
  // crashed worker's zero-delay replacement) and the control plane's write. Removing a run's
  // directory is the costliest part of an exit (on ext4 the last close of the removed
  // directory frees its inode: about 0.25 ms) and a replacement must not wait for it
  // (docs/performance.md, "6: restart latency: round two").
  services_.notify.HoldRemovals();
  if (listener_ != nullptr) listener_->BeginBurst();
  const ScopeExit burst([this] {
    try {
      if (listener_ != nullptr) listener_->EndBurst();
    } catch (const std::exception& e) {
      log::Error("control plane: {}", e.what());
    }
    try {
      removals_.Post([this] {
        try {
          services_.notify.ReleaseRemovals();
        } catch (const std::exception& e) {
          log::Error("notify directory: {}", e.what());
        }
      });
    } catch (...) {  // No memory to post it: remove them now.
      try {
        services_.notify.ReleaseRemovals();
      } catch (...) {
        log::Error("notify directory: runs' directories left in place");
      }
    }
  });
  // A burst of exits (a drain of thousands) is reaped a slice of the turn at a time (kTurnSlice,
  // kMinReapsPerTurn at least), the rest in the next turn (RunNextTurn): no further SIGCHLD comes
  // for the zombies already waiting.
  const TurnSlice slice(services_.clock, kMinReapsPerTurn);
  for (int reaped = 0;; ++reaped) {
    if (slice.Over(reaped)) {
      reap_more_.ArmNextTurn([this] { OnChildEvent(); });
      break;
    }
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
  // O(pools): asked twice on every exit of a drain (its progress event); a scan of the workers
  // made draining n workers O(n^2).
  int n = 0;
  for (const auto& pool : pools_)
    n += pool->running_count();
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
