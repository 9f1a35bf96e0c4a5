#include "agent/supervisor/supervisor.h"

#include <signal.h>
#include <sys/wait.h>

#include "agent/init/signals.h"
#include "agent/log/log.h"

namespace vigil {

const char* AgentPhaseName(AgentPhase phase) {
  switch (phase) {
    case AgentPhase::kStarting: return "starting";
    case AgentPhase::kReady: return "ready";
    case AgentPhase::kStopping: return "stopping";
    case AgentPhase::kDone: return "done";
  }
  return "?";
}

Supervisor::Supervisor(const Config& config, PoolServices services)
    : config_(config), services_(std::move(services)) {}

void Supervisor::Start() {
  self_pid_ = services_.os.GetPid();
  for (const PoolConfig& pool_config : config_.pools) {
    pools_.push_back(std::make_unique<Pool>(pool_config, services_, *this));
  }
  // Pools start in file order; each Start() spawns every replica of that pool.
  for (auto& pool : pools_) {
    if (phase_ != AgentPhase::kStarting) break;  // A verdict or stop request came in already.
    pool->Start();
  }
  started_ = true;
  UpdateReadiness();
  MaybeFinish();
}

void Supervisor::OnSignal(const ReceivedSignal& signal) {
  if (signal.signo == SIGCHLD) {
    OnChildEvent();
    return;
  }
  if (signal.sender_pid == self_pid_ && self_pid_ != 0) return;  // Our own SIGPIPE and the like.
  switch (signal.signo) {
    case SIGTERM:
      if (phase_ == AgentPhase::kStopping || phase_ == AgentPhase::kDone) {
        log::Event(log::Level::kInfo, "signal_ignored",
                   "SIGTERM again during shutdown: not passed on to workers", {});
      } else {
        BeginShutdown(/*fast=*/false, "SIGTERM");
      }
      return;
    case SIGINT:
    case SIGQUIT:
      BeginShutdown(/*fast=*/true, signal.signo == SIGINT ? "SIGINT" : "SIGQUIT");
      return;
    default:
      log::Event(log::Level::kDebug, "signal_forwarded", "forwarding signal to workers",
                 {{"signal", SignalName(signal.signo)}});
      for (auto& pool : pools_) pool->ForwardSignal(signal.signo);
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
    bool owned = false;
    for (auto& pool : pools_) {
      if (pool->OnProcessExited(result->pid, result->status)) {
        owned = true;
        break;
      }
    }
    if (!owned) log::Debug("reaped orphan pid {}", result->pid);
  }
  MaybeFinish();
}

void Supervisor::BeginShutdown(bool fast, const char* why) {
  if (phase_ == AgentPhase::kDone) return;
  if (phase_ == AgentPhase::kStopping && (fast_ || !fast)) return;
  const bool escalate = phase_ == AgentPhase::kStopping;
  phase_ = AgentPhase::kStopping;
  fast_ = fast;
  log::Event(log::Level::kInfo, escalate ? "shutdown_escalated" : "shutdown",
             fast ? "fast shutdown" : "graceful shutdown", {{"trigger", why}});
  UpdateReadiness();
  if (fast) {
    // Everyone at once, with each pool's fast signal and a short deadline.
    const MonoTime now = services_.clock.Now();
    for (auto& pool : pools_) {
      const Duration timeout = std::min(pool->config().stop_timeout, kFastStopTimeout);
      pool->StopAll(StopCause::kDrain, /*fast=*/true, now + timeout);
    }
    stopping_index_ = -1;
    MaybeFinish();
    return;
  }
  stopping_index_ = static_cast<int>(pools_.size());
  StopNextPool();
}

void Supervisor::StopNextPool() {
  // Reverse start order: a pool is asked to stop once every pool started after it is down.
  while (stopping_index_ > 0) {
    Pool& pool = *pools_[--stopping_index_];
    log::Event(log::Level::kInfo, "pool_stopping", "stopping pool", {{"pool", pool.name()}});
    pool.StopAll(StopCause::kDrain, /*fast=*/false,
                 services_.clock.Now() + pool.config().stop_timeout);
    if (!pool.idle()) return;  // OnPoolIdle() comes back here.
  }
  MaybeFinish();
}

void Supervisor::OnPoolReadinessChanged(Pool&) { UpdateReadiness(); }

void Supervisor::OnWorkerExited(Pool&, int, const ExitRecord&) {}

void Supervisor::OnPoolFailed(Pool& pool) {
  // The verdict stops the pool for good; its healthy siblings are stopped too (they are no use
  // to a pool that is declared failed, and Kubernetes' backoff takes over from here).
  // Decided before stopping anything: stopping may finish the agent on the spot.
  const bool exit_agent = config_.on_pool_failure == PoolFailureAction::kExit;
  if (exit_agent) crash_loop_exit_ = true;
  pool.StopAll(StopCause::kDrain, /*fast=*/false,
               services_.clock.Now() + pool.config().stop_timeout);
  if (exit_agent) {
    BeginShutdown(/*fast=*/false, "crash loop");
  } else {
    log::Event(log::Level::kWarn, "pool_failed_kept", "pool failed; other pools keep running",
               {{"pool", pool.name()}});
    UpdateReadiness();
    MaybeFinish();
  }
}

void Supervisor::OnStopPodRequested(Pool& pool, int slot) {
  (void)slot;
  const std::string why = "worker request (" + pool.name() + ")";
  BeginShutdown(/*fast=*/false, why.c_str());
}

void Supervisor::OnPoolIdle(Pool& pool) {
  if (phase_ == AgentPhase::kStopping && stopping_index_ >= 0 &&
      pools_[stopping_index_].get() == &pool) {
    StopNextPool();
    return;
  }
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
  }
}

void Supervisor::MaybeFinish() {
  if (phase_ == AgentPhase::kDone || !started_) return;
  for (const auto& pool : pools_) {
    if (!pool->idle()) return;
  }
  Finish();
}

void Supervisor::Finish() {
  bool killed = false;
  bool failed = false;
  for (const auto& pool : pools_) {
    killed = killed || pool->any_killed_at_deadline();
    failed = failed || !pool->all_ended_gracefully();
  }
  if (crash_loop_exit_) {
    exit_code_ = kPoolExitCrashLoop;
  } else if (killed) {
    exit_code_ = kPoolExitKilledAtDeadline;
  } else if (failed) {
    exit_code_ = kPoolExitWorkerFailed;
  } else {
    exit_code_ = kPoolExitOk;
  }
  phase_ = AgentPhase::kDone;
  log::Event(log::Level::kInfo, "agent_exit", "all workers have ended",
             {{"exit_code", exit_code_}});
}

}  // namespace vigil
