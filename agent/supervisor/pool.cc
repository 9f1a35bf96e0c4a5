#include "agent/supervisor/pool.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "agent/base/duration.h"
#include "agent/log/log.h"
#include "agent/notify/notify_message.h"
#include "agent/signal/signals.h"

namespace vigil {
namespace {

// Datagrams read from one socket per turn of the loop, and at most at a worker's exit (in
// batches): more than the kernel queues on a socket (net.unix.max_dgram_qlen, 512 by default).
constexpr size_t kNotifyBatch = 64;
constexpr int kNotifyBatchesAtExit = 64;

bool ParseId(const std::string& text, unsigned* out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return !text.empty() && ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

// Resolves the pool's user and group into the spawn request. Names were checked at load time;
// a name that disappeared since is reported as a spawn failure.
Status ResolveCredentials(const PoolConfig& config, const UserDb& users, SpawnRequest* request) {
  std::string user_name;  // the passwd entry's, for the supplementary groups
  if (!config.user.empty()) {
    unsigned id;
    if (ParseId(config.user, &id)) {
      request->uid = id;
      StatusOr<std::optional<UserEntry>> entry = users.FindUserById(id);
      if (!entry.ok()) return entry.status();
      if (*entry) {
        request->gid = (*entry)->gid;
        user_name = (*entry)->name;
      }
    } else {
      StatusOr<UserEntry> entry = users.FindUser(config.user);
      if (!entry.ok()) return entry.status();
      request->uid = entry->uid;
      request->gid = entry->gid;
      user_name = entry->name;
    }
  }
  if (!config.group.empty()) {
    unsigned id;
    if (ParseId(config.group, &id)) {
      request->gid = id;
    } else {
      StatusOr<GroupEntry> entry = users.FindGroup(config.group);
      if (!entry.ok()) return entry.status();
      request->gid = entry->gid;
    }
  }
  request->groups.clear();
  if (!user_name.empty() && request->gid != static_cast<gid_t>(-1)) {
    StatusOr<std::vector<gid_t>> groups = users.GroupsOf(user_name, request->gid);
    if (!groups.ok()) return groups.status();
    request->groups = std::move(*groups);
  }
  return Status();
}

Pool::Pool(const PoolConfig& config, PoolServices services, PoolObserver& observer)
    : config_(config),
      services_(std::move(services)),
      observer_(observer),
      prober_(config_, services_.os, services_.scheduler, services_.watcher, services_.clock,
              services_.child_environment(),
              [this](int slot, bool success) {
                Execute(slot, workers_[slot]->ProbeResult(success, Now()));
                CheckIdle();
              }),
      relay_(services_.watcher),
      desired_(config.replicas) {
  for (int slot = 0; slot < config_.replicas; ++slot)
    AddSlot();
}

int Pool::AddSlot() {
  const int slot = static_cast<int>(workers_.size());
  workers_.push_back(std::make_unique<Worker>(config_, slot, services_.random));
  runs_.emplace_back();
  seen_state_.push_back(WorkerState::kExited);
  ++state_counts_[static_cast<int>(WorkerState::kExited)];
  timers_.emplace_back(kWorkerTimerCount, kNoTimer);
  revive_.push_back(false);
  return slot;
}

Pool::~Pool() {
  for (size_t slot = 0; slot < runs_.size(); ++slot) {
    for (TimerId id : timers_[slot]) {
      if (id != kNoTimer) services_.scheduler.Cancel(id);
    }
    if (runs_[slot].notify.fd) {
      services_.watcher.Unwatch(runs_[slot].notify.fd.get());
      services_.notify.Close(runs_[slot].notify);
    }
  }
}

void Pool::Start() {
  log::Event(log::Level::kInfo, "pool_starting", "starting pool",
             {{"pool", config_.name}, {"replicas", config_.replicas}});
  for (size_t slot = 0; slot < workers_.size(); ++slot) {
    Execute(static_cast<int>(slot), workers_[slot]->Start(Now()));
  }
  RecomputeReadiness();
  CheckIdle();
}

void Pool::StopAll(StopCause cause, bool fast, MonoTime kill_at, bool at_deadline) {
  const int signo = fast ? config_.fast_stop_signal : config_.stop_signal;
  recycle_queue_.clear();
  restart_queue_.clear();
  restart_batch_.clear();
  std::fill(revive_.begin(), revive_.end(), false);
  for (size_t slot = 0; slot < workers_.size(); ++slot) {
    Worker& w = *workers_[slot];
    Execute(static_cast<int>(slot), at_deadline ? w.StopAtDeadline(signo, kill_at, Now())
                                                : w.Stop(cause, signo, kill_at, Now()));
  }
  CheckIdle();
}

void Pool::ForwardSignal(int signo) {
  const int target = config_.forward_rewrite.Apply(signo);
  if (target == 0) return;
  for (size_t slot = 0; slot < workers_.size(); ++slot) {
    if (workers_[slot]->running()) SignalRun(static_cast<int>(slot), target);
  }
}

// Keeps the per-state counts (CountIn) and logs: every state change is one log line. Starting,
// ready, exited and backoff have their own (worker_started, worker_ready, worker_exited,
// worker_restart_scheduled); these are the rest.
void Pool::LogStateChange(int slot, const WorkerActions& actions) {
  // The worker has already moved when its actions arrive: compare with the state last seen.
  const WorkerState after = workers_[slot]->state();
  const WorkerState before = seen_state_[slot];
  seen_state_[slot] = after;
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
                {"pid", runs_[slot].pid},
                {"signal", signo > 0 ? SignalName(signo) : "none (it said STOPPING=1)"}});
  } else if (before == WorkerState::kReady && after == WorkerState::kStarting) {
    log::Event(log::Level::kWarn, "worker_unready", "worker failed its readiness probe",
               {{"pool", config_.name}, {"slot", slot}, {"pid", runs_[slot].pid}});
  }
}

