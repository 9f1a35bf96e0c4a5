#include "agent/supervisor/supervisor.h"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>

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

const char* HookResultName(HookResult result) {
  switch (result) {
    case HookResult::kSuccess:
      return "success";
    case HookResult::kFailure:
      return "failure";
    case HookResult::kTimeout:
      return "timeout";
    case HookResult::kSpawnFailed:
      return "spawn_failed";
  }
  return "?";
}

Supervisor::Supervisor(const Config& config, PoolServices services)
    : config_(config), services_(std::move(services)), oom_watch_(services_.os) {
  if (services_.oom == nullptr) services_.oom = &oom_watch_;
}

Supervisor::~Supervisor() {
  CancelTimer(&propagation_timer_);
  CancelTimer(&deadline_timer_);
  CancelTimer(&hook_timer_);
}

void Supervisor::CancelTimer(TimerId* id) {
  if (*id != kNoTimer) services_.scheduler.Cancel(*id);
  *id = kNoTimer;
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
    if (!owned) owned = OnHookExited(result->pid, result->status);
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
  const MonoTime now = services_.clock.Now();
  const bool holds = trigger == DrainTrigger::kPreStop || trigger == DrainTrigger::kApi;
  if (holds && !hold_since_) hold_since_ = now;
  if (holds && drain_.complete) {
    counters_.prestop_hold_seconds.Observe(0);  // Already drained: the caller returns at once.
  }
  if (drain_.started) {
    // A second trigger joins the drain in progress; it never restarts or escalates it, except
    // that a fast stop is a fast stop.
    if (trigger == DrainTrigger::kSignal) {
      if (drain_.exit_when_complete) {
        log::Event(log::Level::kInfo, "signal_ignored",
                   "SIGTERM again during the drain: not passed on to workers", {});
      } else {
        drain_.exit_when_complete = true;
        log::Event(log::Level::kInfo, "drain_joined",
                   "stop signal: exiting once the drain completes",
                   {{"trigger", DrainTriggerName(drain_.trigger)}});
      }
      if (drain_.complete) Finish();
    } else if (trigger == DrainTrigger::kFastStop) {
      drain_.exit_when_complete = true;
      if (!fast_) {
        fast_ = true;
        log::Event(log::Level::kInfo, "shutdown_escalated", "fast stop during the drain", {});
        StopAllFast(SaturatingAdd(now, kFastStopTimeout));
      }
      if (drain_.complete) Finish();
    } else if (trigger == DrainTrigger::kWorker || trigger == DrainTrigger::kCrashLoop) {
      drain_.exit_when_complete = true;
      if (drain_.complete) Finish();
    }
    NotifyAgentChanged();
    return {kOk, "joined the drain in progress", 0};
  }

  drain_.started = true;
  ++counters_.drains_by_trigger[static_cast<int>(trigger)];
  drain_.trigger = trigger;
  drain_.started_at = now;
  drain_.deadline =
      SaturatingAdd(now, SaturatingSub(config_.drain.grace_period, config_.drain.safety_margin));
  if (deadline > Duration::zero()) {
    drain_.deadline = std::min(drain_.deadline, SaturatingAdd(now, deadline));
  }
  drain_.exit_when_complete = trigger != DrainTrigger::kPreStop && trigger != DrainTrigger::kApi;
  phase_ = AgentPhase::kStopping;
  log::Event(
      log::Level::kInfo, "drain_started",
      trigger == DrainTrigger::kFastStop ? "fast shutdown" : "drain started",
      {{"trigger", DrainTriggerName(trigger)}, {"deadline_ms", Millis(drain_.deadline - now)}});
  NotifyAgentChanged();  // Readiness is off from this instant.
  deadline_timer_ = services_.scheduler.RunAt(drain_.deadline, [this] {
    deadline_timer_ = kNoTimer;
    OnDrainDeadline();
  });
  if (trigger == DrainTrigger::kFastStop) {
    fast_ = true;
    StopAllFast(SaturatingAdd(now, kFastStopTimeout));
  } else if (config_.drain.propagation_delay > Duration::zero()) {
    propagation_timer_ =
        services_.scheduler.RunAt(SaturatingAdd(now, config_.drain.propagation_delay), [this] {
          propagation_timer_ = kNoTimer;
          StopPoolsInOrder();
        });
  } else {
    StopPoolsInOrder();
  }
  MaybeFinish();
  return {kOk, "drain started", 0};
}

