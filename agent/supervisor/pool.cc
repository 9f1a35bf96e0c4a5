#include "agent/supervisor/pool.h"

#include <signal.h>

#include <algorithm>

#include "agent/base/duration.h"
#include "agent/log/log.h"
#include "agent/signal/exit_label.h"
#include "agent/signal/signals.h"

namespace vigil {

Pool::Pool(const PoolConfig& config, PoolServices services, PoolObserver& observer)
    : config_(config),
      services_(std::move(services)),
      observer_(observer),
      prober_(config_, services_.os, services_.scheduler, services_.watcher, services_.clock,
              services_.child_environment(),
              [this](int slot, bool success) {
                Execute(slot, worker_at(slot).ProbeResult(success, Now()));
                CheckIdle();
              }),
      relay_(services_.watcher),
      stop_pump_(services_.scheduler),
      start_pump_(services_.scheduler),
      desired_(config.replicas),
      posted_(services_.scheduler) {
  for (int slot = 0; slot < config_.replicas; ++slot)
    AddSlot();
}

int Pool::AddSlot() {
  const int slot = slot_count();
  Slot& s = slots_.emplace_back();
  s.worker = std::make_unique<Worker>(config_, slot, services_.random);
  for (Timer& timer : s.timers)
    timer = Timer(services_.scheduler);
  ++state_counts_[static_cast<int>(s.seen_state)];
  return slot;
}

Pool::~Pool() {
  // Timers and posted work cancel themselves; the sockets are the transport's to remove.
  for (Slot& s : slots_) {
    if (s.run.notify.fd) {
      services_.watcher.Unwatch(s.run.notify.fd.get());
      services_.notify.Close(s.run.notify);
    }
  }
  CloseSpare();
}

MonoTime Pool::StopDeadline() const {
  return SaturatingAdd(Now(), config_.stop_timeout);
}

void Pool::StopProbing() {
  probing_stopped_ = true;
  for (int slot = 0; slot < slot_count(); ++slot)
    prober_.Stop(slot);
}

void Pool::Start() {
  log::Event(log::Level::kInfo, "pool_starting", "starting pool",
             {{"pool", config_.name}, {"replicas", config_.replicas}});
  for (int slot = 0; slot < slot_count(); ++slot)
    QueueStart(slot);
  PumpStartQueue();
  RecomputeReadiness();
  CheckIdle();
}

void Pool::SendStopSignal(int slot, int signo) {
  SignalRun(slot, signo);
  // Every signal the worker decides on ends it (stop, fast, watchdog). A stopped process keeps
  // it pending until continued, so, like systemd, continue the group right after; SIGKILL needs
  // no help.
  if (signo != SIGKILL && signo != SIGCONT) SignalRun(slot, SIGCONT);
}

void Pool::ForwardSignal(int signo) {
  const int target = config_.forward_rewrite.Apply(signo);
  if (target == 0) return;
  for (int slot = 0; slot < slot_count(); ++slot) {
    if (worker_at(slot).running()) SignalRun(slot, target);
  }
}

// Keeps the per-state counts (CountIn) and logs: every state change is one log line. Starting,
// ready, exited and backoff have their own (worker_started, worker_ready, worker_exited,
// worker_restart_scheduled); these are the rest.
void Pool::TrackState(int slot, const WorkerActions& actions) {
  // The worker has already moved when its actions arrive: compare with the state last seen.
  Slot& s = slots_[static_cast<size_t>(slot)];
  const WorkerState after = s.worker->state();
  const WorkerState before = s.seen_state;
  s.seen_state = after;
  --state_counts_[static_cast<int>(before)];
  ++state_counts_[static_cast<int>(after)];
  if (after == before) return;
  if (after == WorkerState::kStopping) {
    int signo = 0;
    for (const WorkerAction& a : actions) {
      if (a.kind == WorkerAction::Kind::kSignal) signo = a.signo;
    }
    log::Event(log::Level::kInfo, "worker_stopping", "worker stopping",
               {{"pool", config_.name},
                {"slot", slot},
                {"pid", s.run.pid},
                {"signal", signo > 0 ? SignalName(signo) : "none (it said STOPPING=1)"}});
  } else if (before == WorkerState::kReady && after == WorkerState::kStarting) {
    log::Event(log::Level::kWarn, "worker_unready", "worker failed its readiness probe",
               {{"pool", config_.name}, {"slot", slot}, {"pid", s.run.pid}});
  }
}

void Pool::Execute(int slot, const WorkerActions& actions, bool defer_signals) {
  // When the worker decided (it was just called with the time): delays are logged from here,
  // not from after the actions, which may take a while (logging, the control plane's events).
  const MonoTime decided = Now();
  constexpr pid_t kNotAnnounced = -2;
  pid_t announced_pid = kNotAnnounced;
  WorkerState announced_state = worker_at(slot).state();
  bool deferred = false;  // a stop signal queued: its SIGKILL waits for it
  TrackState(slot, actions);
  for (const WorkerAction& action : actions) {
    switch (action.kind) {
      case WorkerAction::Kind::kSpawn:
        Spawn(slot);
        break;
      case WorkerAction::Kind::kSignal:
        if (defer_signals) {
          stop_queue_.push_back({slot, run_of(slot).pid, action.signo, decided});
          deferred = true;
        } else {
          SendStopSignal(slot, action.signo);
        }
        break;
      case WorkerAction::Kind::kSetTimer:
        // The SIGKILL of a deferred stop signal is armed when the signal goes out
        // (PumpStopQueue): its stop timeout runs from the signal.
        if (!(deferred && action.timer == WorkerTimer::kStop)) {
          ArmTimer(slot, action.timer, action.at, decided);
        }
        break;
      case WorkerAction::Kind::kCancelTimer:
        slots_[static_cast<size_t>(slot)].timers[static_cast<size_t>(action.timer)].Cancel();
        break;
      case WorkerAction::Kind::kStartProbing:
        if (!probing_stopped_) prober_.Start(slot, run_of(slot).pid);
        break;
      case WorkerAction::Kind::kStopProbing:
        prober_.Stop(slot);
        break;
      case WorkerAction::Kind::kExited:
        OnExited(slot, action.exit);
        break;
      case WorkerAction::Kind::kReadyChanged:
        announced_pid = OnReadinessChanged(slot);
        announced_state = worker_at(slot).state();
        break;
      case WorkerAction::Kind::kRecycleDue:
        rolling_.Recycle(slot);
        PumpRollingQueue();
        break;
      case WorkerAction::Kind::kCrashLoop:
        OnCrashLoop(slot);
        break;
    }
  }
  AnnounceIfMoved(slot, actions, announced_pid, announced_state);
  LogRestartScheduled(slot, actions, decided);
}

void Pool::ArmTimer(int slot, WorkerTimer timer, MonoTime at, MonoTime now) {
  auto fire = [this, slot, timer] {
    if (timer == WorkerTimer::kBoot || timer == WorkerTimer::kWatchdog) {
      // The worker may have answered in time while the loop was behind: what it queued is
      // read first. A WATCHDOG=1 among it re-arms this timer; a READY=1 ends the boot.
      ReadQueued(slot);
      if (slots_[static_cast<size_t>(slot)].timers[static_cast<size_t>(timer)].armed()) {
        CheckIdle();
        return;
      }
    }
    Execute(slot, worker_at(slot).TimerFired(timer, Now()));
    CheckIdle();
  };
  Timer& handle = slots_[static_cast<size_t>(slot)].timers[static_cast<size_t>(timer)];
  // A restart due at once after a reaped exit starts in this turn of the loop, once the exit
  // has been handled (posted), not a timerfd round trip later: a crash's replacement runs as
  // soon as the C fork+exec floor allows (docs/performance.md). Only after a reaped exit, at
  // most one per exit: a spawn that fails still goes through the loop's timer, so a command
  // that can never be spawned never spins inside one turn (each attempt starts from the loop).
  // A later deadline for a timer already armed (a watchdog at each ping; a timeout extended)
  // keeps the firing already scheduled, which is the same: no timer work per ping.
  if (timer == WorkerTimer::kBackoff && at <= now && reaping_ == slot) {
    handle.ArmNow(std::move(fire));
  } else if (!handle.Postpone(at)) {
    handle.ArmAt(at, std::move(fire));
  }
}

void Pool::OnExited(int slot, const ExitRecord& r) {
  ++counters_.exits_by_reason[static_cast<int>(r.reason)];
  ++counters_.exits[ExitKey{r.reason, r.signal > 0 ? -1 : r.code, r.signal}];
  if (r.straggler) {
    killed_at_deadline_.insert(slot);
  } else {
    killed_at_deadline_.erase(slot);
  }
  const Worker& worker = worker_at(slot);
  const log::Level level = r.graceful ? log::Level::kInfo : log::Level::kWarn;
  const ExitDetail detail = DetailOfExit(r.code, r.signal);
  log::Event(level, "worker_exited", "worker exited",
             {{"pool", config_.name},
              {"slot", slot},
              {"pid", run_of(slot).last_pid},
              {"reason", ExitReasonName(r.reason)},
              detail.by_signal ? log::Field("signal", detail.signal_name)
                               : log::Field("code", detail.code),
              {"before_ready", r.before_ready},
              {"restarts", worker.restarts()}});
  observer_.OnWorkerExited(*this, slot, r);
  Slot& s = slots_[static_cast<size_t>(slot)];
  if (s.revive && s.worker->state() == WorkerState::kExited) {
    s.revive = false;
    Execute(slot, s.worker->Start(Now()));
  }
  PumpRollingQueue();
}

pid_t Pool::OnReadinessChanged(int slot) {
  Run& run = run_of(slot);
  if (worker_at(slot).ready()) {
    if (!run.boot_observed && run.pid > 0) {
      run.boot_observed = true;
      counters_.boot_seconds.Observe(std::chrono::duration<double>(Now() - run.started_at).count());
    }
    log::Event(log::Level::kInfo, "worker_ready", "worker ready",
               {{"pool", config_.name}, {"slot", slot}, {"pid", run.pid}});
  }
  // The worker's own change goes out before the pool's and the agent's readiness that follow
  // from it, so a Watch stream shows cause before effect.
  CountReady();  // The pool's counts travel with the worker's event.
  observer_.OnWorkerChanged(*this, slot);
  const pid_t announced = run_of(slot).pid;
  RecomputeReadiness();
  PumpRollingQueue();
  return announced;
}

void Pool::OnCrashLoop(int slot) {
  if (failed_) return;
  failed_ = true;
  const Worker& worker = worker_at(slot);
  verdict_ = worker.crash_verdict().value_or(CrashLoopVerdict{});
  const auto& last = worker.last_exit();
  log::Event(log::Level::kError, "crash_loop", "pool failed: crash loop",
             {{"pool", config_.name},
              {"slot", slot},
              {"rule", CrashLoopRuleName(verdict_->rule)},
              {"count", verdict_->count},
              {"max_restarts", config_.crash_loop.max_restarts},
              {"period", FormatDuration(config_.crash_loop.period)},
              {"stability_period", FormatDuration(config_.crash_loop.stability_period)},
              {"last_exit", last ? ExitLabel(*last) : "none"}});
  RecomputeReadiness();
  // The agent stops the pool (or all of them) on this: not from inside this worker's actions.
  posted_.Post([this] { observer_.OnPoolFailed(*this); });
}

// Once more if anything moved since (a spawn's pid, an exit after the readiness change). Timers
// alone (a WATCHDOG=1 re-arming its deadline, EXTEND_TIMEOUT_USEC) change nothing the control
// plane shows: no event, or a thousand heartbeats a second would each cost one.
void Pool::AnnounceIfMoved(int slot, const WorkerActions& actions, pid_t announced_pid,
                           WorkerState announced_state) {
  constexpr pid_t kNotAnnounced = -2;
  const bool only_timers = std::all_of(actions.begin(), actions.end(), [](const WorkerAction& a) {
    return a.kind == WorkerAction::Kind::kSetTimer || a.kind == WorkerAction::Kind::kCancelTimer;
  });
  if (!actions.empty() && !only_timers &&
      (announced_pid == kNotAnnounced || announced_pid != run_of(slot).pid ||
       announced_state != worker_at(slot).state())) {
    observer_.OnWorkerChanged(*this, slot);
  }
}

void Pool::LogRestartScheduled(int slot, const WorkerActions& actions, MonoTime decided) {
  if (worker_at(slot).state() != WorkerState::kBackoff || actions.empty()) return;
  const WorkerAction& last = actions.back();
  if (last.kind != WorkerAction::Kind::kSetTimer || last.timer != WorkerTimer::kBackoff) return;
  log::Event(log::Level::kInfo, "worker_restart_scheduled", "worker restart scheduled",
             {{"pool", config_.name},
              {"slot", slot},
              {"delay_ms",
               std::chrono::duration_cast<std::chrono::milliseconds>(last.at - decided).count()}});
}

bool Pool::ready() const {
  if (failed_) return false;
  const int needed = std::min(config_.min_ready, desired_);
  return ready_count_ >= needed;
}

int Pool::CountIn(WorkerState state) const {
  // O(1): every state change of a worker passes through Execute (TrackState), which keeps the
  // counts; snapshots of a 1,000-worker pool are built for each of its events.
  return state_counts_[static_cast<size_t>(state)];
}

int Pool::running_count() const {
  return CountIn(WorkerState::kStarting) + CountIn(WorkerState::kReady) +
         CountIn(WorkerState::kStopping);
}

bool Pool::idle() const {
  return CountIn(WorkerState::kExited) == slot_count() && pending_starts_ == 0;
}

bool Pool::all_ended_gracefully() const {
  return std::all_of(slots_.begin(), slots_.end(),
                     [](const Slot& s) { return s.worker->ended_gracefully(); });
}

void Pool::CountReady() {
  // O(1), from the per-state counts: a scan of the workers here made every worker event O(n),
  // and starting or draining a pool of n workers O(n^2) (minutes at the config's 100000).
  ready_count_ = CountIn(WorkerState::kReady);
}

void Pool::RecomputeReadiness() {
  CountReady();
  const bool now_ready = ready();
  if (now_ready != was_ready_) {
    was_ready_ = now_ready;
    log::Event(log::Level::kInfo, now_ready ? "pool_ready" : "pool_unready",
               now_ready ? "pool ready" : "pool not ready",
               {{"pool", config_.name}, {"ready", ready_count_}, {"desired", config_.replicas}});
    observer_.OnPoolReadinessChanged(*this);
  }
}

void Pool::PumpRollingQueue() {
  // Settled: back (ready) or not coming back; a slot dropped by a scale-down is settled too.
  auto settled = [this](int slot) {
    if (slot >= slot_count()) return true;
    const Worker& w = worker_at(slot);
    return w.ready() || w.state() == WorkerState::kExited;
  };
  auto replaceable = [this](int slot) { return slot < slot_count() && worker_at(slot).running(); };
  for (const RollingQueue::Entry& e : rolling_.NextBatch(settled, replaceable)) {
    if (e.cause == StopCause::kRecycle) {
      log::Event(log::Level::kInfo, "worker_recycling", "recycling worker at max lifetime",
                 {{"pool", config_.name}, {"slot", e.slot}});
    }
    Worker& w = worker_at(e.slot);
    Execute(e.slot, w.Stop(e.cause, config_.stop_signal, w.StopDeadline(Now()), Now()));
  }
}

void Pool::Scale(int replicas) {
  const int before = desired_;
  desired_ = replicas;
  log::Event(log::Level::kInfo, "pool_scaled", "pool scaled",
             {{"pool", config_.name}, {"from", before}, {"to", replicas}});
  for (int slot = 0; slot < replicas; ++slot) {
    if (slot >= slot_count()) AddSlot();
    Slot& s = slots_[static_cast<size_t>(slot)];
    if (s.worker->state() == WorkerState::kExited && !s.worker->crash_looped()) {
      QueueStart(slot);
    } else if (s.worker->state() == WorkerState::kStopping) {
      s.revive = true;  // Still stopping from an earlier scale-down: back once it exits.
    }
  }
  for (int slot = slot_count() - 1; slot >= replicas; --slot) {
    Slot& s = slots_[static_cast<size_t>(slot)];
    s.revive = false;
    CancelStart(slot);
    Execute(slot, s.worker->Stop(StopCause::kAdmin, config_.stop_signal, StopDeadline(), Now()));
  }
  if (!start_pump_.armed()) PumpStartQueue();
  TrimRetiredSlots();
  RecomputeReadiness();
  CheckIdle();
}

void Pool::TrimRetiredSlots() {
  // Slots above the desired count go once they have exited (timers and sockets are closed by
  // then), from the top, so slot numbers stay 0..n-1.
  bool trimmed = false;
  while (slot_count() > desired_ && slots_.back().worker->state() == WorkerState::kExited &&
         slots_.back().run.pid < 0) {
    --state_counts_[static_cast<size_t>(slots_.back().seen_state)];
    killed_at_deadline_.erase(slot_count() - 1);
    slots_.pop_back();
    trimmed = true;
  }
  if (trimmed) observer_.OnPoolChanged(*this);
}

void Pool::RollingRestart(int max_unavailable) {
  std::vector<int> running;
  for (int slot = 0; slot < std::min(desired_, slot_count()); ++slot) {
    if (worker_at(slot).running()) running.push_back(slot);
  }
  rolling_.Restart(running, max_unavailable);
  log::Event(log::Level::kInfo, "pool_restarting", "rolling restart",
             {{"pool", config_.name},
              {"workers", static_cast<int>(running.size())},
              {"max_unavailable", std::max(1, max_unavailable)}});
  PumpRollingQueue();
}

int Pool::SignalWorkers(int slot, int signo) {
  int count = 0;
  for (int s = 0; s < slot_count(); ++s) {
    if ((slot >= 0 && s != slot) || !worker_at(s).running() || run_of(s).pid <= 0) continue;
    SignalRun(s, signo);
    ++count;
  }
  return count;
}

void Pool::CheckIdle() {
  TrimRetiredSlots();
  const bool now_idle = idle();
  if (now_idle && !was_idle_) {
    was_idle_ = true;
    // Posted: the agent may finish, or stop the next pool, on it.
    posted_.Post([this] { observer_.OnPoolIdle(*this); });
  } else if (!now_idle) {
    was_idle_ = false;
  }
}

}  // namespace vigil