void Pool::Execute(int slot, const WorkerActions& actions) {
  Worker& worker = *workers_[slot];
  // When the worker decided (it was just called with the time): delays are logged from here,
  // not from after the actions, which may take a while (logging, the control plane's events).
  const MonoTime decided = Now();
  constexpr pid_t kNotAnnounced = -2;
  pid_t announced_pid = kNotAnnounced;
  WorkerState announced_state = worker.state();
  LogStateChange(slot, actions);
  for (const WorkerAction& action : actions) {
    switch (action.kind) {
      case WorkerAction::Kind::kSpawn:
        Spawn(slot);
        break;
      case WorkerAction::Kind::kSignal:
        SignalRun(slot, action.signo);
        // Every signal the worker decides on ends it (stop, fast, watchdog). A stopped process
        // keeps it pending until continued, so, like systemd, continue the group right after;
        // SIGKILL needs no help.
        if (action.signo != SIGKILL && action.signo != SIGCONT) SignalRun(slot, SIGCONT);
        break;
      case WorkerAction::Kind::kSetTimer: {
        TimerId& id = timers_[slot][static_cast<int>(action.timer)];
        if (id != kNoTimer) services_.scheduler.Cancel(id);
        const WorkerTimer timer = action.timer;
        id = services_.scheduler.RunAt(action.at, [this, slot, timer] {
          timers_[slot][static_cast<int>(timer)] = kNoTimer;
          Execute(slot, workers_[slot]->TimerFired(timer, Now()));
          CheckIdle();
        });
        break;
      }
      case WorkerAction::Kind::kCancelTimer: {
        TimerId& id = timers_[slot][static_cast<int>(action.timer)];
        if (id != kNoTimer) services_.scheduler.Cancel(id);
        id = kNoTimer;
        break;
      }
      case WorkerAction::Kind::kStartProbing:
        prober_.Start(slot, runs_[slot].pid);
        break;
      case WorkerAction::Kind::kStopProbing:
        prober_.Stop(slot);
        break;
      case WorkerAction::Kind::kExited: {
        const ExitRecord& r = action.exit;
        ++counters_.exits_by_reason[static_cast<int>(r.reason)];
        ++counters_.exits[ExitKey{r.reason, r.signal > 0 ? -1 : r.code, r.signal}];
        const log::Level level = r.graceful ? log::Level::kInfo : log::Level::kWarn;
        const bool before_ready = r.before_ready;
        if (r.signal > 0) {
          log::Event(level, "worker_exited", "worker exited",
                     {{"pool", config_.name},
                      {"slot", slot},
                      {"pid", runs_[slot].last_pid},
                      {"reason", ExitReasonName(r.reason)},
                      {"signal", SignalName(r.signal)},
                      {"before_ready", before_ready},
                      {"restarts", worker.restarts()}});
        } else {
          log::Event(level, "worker_exited", "worker exited",
                     {{"pool", config_.name},
                      {"slot", slot},
                      {"pid", runs_[slot].last_pid},
                      {"reason", ExitReasonName(r.reason)},
                      {"code", r.code},
                      {"before_ready", before_ready},
                      {"restarts", worker.restarts()}});
        }
        observer_.OnWorkerExited(*this, slot, r);
        if (revive_[slot] && worker.state() == WorkerState::kExited) {
          revive_[slot] = false;
          Execute(slot, worker.Start(Now()));
        }
        PumpRecycleQueue();
        PumpRollingRestart();
        break;
      }
      case WorkerAction::Kind::kReadyChanged:
        if (worker.ready()) {
          Run& run = runs_[slot];
          if (!run.boot_observed && run.pid > 0) {
            run.boot_observed = true;
            counters_.boot_seconds.Observe(
                std::chrono::duration<double>(Now() - run.started_at).count());
          }
          log::Event(log::Level::kInfo, "worker_ready", "worker ready",
                     {{"pool", config_.name}, {"slot", slot}, {"pid", run.pid}});
        }
        // The worker's own change goes out before the pool's and the agent's readiness that
        // follow from it, so a Watch stream shows cause before effect.
        CountReady();  // The pool's counts travel with the worker's event.
        observer_.OnWorkerChanged(*this, slot);
        announced_pid = runs_[slot].pid;
        announced_state = worker.state();
        RecomputeReadiness();
        PumpRecycleQueue();
        PumpRollingRestart();
        break;
      case WorkerAction::Kind::kRecycleDue:
        RequestRecycle(slot);
        break;
      case WorkerAction::Kind::kCrashLoop: {
        if (failed_) break;
        failed_ = true;
        const auto& last = worker.last_exit();
        log::Event(log::Level::kError, "crash_loop", "pool failed: crash loop",
                   {{"pool", config_.name},
                    {"slot", slot},
                    {"max_restarts", config_.crash_loop.max_restarts},
                    {"period", std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                                  config_.crash_loop.period)
                                                  .count()) +
                                   "s"},
                    {"last_exit", last ? DescribeExit(*last) : "none"}});
        RecomputeReadiness();
        observer_.OnPoolFailed(*this);
        break;
      }
    }
  }
  // Once more if anything moved since (a spawn's pid, an exit after the readiness change).
  // Timers alone (a WATCHDOG=1 re-arming its deadline, EXTEND_TIMEOUT_USEC) change nothing the
  // control plane shows: no event, or a thousand heartbeats a second would each cost one.
  const bool only_timers = std::all_of(actions.begin(), actions.end(), [](const WorkerAction& a) {
    return a.kind == WorkerAction::Kind::kSetTimer || a.kind == WorkerAction::Kind::kCancelTimer;
  });
  if (!actions.empty() && !only_timers &&
      (announced_pid == kNotAnnounced || announced_pid != runs_[slot].pid ||
       announced_state != worker.state())) {
    observer_.OnWorkerChanged(*this, slot);
  }
  if (worker.state() == WorkerState::kBackoff && !actions.empty() &&
      actions.back().kind == WorkerAction::Kind::kSetTimer &&
      actions.back().timer == WorkerTimer::kBackoff) {
    log::Event(log::Level::kInfo, "worker_restart_scheduled", "worker restart scheduled",
               {{"pool", config_.name},
                {"slot", slot},
                {"delay_ms",
                 std::chrono::duration_cast<std::chrono::milliseconds>(actions.back().at - decided)
                     .count()}});
  }
}