MonoTime Supervisor::KillAt(const Pool& pool) const {
  // The pool's own stop timeout, but never past the drain's deadline plus the short window the
  // fast signal gets there.
  const Duration fast_window = std::min(kFastStopTimeout, config_.drain.safety_margin / 2);
  return std::min(SaturatingAdd(services_.clock.Now(), pool.config().stop_timeout),
                  SaturatingAdd(drain_.deadline, fast_window));
}

void Supervisor::StopPoolsInOrder() {
  pools_stopping_ = true;
  stopping_index_ = static_cast<int>(pools_.size());
  StopNextPool();
}

void Supervisor::StopNextPool() {
  // StopAll() may report the pool idle at once (OnPoolIdle), which calls back here: the outer
  // call keeps going, the inner one must not run ahead of it.
  if (in_stop_next_pool_) return;
  in_stop_next_pool_ = true;
  // Reverse start order: a pool is asked to stop once every pool started after it is down.
  while (stopping_index_ > 0) {
    Pool& pool = *pools_[--stopping_index_];
    log::Event(log::Level::kInfo, "pool_stopping", "stopping pool", {{"pool", pool.name()}});
    pool.StopAll(StopCause::kDrain, fast_, KillAt(pool));
    if (!pool.idle()) {
      in_stop_next_pool_ = false;
      return;  // OnPoolIdle() comes back here.
    }
  }
  in_stop_next_pool_ = false;
  stopping_index_ = -1;
  MaybeFinish();
}

void Supervisor::StopAllFast(MonoTime kill_at, bool at_deadline) {
  stopping_index_ = -1;
  pools_stopping_ = true;
  const MonoTime now = services_.clock.Now();
  for (auto& pool : pools_) {
    const MonoTime pool_kill =
        std::min({kill_at, SaturatingAdd(now, pool->config().stop_timeout), KillAt(*pool)});
    pool->StopAll(StopCause::kDrain, /*fast=*/true, std::max(pool_kill, now), at_deadline);
  }
  MaybeFinish();
}

void Supervisor::OnDrainDeadline() {
  drain_.deadline_passed = true;
  const int remaining = WorkersRunning();
  if (remaining > 0) {
    log::Event(log::Level::kWarn, "drain_deadline", "drain deadline: fast signal to stragglers",
               {{"workers", remaining}});
  }
  CancelTimer(&propagation_timer_);
  StopAllFast(
      SaturatingAdd(drain_.deadline, std::min(kFastStopTimeout, config_.drain.safety_margin / 2)),
      /*at_deadline=*/true);
  NotifyAgentChanged();
}

void Supervisor::OnPoolReadinessChanged(Pool&) {
  UpdateReadiness();
}

