// Pool, the runs of its slots: spawning a worker (credentials, environment, notify socket,
// log prefixes), signalling its process group, and reaping it (pool.h).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>

#include "agent/base/scope_exit.h"
#include "agent/log/log.h"
#include "agent/signal/signals.h"
#include "agent/supervisor/pool.h"

namespace vigil {
namespace {

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
  Run& run = run_of(slot);
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
      failed.ok() ? OpenNotify(slot, request.uid, request.gid) : failed;
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
    if (const auto& last = worker_at(slot).last_exit()) {
      ++counters_.restarts_by_reason[static_cast<int>(last->reason)];
      PrepareSpare(request.uid, request.gid);
    }
    Status watched =
        services_.watcher.Watch(run.notify.fd.get(), [this, slot] { OnNotifyReadable(slot); });
    if (!watched.ok()) log::Warn("pool {}: {}", config_.name, watched.message());
    log::Event(log::Level::kInfo, "worker_started", "worker started",
               {{"pool", config_.name},
                {"slot", slot},
                {"pid", run.pid},
                {"notify_socket", run.notify.paths.socket_path}});
    Execute(slot, worker_at(slot).Spawned(Now()));
    return;
  }
  if (notify.ok()) services_.notify.Close(*notify);
  run.last_pid = -1;
  log::Event(log::Level::kError, "worker_spawn_failed", error.status.message(),
             {{"pool", config_.name}, {"slot", slot}});
  Execute(slot, worker_at(slot).SpawnFailed(Now()));
}

StatusOr<NotifyEndpoint> Pool::OpenNotify(int slot, uid_t uid, gid_t gid) {
  if (spare_.fd && spare_uid_ == uid && spare_gid_ == gid) {
    NotifyEndpoint taken = std::move(spare_);
    spare_ = NotifyEndpoint();
    return taken;
  }
  return services_.notify.Open(config_.name + "/" + std::to_string(slot), uid, gid);
}

void Pool::PrepareSpare(uid_t uid, gid_t gid) {
  if (spare_posted_ || spare_closed_) return;
  spare_posted_ = true;
  posted_.Post([this, uid, gid] {
    spare_posted_ = false;
    if (spare_closed_) return;
    if (spare_.fd) {
      if (spare_uid_ == uid && spare_gid_ == gid) return;
      CloseSpare();  // Made for another owner: the next restart's comes instead.
    }
    StatusOr<NotifyEndpoint> spare = services_.notify.Open(config_.name + "/next", uid, gid);
    if (!spare.ok()) {
      // The next restart opens its own, and says what is wrong if it cannot either.
      log::Debug("pool {}: no spare notify socket: {}", config_.name, spare.status().message());
      return;
    }
    spare_ = std::move(*spare);
    spare_uid_ = uid;
    spare_gid_ = gid;
  });
}

void Pool::CloseSpare() {
  if (spare_.fd) services_.notify.Close(spare_);
  spare_ = NotifyEndpoint();
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
  const Run& run = run_of(slot);
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

bool Pool::OnProcessExited(pid_t pid, int wait_status) {
  if (prober_.OnProcessExited(pid, wait_status)) return true;
  auto it = slot_of_pid_.find(pid);
  if (it == slot_of_pid_.end()) return false;
  const int slot = it->second;
  Run& run = run_of(slot);
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
  ReadQueued(slot);
  CloseRun(slot);
  // A SIGKILL Vigil sent itself never consumes a kill of the OOM killer.
  const bool oom = WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL &&
                   !worker_at(slot).sigkill_sent() && services_.oom != nullptr &&
                   services_.oom->ConsumeKill();
  // Marks the one place a zero-delay restart may be posted rather than timed (ArmTimer).
  reaping_ = slot;
  const ScopeExit reset([this] { reaping_ = -1; });
  Execute(slot, worker_at(slot).Exited(wait_status, oom, Now()));
}

void Pool::CloseRun(int slot) {
  Run& run = run_of(slot);
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

}  // namespace vigil