std::vector<std::string> Pool::WorkerEnvironment(int slot, const std::string& notify_socket) const {
  std::vector<EnvVar> own = {{"VIGIL_POOL", config_.name},
                             {"VIGIL_WORKER", std::to_string(slot)},
                             {"NOTIFY_SOCKET", notify_socket}};
  if (config_.watchdog > Duration::zero()) {
    own.emplace_back(
        "WATCHDOG_USEC",
        std::to_string(
            std::chrono::duration_cast<std::chrono::microseconds>(config_.watchdog).count()));
  }
  return services_.child_environment().Build(config_.env, own);
}

void Pool::Spawn(int slot) {
  Run& run = runs_[slot];
  SpawnRequest request;
  request.argv = config_.command;
  request.working_dir = config_.working_dir;

  Status failed;
  if (services_.drop_privileges) {
    static const UserDb kSystemUsers;  // /etc/passwd and /etc/group
    failed =
        ResolveCredentials(config_, services_.users ? *services_.users : kSystemUsers, &request);
  }
  // The socket's directory is the worker's uid's alone (notify_directory.h).
  StatusOr<NotifyEndpoint> notify =
      failed.ok() ? services_.notify.Open(config_.name + "/" + std::to_string(slot), request.uid,
                                          request.gid)
                  : failed;
  if (notify.ok()) request.env = WorkerEnvironment(slot, notify->paths.socket_path);
  // With log_prefix, the child's stdout and stderr are pipes to the relay; these are our copies
  // of their write ends, closed when this function returns.
  UniqueFd out_pipe, err_pipe;
  if (notify.ok() && config_.log_prefix) {
    const std::string prefix = "[" + config_.name + "/" + std::to_string(slot) + "] ";
    auto out = relay_.Open(prefix, 1);
    auto err = relay_.Open(prefix, 2);
    if (out.ok() && err.ok()) {
      out_pipe = std::move(*out);
      err_pipe = std::move(*err);
      request.stdout_fd = out_pipe.get();
      request.stderr_fd = err_pipe.get();
    } else {
      log::Warn("pool {}: no log prefix for slot {}: {}", config_.name, slot,
                (out.ok() ? err.status() : out.status()).message());
    }
  }
  SpawnedChild child;
  SpawnError error;
  if (!notify.ok()) {
    error.status = notify.status();
  } else if (services_.os.Spawn(request, &child, &error)) {
    run.pid = child.pid;
    run.main_pid = child.pid;
    run.leader_reaped = false;
    run.pidfd = std::move(child.pidfd);
    run.leader_identity = run.pidfd ? services_.os.InspectPidfd(run.pidfd.get()).identity : 0;
    run.notify = std::move(*notify);
    slot_of_pid_[run.pid] = slot;
    run.started_at = Now();
    run.boot_observed = false;
    ++counters_.starts;
    // A spawn after a run has ended is a restart, counted by why that run ended.
    if (const auto& last = workers_[slot]->last_exit()) {
      ++counters_.restarts_by_reason[static_cast<int>(last->reason)];
    }
    Status watched =
        services_.watcher.Watch(run.notify.fd.get(), [this, slot] { OnNotifyReadable(slot); });
    if (!watched.ok()) log::Warn("pool {}: {}", config_.name, watched.message());
    log::Event(log::Level::kInfo, "worker_started", "worker started",
               {{"pool", config_.name},
                {"slot", slot},
                {"pid", run.pid},
                {"notify_socket", run.notify.paths.socket_path}});
    Execute(slot, workers_[slot]->Spawned(Now()));
    return;
  }
  if (notify.ok()) services_.notify.Close(*notify);
  run.last_pid = -1;
  log::Event(log::Level::kError, "worker_spawn_failed", error.status.message(),
             {{"pool", config_.name}, {"slot", slot}});
  Execute(slot, workers_[slot]->SpawnFailed(Now()));
}

