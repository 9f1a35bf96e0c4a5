#include "agent/supervisor/worker.h"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>

#include "agent/base/duration.h"
#include "agent/supervisor/backoff.h"

namespace vigil {
namespace {

using Kind = WorkerAction::Kind;

// After SIGABRT for a missed watchdog, how long before SIGKILL: a core dump takes a moment,
// a wedged process should not get the whole stop timeout.
constexpr Duration kWatchdogKillAfter = std::chrono::seconds(5);

// Where the backoff's step count stops: past any exponent BackoffDelay uses.
constexpr int kMaxBackoffStep = 1000;

WorkerAction Simple(Kind kind) {
  WorkerAction a;
  a.kind = kind;
  return a;
}

}  // namespace

const char* WorkerStateName(WorkerState state) {
  switch (state) {
    case WorkerState::kBackoff:
      return "backoff";
    case WorkerState::kStarting:
      return "starting";
    case WorkerState::kReady:
      return "ready";
    case WorkerState::kStopping:
      return "stopping";
    case WorkerState::kExited:
      return "exited";
  }
  return "?";
}

Worker::Worker(const PoolConfig& config, int slot, Random& random)
    : config_(config), slot_(slot), random_(random), crash_loop_(config.crash_loop) {}

MonoTime Worker::StopDeadline(MonoTime now) const {
  return SaturatingAdd(now, config_.stop_timeout);
}

bool Worker::IsProbeMode() const {
  const ReadinessMode m = config_.readiness.mode;
  return m == ReadinessMode::kExec || m == ReadinessMode::kTcp || m == ReadinessMode::kHttp;
}

void Worker::SetTimer(WorkerActions* out, WorkerTimer timer, MonoTime at) {
  armed_[static_cast<int>(timer)] = at;
  WorkerAction a = Simple(Kind::kSetTimer);
  a.timer = timer;
  a.at = at;
  out->push_back(a);
}

void Worker::CancelTimer(WorkerActions* out, WorkerTimer timer) {
  auto& slot = armed_[static_cast<int>(timer)];
  if (!slot) return;
  slot.reset();
  WorkerAction a = Simple(Kind::kCancelTimer);
  a.timer = timer;
  out->push_back(a);
}

WorkerActions Worker::Start(MonoTime now) {
  WorkerActions out;
  if (state_ != WorkerState::kBackoff && state_ != WorkerState::kExited) return out;
  CancelTimer(&out, WorkerTimer::kBackoff);
  if (crash_verdict_) {
    // Started afresh after a verdict: the runs that made it are history.
    crash_verdict_.reset();
    crash_loop_.Reset();
  }
  since_ = now;
  out.push_back(Simple(Kind::kSpawn));
  return out;
}

WorkerActions Worker::Spawned(MonoTime now) {
  WorkerActions out;
  stopped_idle_ = false;
  Enter(WorkerState::kStarting, now);
  ready_since_.reset();
  was_ready_ = false;
  stable_ = false;
  abort_ = AbortCause::kNone;
  stop_request_ = StopCause::kNone;
  last_signal_ = 0;
  sigkill_sent_ = false;
  straggler_ = false;
  probe_failures_ = 0;
  if (config_.max_lifetime > Duration::zero()) {
    const auto jitter = Duration(static_cast<int64_t>(
        static_cast<double>(config_.max_lifetime_jitter.count()) * random_.Uniform01()));
    SetTimer(&out, WorkerTimer::kLifetime,
             SaturatingAdd(now, SaturatingAdd(config_.max_lifetime, jitter)));
  }
  if (config_.readiness.mode == ReadinessMode::kStarted) {
    BecomeReady(&out, now);
    return out;
  }
  if (config_.boot_timeout > Duration::zero()) {
    SetTimer(&out, WorkerTimer::kBoot, SaturatingAdd(now, config_.boot_timeout));
  }
  if (IsProbeMode()) out.push_back(Simple(Kind::kStartProbing));
  return out;
}

WorkerActions Worker::SpawnFailed(MonoTime now) {
  ExitRecord record;
  record.reason = ExitReason::kSpawnFailed;
  record.before_ready = true;
  record.failure = true;
  ready_since_.reset();
  stable_ = false;
  stop_request_ = StopCause::kNone;
  return Finish(record, now);
}

void Worker::BecomeReady(WorkerActions* out, MonoTime now) {
  Enter(WorkerState::kReady, now);
  ready_since_ = now;
  was_ready_ = true;
  CancelTimer(out, WorkerTimer::kBoot);
  if (config_.watchdog > Duration::zero()) {
    SetTimer(out, WorkerTimer::kWatchdog, SaturatingAdd(now, config_.watchdog));
  }
  out->push_back(Simple(Kind::kReadyChanged));
}

void Worker::NoteReadyTime(MonoTime now) {
  if (state_ == WorkerState::kReady && ready_since_ &&
      now - *ready_since_ >= config_.crash_loop.stability_period) {
    stable_ = true;
  }
}

void Worker::LeaveReady(WorkerActions* out, MonoTime now) {
  // Whether the run was ready long enough to be stable is settled as the stretch ends (no timer:
  // an idle worker costs no wake-up).
  NoteReadyTime(now);
  if (state_ == WorkerState::kReady) out->push_back(Simple(Kind::kReadyChanged));
}

WorkerActions Worker::Notified(const NotifyMessage& m, MonoTime now) {
  WorkerActions out;
  if (m.status) status_text_ = *m.status;
  if (!running()) return out;
  if (m.ready && state_ == WorkerState::kStarting &&
      config_.readiness.mode == ReadinessMode::kNotify) {
    BecomeReady(&out, now);
  }
  if (m.watchdog_ping && config_.watchdog > Duration::zero() &&
      (state_ == WorkerState::kStarting || state_ == WorkerState::kReady)) {
    SetTimer(&out, WorkerTimer::kWatchdog, SaturatingAdd(now, config_.watchdog));
  }
  if (m.extend_timeout_usec) {
    // systemd's "infinity" is 2^64-1: cap at ten years, which converts to nanoseconds safely.
    constexpr uint64_t kMaxUsec = 10ULL * 365 * 24 * 3600 * 1000000;
    const MonoTime until = SaturatingAdd(
        now, std::chrono::microseconds(
                 static_cast<int64_t>(std::min<uint64_t>(*m.extend_timeout_usec, kMaxUsec))));
    // Extends (never shortens) whichever timeout the worker is running against.
    for (WorkerTimer t : {WorkerTimer::kBoot, WorkerTimer::kStop}) {
      auto& armed = armed_[static_cast<int>(t)];
      if (armed && *armed < until) SetTimer(&out, t, until);
    }
  }
  if (m.stopping && (state_ == WorkerState::kStarting || state_ == WorkerState::kReady)) {
    LeaveReady(&out, now);
    Enter(WorkerState::kStopping, now);
    stop_request_ = StopCause::kSelf;
    CancelTimer(&out, WorkerTimer::kBoot);
    CancelTimer(&out, WorkerTimer::kWatchdog);
    if (IsProbeMode()) out.push_back(Simple(Kind::kStopProbing));
    SetTimer(&out, WorkerTimer::kStop, StopDeadline(now));
  }
  if (m.watchdog_trigger && running() && abort_ == AbortCause::kNone) {
    Abort(&out, AbortCause::kWatchdog, SIGABRT, std::min(config_.stop_timeout, kWatchdogKillAfter),
          now);
  }
  return out;
}

WorkerActions Worker::ProbeResult(bool success, MonoTime now) {
  WorkerActions out;
  if (success) {
    probe_failures_ = 0;
    if (state_ == WorkerState::kStarting) BecomeReady(&out, now);
    return out;
  }
  ++probe_failures_;
  if (state_ == WorkerState::kReady && probe_failures_ >= config_.readiness.failure_threshold) {
    // Ready before, failing now: out of rotation until a probe passes again. The boot timeout
    // applies to the first boot only.
    LeaveReady(&out, now);
    CancelTimer(&out, WorkerTimer::kWatchdog);
    Enter(WorkerState::kStarting, now);
  }
  return out;
}

void Worker::Abort(WorkerActions* out, AbortCause cause, int signo, Duration kill_after,
                   MonoTime now) {
  if (sigkill_sent_) return;  // Already on its way out.
  abort_ = cause;
  LeaveReady(out, now);
  Enter(WorkerState::kStopping, now);
  CancelTimer(out, WorkerTimer::kBoot);
  CancelTimer(out, WorkerTimer::kWatchdog);
  if (IsProbeMode()) out->push_back(Simple(Kind::kStopProbing));
  WorkerAction sig = Simple(Kind::kSignal);
  sig.signo = signo;
  last_signal_ = signo;
  out->push_back(sig);
  // Never later than a kill already armed (a drain's deadline).
  const auto& armed = armed_[static_cast<int>(WorkerTimer::kStop)];
  const MonoTime kill_at = SaturatingAdd(now, kill_after);
  if (!armed || kill_at < *armed) SetTimer(out, WorkerTimer::kStop, kill_at);
}

WorkerActions Worker::TimerFired(WorkerTimer timer, MonoTime now) {
  WorkerActions out;
  armed_[static_cast<int>(timer)].reset();
  switch (timer) {
    case WorkerTimer::kBackoff:
      if (state_ == WorkerState::kBackoff) return Start(now);
      break;
    case WorkerTimer::kBoot:
      if (state_ == WorkerState::kStarting && !was_ready_) {
        Abort(&out, AbortCause::kBootTimeout, config_.stop_signal, config_.stop_timeout, now);
      }
      break;
    case WorkerTimer::kWatchdog:
      if ((state_ == WorkerState::kStarting || state_ == WorkerState::kReady) &&
          abort_ == AbortCause::kNone) {
        Abort(&out, AbortCause::kWatchdog, SIGABRT,
              std::min(config_.stop_timeout, kWatchdogKillAfter), now);
      }
      break;
    case WorkerTimer::kStop:
      if (state_ == WorkerState::kStopping) {
        WorkerAction kill = Simple(Kind::kSignal);
        kill.signo = SIGKILL;
        out.push_back(kill);
        last_signal_ = SIGKILL;
        sigkill_sent_ = true;
      }
      break;
    case WorkerTimer::kLifetime:
      if (running()) out.push_back(Simple(Kind::kRecycleDue));
      break;
  }
  return out;
}

WorkerActions Worker::Stop(StopCause cause, int signo, MonoTime kill_at, MonoTime now) {
  WorkerActions out;
  if (state_ == WorkerState::kBackoff) {
    // Not running: nothing to recycle or restart; the backoff timer will start it anew.
    if (cause == StopCause::kRecycle || cause == StopCause::kRestart) return out;
    CancelTimer(&out, WorkerTimer::kBackoff);
    Enter(WorkerState::kExited, now);
    stop_request_ = cause;
    stopped_idle_ = true;
    return out;
  }
  if (!running()) return out;
  // A drain or an admin stop outranks a recycle or the worker's own STOPPING=1: the slot must
  // then stay down.
  if (cause == StopCause::kDrain || cause == StopCause::kAdmin ||
      stop_request_ == StopCause::kNone) {
    stop_request_ = cause;
  }
  if (state_ != WorkerState::kStopping) {
    LeaveReady(&out, now);
    Enter(WorkerState::kStopping, now);
    CancelTimer(&out, WorkerTimer::kBoot);
    CancelTimer(&out, WorkerTimer::kWatchdog);
    if (IsProbeMode()) out.push_back(Simple(Kind::kStopProbing));
  }
  if (signo != last_signal_ && !sigkill_sent_) {
    WorkerAction sig = Simple(Kind::kSignal);
    sig.signo = signo;
    last_signal_ = signo;
    out.push_back(sig);
  }
  auto& armed = armed_[static_cast<int>(WorkerTimer::kStop)];
  if (!sigkill_sent_ && (!armed || kill_at < *armed)) SetTimer(&out, WorkerTimer::kStop, kill_at);
  return out;
}

WorkerActions Worker::StopSignalSent(Duration late) {
  WorkerActions out;
  const auto& armed = armed_[static_cast<int>(WorkerTimer::kStop)];
  if (state_ != WorkerState::kStopping || sigkill_sent_ || !armed) return out;
  SetTimer(&out, WorkerTimer::kStop, SaturatingAdd(*armed, std::max(late, Duration::zero())));
  return out;
}

WorkerActions Worker::StopAtDeadline(int signo, MonoTime kill_at, MonoTime now) {
  // Only one that had its stop signal and was still at it: a worker whose turn had not come
  // yet (pools stop in reverse order) gets the fast signal as its first, through no fault of
  // its own.
  if (running() && state_ == WorkerState::kStopping) straggler_ = true;
  return Stop(StopCause::kDrain, signo, kill_at, now);
}

ExitRecord Worker::Classify(int wait_status, bool oom) const {
  ExitRecord r;
  r.before_ready = !was_ready_;
  const bool requested = stop_request_ != StopCause::kNone;
  if (WIFEXITED(wait_status)) {
    r.code = WEXITSTATUS(wait_status);
  } else if (WIFSIGNALED(wait_status)) {
    r.signal = WTERMSIG(wait_status);
  }
  const bool success_code =
      r.code >= 0 && config_.success_exit_codes.test(static_cast<size_t>(r.code));
  // Dying of the signal Vigil sent to ask for a stop is a graceful end (systemd treats SIGTERM
  // so), but dying of the SIGKILL of a deadline is not.
  const bool died_as_asked =
      requested && r.signal != 0 && r.signal == last_signal_ && r.signal != SIGKILL;

  if (abort_ == AbortCause::kWatchdog) {
    r.reason = ExitReason::kWatchdog;
  } else if (abort_ == AbortCause::kBootTimeout) {
    r.reason = ExitReason::kBootTimeout;
  } else if (sigkill_sent_ && r.signal == SIGKILL) {
    r.reason = ExitReason::kStopTimeoutKilled;
  } else if (r.signal == SIGKILL && oom) {
    r.reason = ExitReason::kOomKilled;
  } else if (stop_request_ == StopCause::kRecycle) {
    r.reason = ExitReason::kRecycled;
  } else if (stop_request_ == StopCause::kAdmin || stop_request_ == StopCause::kRestart) {
    r.reason = ExitReason::kAdmin;
  } else if (!was_ready_ && !requested && !success_code) {
    r.reason = ExitReason::kBootFailure;
  } else if (WIFSIGNALED(wait_status) && WCOREDUMP(wait_status)) {
    r.reason = ExitReason::kCoreDump;
  } else if (r.signal != 0) {
    r.reason = ExitReason::kSignaled;
  } else {
    r.reason = ExitReason::kExited;
  }
  // Signalled at a deadline (the drain's, or SIGKILLed at its stop timeout): it ignored its stop
  // signal for the time it had, whatever it died of then. (A watchdog or boot-timeout kill is a
  // failure of its own kind, not a straggler.)
  r.straggler = straggler_ || r.reason == ExitReason::kStopTimeoutKilled;

  r.graceful = abort_ == AbortCause::kNone && !sigkill_sent_ && !straggler_ &&
               (success_code || died_as_asked);
  const bool stopped_by_us =
      stop_request_ == StopCause::kDrain || stop_request_ == StopCause::kAdmin ||
      stop_request_ == StopCause::kRecycle || stop_request_ == StopCause::kRestart;
  r.failure = !r.graceful && !(stopped_by_us && abort_ == AbortCause::kNone);
  return r;
}

WorkerActions Worker::Exited(int wait_status, bool oom, MonoTime now) {
  if (!running()) return {};
  return Finish(Classify(wait_status, oom), now);
}

WorkerActions Worker::Finish(ExitRecord record, MonoTime now) {
  WorkerActions out;
  const bool was_running = running();
  LeaveReady(&out, now);
  for (WorkerTimer t : {WorkerTimer::kBoot, WorkerTimer::kWatchdog, WorkerTimer::kStop,
                        WorkerTimer::kLifetime, WorkerTimer::kBackoff}) {
    CancelTimer(&out, t);
  }
  if (was_running && IsProbeMode()) out.push_back(Simple(Kind::kStopProbing));
  last_exit_ = record;
  WorkerAction exited = Simple(Kind::kExited);
  exited.exit = record;
  out.push_back(exited);

  // Whether the slot comes back.
  const StopCause request = stop_request_;
  if (request == StopCause::kDrain || request == StopCause::kAdmin) {
    Enter(WorkerState::kExited, now);
    return out;
  }
  if ((request == StopCause::kRecycle || request == StopCause::kRestart) && !record.failure) {
    ++restarts_;
    Enter(WorkerState::kBackoff, now);
    WorkerActions start = Start(now);
    out.insert(out.end(), start.begin(), start.end());
    return out;
  }
  const bool prevented =
      record.code >= 0 && config_.no_restart_exit_codes.test(static_cast<size_t>(record.code));
  if (prevented || config_.restart == RestartPolicy::kNever ||
      (config_.restart == RestartPolicy::kOnFailure && !record.failure)) {
    Enter(WorkerState::kExited, now);
    return out;
  }

  // Restarted by policy: judged for the crash-loop verdict (crash_loop.h), then delayed. A run
  // too short to be stable is part of a loop whatever it ended with: under restart: always, a
  // worker exiting 0 right after its start is restarted with a growing backoff and can reach the
  // verdict too, as a failing one does.
  if (std::optional<CrashLoopVerdict> verdict =
          crash_loop_.RecordRun(stable_, record.failure, now)) {
    crash_verdict_ = verdict;
    Enter(WorkerState::kExited, now);
    out.push_back(Simple(Kind::kCrashLoop));
    return out;
  }
  Duration delay = config_.backoff.initial;
  if (record.failure || !stable_) {
    // Stayed ready for reset_after: this one starts a new series.
    if (ready_since_ && now - *ready_since_ >= config_.backoff.reset_after) backoff_step_ = 0;
    // Bounded: the delay stops growing long before (BackoffDelay caps the exponent at 64).
    backoff_step_ = std::min(backoff_step_ + 1, kMaxBackoffStep);
    delay = BackoffDelay(config_.backoff, backoff_step_, random_.Uniform01());
  } else {
    backoff_step_ = 0;  // A stable run that ended in success ends the series.
  }
  ++restarts_;
  Enter(WorkerState::kBackoff, now);
  // Even "at once" goes through the loop (a zero-delay timer; after a reaped exit, the pool
  // posts it to the end of the loop's turn instead): a worker that can never be spawned must
  // not recurse spawn -> fail -> restart until the stack runs out.
  SetTimer(&out, WorkerTimer::kBackoff, SaturatingAdd(now, std::max(delay, Duration::zero())));
  return out;
}

}  // namespace vigil