void Supervisor::OnWorkerExited(Pool& pool, int slot, const ExitRecord& record) {
  if (drain_.started && record.straggler) {
    ++counters_.killed_in_drain[pool.name()];
  }
  if (listener_ != nullptr) listener_->OnWorkerExited(pool, slot, record);
  if (drain_.started && !drain_.complete) NotifyAgentChanged();
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
  pool.StopAll(StopCause::kDrain, /*fast=*/false,
               SaturatingAdd(services_.clock.Now(), pool.config().stop_timeout));
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

void Supervisor::OnPoolIdle(Pool& pool) {
  if (pools_stopping_ && stopping_index_ >= 0 &&
      stopping_index_ < static_cast<int>(pools_.size()) && pools_[stopping_index_].get() == &pool) {
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
    NotifyAgentChanged();
  }
}

void Supervisor::MaybeFinish() {
  if (phase_ == AgentPhase::kDone || !started_) return;
  for (const auto& pool : pools_) {
    if (!pool->idle()) return;
  }
  if (!drain_.started) {
    // Every worker ended for good without a drain (restart: never, verdicts): the pod's work is
    // over. But pools scaled to zero on purpose are a standby, not an end: stay up for the next
    // scale or the stop signal.
    bool any_wanted = false;
    for (const auto& pool : pools_)
      any_wanted = any_wanted || pool->desired() > 0;
    if (any_wanted) Finish();
    return;
  }
  if (!hooks_started_) {
    hooks_started_ = true;
    next_hook_ = static_cast<int>(config_.hooks.size()) - 1;
    RunNextHook();
  }
}

void Supervisor::RunNextHook() {
  while (next_hook_ >= 0) {
    const HookConfig& hook = config_.hooks[static_cast<size_t>(next_hook_--)];
    SpawnRequest request;
    request.argv = hook.command;
    request.env = services_.child_environment().Build(
        {}, {{"VIGIL_HOOK", hook.name}, {"VIGIL_DRAIN_TRIGGER", DrainTriggerName(drain_.trigger)}});
    SpawnedChild child;
    SpawnError error;
    if (!services_.os.Spawn(request, &child, &error)) {
      log::Event(log::Level::kError, "hook_failed", error.status.message(), {{"hook", hook.name}});
      ++counters_.hooks[{hook.name, static_cast<int>(HookResult::kSpawnFailed)}];
      continue;
    }
    hook_pid_ = child.pid;
    hook_name_ = hook.name;
    hook_timed_out_ = false;
    log::Event(log::Level::kInfo, "hook_started", "stop hook started",
               {{"hook", hook.name}, {"pid", hook_pid_}});
    const std::string name = hook.name;
    // Within the grace period (less a moment to exit), or the kubelet's SIGKILL lands on Vigil
    // itself: what is left is shared fairly among the hooks still to run (this one included),
    // each getting at most its own timeout, so a hung hook never starves the ones after it.
    const MonoTime now = services_.clock.Now();
    const Duration left =
        SaturatingSub(SaturatingSub(config_.drain.grace_period, now - drain_.started_at),
                      std::chrono::milliseconds(500));
    const Duration share = left / (next_hook_ + 2);
    const MonoTime hook_end = SaturatingAdd(
        now, std::min(hook.timeout, std::max<Duration>(share, std::chrono::milliseconds(100))));
    hook_timer_ = services_.scheduler.RunAt(hook_end, [this, name] {
      hook_timer_ = kNoTimer;
      log::Event(log::Level::kWarn, "hook_timeout", "stop hook timed out: SIGKILL",
                 {{"hook", name}});
      if (hook_pid_ > 0) {
        hook_timed_out_ = true;
        Status s = services_.os.SignalGroup(hook_pid_, SIGKILL);
        (void)s;
      }
    });
    return;  // OnHookExited() runs the next.
  }
  CompleteDrain();
}

bool Supervisor::OnHookExited(pid_t pid, int wait_status) {
  if (pid != hook_pid_ || pid <= 0) return false;
  hook_pid_ = -1;
  CancelTimer(&hook_timer_);
  const bool ok = WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
  const HookResult result = hook_timed_out_ ? HookResult::kTimeout
                            : ok            ? HookResult::kSuccess
                                            : HookResult::kFailure;
  ++counters_.hooks[{hook_name_, static_cast<int>(result)}];
  log::Event(ok ? log::Level::kInfo : log::Level::kWarn, "hook_exited", "stop hook finished",
             {{"code", WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1},
              {"signal", WIFSIGNALED(wait_status) ? SignalName(WTERMSIG(wait_status)) : ""}});
  RunNextHook();
  return true;
}

void Supervisor::CompleteDrain() {
  drain_.complete = true;
  CancelTimer(&deadline_timer_);
  CancelTimer(&propagation_timer_);
  const MonoTime now = services_.clock.Now();
  counters_.drain_seconds.Observe(std::chrono::duration<double>(now - drain_.started_at).count());
  if (hold_since_) {
    counters_.prestop_hold_seconds.Observe(
        std::chrono::duration<double>(now - *hold_since_).count());
  }
  log::Event(log::Level::kInfo, "drain_complete", "drain complete",
             {{"trigger", DrainTriggerName(drain_.trigger)},
              {"duration_ms", Millis(now - drain_.started_at)}});
  if (drain_.exit_when_complete) {
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
  CancelTimer(&deadline_timer_);
  CancelTimer(&propagation_timer_);
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

const Pool* Supervisor::FindPool(const std::string& name) const {
  for (const auto& pool : pools_) {
    if (pool->name() == name) return pool.get();
  }
  return nullptr;
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
  if (drain_.started) return {kFailedPrecondition, "the agent is draining: cannot scale", 0};
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
  if (drain_.started) return {kFailedPrecondition, "the agent is draining: cannot restart", 0};
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