bool Pool::GroupIsHeld(const Run& run) {
  // While the leader is unreaped its pid, and so the group's number, is its own. Once it has
  // been reaped, the number stays taken only as long as a member of the group lives: the main
  // process, if it is still in the group. Otherwise the group is never signalled again (the
  // number could name a new process's group).
  if (run.pid <= 0) return false;
  if (!run.leader_reaped) return true;
  if (!run.main_pidfd) return false;
  const ProcessFacts main = services_.os.InspectPidfd(run.main_pidfd.get());
  return !main.exited && main.pgid == run.pid;
}

void Pool::SignalRun(int slot, int signo) {
  const Run& run = runs_[slot];
  if (run.pid <= 0) return;
  // The whole process group: the worker and whatever it started (a MAINPID= of the group too).
  const bool group = GroupIsHeld(run);
  if (group) {
    Status s = services_.os.SignalGroup(run.pid, signo);
    if (!s.ok() && s.os_error() != ESRCH)
      log::Warn("pool {} slot {}: {}", config_.name, slot, s.message());
  }
  if (run.main_pidfd) {
    // A main process that has left the group (setsid) is signalled on its own, through its
    // pidfd; one still in it already had the group's signal: never twice.
    const ProcessFacts main = services_.os.InspectPidfd(run.main_pidfd.get());
    if (!main.exited && (!group || main.pgid != run.pid)) {
      Status m = services_.os.SignalPidfd(run.main_pidfd.get(), signo);
      if (!m.ok() && m.os_error() != ESRCH)
        log::Warn("pool {} slot {}: {}", config_.name, slot, m.message());
    }
  }
  log::Debug("pool {} slot {}: sent {}", config_.name, slot, SignalName(signo));
}

void Pool::OnNotifyReadable(int slot) {
  const Run& run = runs_[slot];
  if (!run.notify.fd) return;
  // A bounded batch per turn: a worker that floods its socket cannot hold the loop (the level-
  // triggered watch brings us back for the rest). The kernel bounds what waits in the socket.
  for (const NotifyDatagram& d :
       services_.notify.Drain(run.notify.fd.get(), kNotifyBatch, KnownSendersOf(slot))) {
    HandleDatagram(slot, d);
  }
  CheckIdle();
}

RunIdentity Pool::IdentityOf(int slot) const {
  const Run& run = runs_[slot];
  RunIdentity id;
  id.leader = run.pid;
  id.leader_reaped = run.leader_reaped;
  id.leader_identity = run.leader_identity;
  id.main_pid = run.main_pid;
  id.main_identity = run.main_pidfd ? run.main_identity : run.leader_identity;
  return id;
}

KnownSenders Pool::KnownSendersOf(int slot) const {
  const RunIdentity id = IdentityOf(slot);
  KnownSenders known;
  known.leader_identity = id.leader_identity;
  known.main_identity = id.main_identity;
  known.leader_pid = id.leader_reaped ? -1 : id.leader;
  return known;
}

void Pool::HandleDatagram(int slot, const NotifyDatagram& d) {
  Run& run = runs_[slot];
  const pid_t sender = d.sender.process.pid > 0 ? d.sender.process.pid : d.sender.credentials_pid;
  auto reject = [&](NotifyRejection why, const std::string& detail) {
    ++counters_.notify_rejected;
    ++counters_.notify_rejected_by_cause[static_cast<int>(why)];
    log::Event(log::Level::kWarn, "notify_rejected", "notify datagram rejected",
               {{"pool", config_.name},
                {"slot", slot},
                {"cause", NotifyRejectionName(why)},
                {"sender_pid", sender},
                {"sender_uid", d.sender.uid == static_cast<uid_t>(-1)
                                   ? int64_t{-1}
                                   : static_cast<int64_t>(d.sender.uid)},
                {"detail", detail}});
  };
  // Who sent it comes first: a datagram nobody can be held to is not even parsed.
  if (AuthDecision who = AuthorizeSender(d, IdentityOf(slot)); !who.ok()) {
    return reject(who.rejection, who.detail);
  }
  if (d.truncated) {
    return reject(NotifyRejection::kOversized, "datagram of " + std::to_string(d.size) +
                                                   " bytes, larger than " +
                                                   std::to_string(kMaxNotifyDatagram));
  }
  NotifyParseResult parsed = ParseNotifyDatagram(d.data);
  if (parsed.rejection != NotifyRejection::kNone) return reject(parsed.rejection, parsed.error);
  const NotifyMessage& m = parsed.message;
  // A refused MAINPID= refuses the whole datagram, like any bad value of a known key.
  if (m.main_pid && *m.main_pid != run.main_pid) {
    if (AuthDecision main = AdoptMainPid(slot, *m.main_pid); !main.ok()) {
      return reject(main.rejection, main.detail);
    }
  }
  ++counters_.notify_accepted;
  CountNotifyKeys(m, counters_.notify_by_key);
  if (m.status) {
    log::Event(log::Level::kDebug, "worker_status", *m.status,
               {{"pool", config_.name}, {"slot", slot}});
  }
  if (m.stop_pod) {
    log::Event(log::Level::kInfo, "stop_requested", "worker asked to stop the pod",
               {{"pool", config_.name}, {"slot", slot}});
    observer_.OnStopPodRequested(*this, slot);
  }
  const std::string status_before = workers_[slot]->status_text();
  Execute(slot, workers_[slot]->Notified(m, Now()));
  // A new STATUS= text is news for the control plane even when it moved nothing else.
  if (workers_[slot]->status_text() != status_before) observer_.OnWorkerChanged(*this, slot);
}

AuthDecision Pool::AdoptMainPid(int slot, pid_t candidate) {
  Run& run = runs_[slot];
  // Read through a pidfd, so that what is checked is what is kept: the pidfd then follows that
  // very process (signals, liveness), never a later owner of its pid.
  UniqueFd pidfd;
  ProcessFacts facts;
  if (candidate > 1) {
    auto opened = services_.os.OpenPidfd(candidate);
    if (opened.ok()) {
      pidfd = std::move(*opened);
      facts = services_.os.InspectPidfd(pidfd.get());
    }
  }
  auto owner = slot_of_pid_.find(candidate);
  const bool other_worker = owner != slot_of_pid_.end() && owner->second != slot;
  AuthDecision decision =
      AuthorizeMainPid(candidate, facts, IdentityOf(slot), services_.os.GetPid(), other_worker);
  if (!decision.ok()) return decision;
  // The old main process, if not the leader, is now just a member of the group.
  if (run.main_pid != run.pid) {
    auto old = slot_of_pid_.find(run.main_pid);
    if (old != slot_of_pid_.end() && old->second == slot) slot_of_pid_.erase(old);
  }
  run.main_pid = candidate;
  if (candidate == run.pid) {
    run.main_pidfd.Reset();
    run.main_identity = 0;
  } else {
    run.main_pidfd = std::move(pidfd);
    run.main_identity = facts.identity;
    slot_of_pid_[candidate] = slot;
  }
  log::Event(log::Level::kInfo, "worker_main_pid", "worker changed its main pid",
             {{"pool", config_.name}, {"slot", slot}, {"main_pid", run.main_pid}});
  return decision;
}

bool Pool::OnProcessExited(pid_t pid, int wait_status) {
  if (prober_.OnProcessExited(pid, wait_status)) return true;
  auto it = slot_of_pid_.find(pid);
  if (it == slot_of_pid_.end()) return false;
  const int slot = it->second;
  Run& run = runs_[slot];
  slot_of_pid_.erase(it);
  if (pid != run.main_pid) {
    if (pid != run.pid) return false;  // Not the run's any more: left to others (an orphan).
    // The leader handed over to a MAINPID= and exited: the run goes on while the main process
    // lives (reparented to us, its exit will be reaped here too).
    if (run.main_pidfd && !services_.os.InspectPidfd(run.main_pidfd.get()).exited) {
      run.leader_reaped = true;
      return true;
    }
  }
  EndRun(slot, wait_status);
  CheckIdle();
  return true;
}

void Pool::EndRun(int slot, int wait_status) {
  // Messages sent just before the exit (X_VIGIL_STOP=1, STATUS=) are still queued: read them
  // all first (the kernel bounds the queue), so a request is never lost because its sender was
  // quick to exit.
  for (int batch = 0; batch < kNotifyBatchesAtExit && runs_[slot].notify.fd; ++batch) {
    const auto datagrams =
        services_.notify.Drain(runs_[slot].notify.fd.get(), kNotifyBatch, KnownSendersOf(slot));
    for (const NotifyDatagram& d : datagrams)
      HandleDatagram(slot, d);
    if (datagrams.size() < kNotifyBatch) break;
  }
  CloseRun(slot);
  // A SIGKILL Vigil sent itself never consumes a kill of the OOM killer.
  const bool oom = WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL &&
                   !workers_[slot]->sigkill_sent() && services_.oom != nullptr &&
                   services_.oom->ConsumeKill();
  Execute(slot, workers_[slot]->Exited(wait_status, oom, Now()));
}

void Pool::CloseRun(int slot) {
  Run& run = runs_[slot];
  // Whatever the worker left in its process group dies with it, as long as the group's number
  // is provably still the run's (a leader reaped in this very turn leaves no time for reuse).
  if (GroupIsHeld(run)) {
    Status s = services_.os.SignalGroup(run.pid, SIGKILL);
    if (s.ok())
      log::Debug("pool {} slot {}: killed what the worker left behind", config_.name, slot);
  }
  if (run.notify.fd) {
    services_.watcher.Unwatch(run.notify.fd.get());
    services_.notify.Close(run.notify);
  }
  for (pid_t pid : {run.main_pid, run.pid}) {
    auto it = slot_of_pid_.find(pid);
    if (it != slot_of_pid_.end() && it->second == slot) slot_of_pid_.erase(it);
  }
  run.pidfd.Reset();
  run.main_pidfd.Reset();
  run.leader_identity = 0;
  run.main_identity = 0;
  run.last_pid = run.pid;
  run.pid = -1;
  run.leader_reaped = false;
  run.main_pid = -1;
}

bool Pool::ready() const {
  if (failed_) return false;
  const int needed = std::min(config_.min_ready, desired_);
  return ready_count_ >= needed;
}

int Pool::CountIn(WorkerState state) const {
  // O(1): every state change of a worker passes through Execute (LogStateChange), which keeps
  // the counts; snapshots of a 1,000-worker pool are built for each of its events.
  return state_counts_[static_cast<int>(state)];
}

bool Pool::idle() const {
  for (const auto& w : workers_) {
    if (w->state() != WorkerState::kExited) return false;
  }
  return true;
}

bool Pool::all_ended_gracefully() const {
  for (const auto& w : workers_) {
    if (!w->ended_gracefully()) return false;
  }
  return true;
}

bool Pool::any_killed_at_deadline() const {
  for (const auto& w : workers_) {
    const auto& last = w->last_exit();
    if (last && last->straggler) return true;
  }
  return false;
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

void Pool::RequestRecycle(int slot) {
  if (recycling_slot_ == slot) return;
  for (int queued : recycle_queue_) {
    if (queued == slot) return;
  }
  recycle_queue_.push_back(slot);
  PumpRecycleQueue();
}

void Pool::PumpRecycleQueue() {
  // One at a time: the next worker is recycled only once the last one's replacement is ready
  // (or the slot will not come back), so recycling never takes the pool down.
  if (recycling_slot_ >= 0) {
    const Worker& w = *workers_[recycling_slot_];
    if (w.ready() || w.state() == WorkerState::kExited) recycling_slot_ = -1;
  }
  while (recycling_slot_ < 0 && !recycle_queue_.empty()) {
    const int next = recycle_queue_.front();
    recycle_queue_.pop_front();
    if (!workers_[next]->running()) continue;
    recycling_slot_ = next;
    log::Event(log::Level::kInfo, "worker_recycling", "recycling worker at max lifetime",
               {{"pool", config_.name}, {"slot", next}});
    Execute(next, workers_[next]->Stop(StopCause::kRecycle, config_.stop_signal,
                                       SaturatingAdd(Now(), config_.stop_timeout), Now()));
  }
}

void Pool::Scale(int replicas) {
  const int before = desired_;
  desired_ = replicas;
  log::Event(log::Level::kInfo, "pool_scaled", "pool scaled",
             {{"pool", config_.name}, {"from", before}, {"to", replicas}});
  for (int slot = 0; slot < replicas; ++slot) {
    if (slot >= slot_count()) AddSlot();
    Worker& w = *workers_[slot];
    if (w.state() == WorkerState::kExited && !w.crash_looped()) {
      Execute(slot, w.Start(Now()));
    } else if (w.state() == WorkerState::kStopping) {
      revive_[slot] = true;  // Still stopping from an earlier scale-down: back once it exits.
    }
  }
  for (int slot = slot_count() - 1; slot >= replicas; --slot) {
    revive_[slot] = false;
    Execute(slot, workers_[slot]->Stop(StopCause::kAdmin, config_.stop_signal,
                                       SaturatingAdd(Now(), config_.stop_timeout), Now()));
  }
  TrimRetiredSlots();
  RecomputeReadiness();
  CheckIdle();
}

void Pool::TrimRetiredSlots() {
  // Slots above the desired count go once they have exited (timers and sockets are closed by
  // then), from the top, so slot numbers stay 0..n-1.
  bool trimmed = false;
  while (slot_count() > desired_ && workers_.back()->state() == WorkerState::kExited &&
         runs_.back().pid < 0) {
    workers_.pop_back();
    runs_.pop_back();
    --state_counts_[static_cast<int>(seen_state_.back())];
    seen_state_.pop_back();
    timers_.pop_back();
    revive_.pop_back();
    trimmed = true;
  }
  if (trimmed) observer_.OnPoolChanged(*this);
}

void Pool::RollingRestart(int max_unavailable) {
  restart_batch_size_ = std::max(1, max_unavailable);
  restart_queue_.clear();
  for (int slot = 0; slot < std::min(desired_, slot_count()); ++slot) {
    if (workers_[slot]->running()) restart_queue_.push_back(slot);
  }
  log::Event(log::Level::kInfo, "pool_restarting", "rolling restart",
             {{"pool", config_.name},
              {"workers", static_cast<int>(restart_queue_.size())},
              {"max_unavailable", restart_batch_size_}});
  PumpRollingRestart();
}

void Pool::PumpRollingRestart() {
  // The current batch is done when each of its slots is ready again (or will not come back).
  for (int slot : restart_batch_) {
    if (slot >= slot_count()) continue;
    const Worker& w = *workers_[slot];
    if (!w.ready() && w.state() != WorkerState::kExited) return;
  }
  restart_batch_.clear();
  while (static_cast<int>(restart_batch_.size()) < restart_batch_size_ && !restart_queue_.empty()) {
    const int slot = restart_queue_.front();
    restart_queue_.pop_front();
    if (slot >= slot_count() || !workers_[slot]->running()) continue;
    restart_batch_.push_back(slot);
    Execute(slot, workers_[slot]->Stop(StopCause::kRestart, config_.stop_signal,
                                       SaturatingAdd(Now(), config_.stop_timeout), Now()));
  }
}

int Pool::SignalWorkers(int slot, int signo) {
  int count = 0;
  for (int s = 0; s < slot_count(); ++s) {
    if ((slot >= 0 && s != slot) || !workers_[s]->running() || runs_[s].pid <= 0) continue;
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
    observer_.OnPoolIdle(*this);
  } else if (!now_idle) {
    was_idle_ = false;
  }
}

}  // namespace vigil
