// Pool: the worker slots of one configured pool, and the executor of their state machines.
//
// A Pool turns each Worker's actions into effects: it spawns processes (each in its own process
// group, in the ChildEnvironment with the pool's env:, VIGIL_POOL, VIGIL_WORKER, NOTIFY_SOCKET
// and WATCHDOG_USEC), opens one notify
// socket per run and checks every datagram's sender (notify_auth.h), follows MAINPID= handovers,
// arms and cancels timers, signals process groups, reaps what belongs to it, replaces live
// workers a batch at a time (rolling restarts and recycling: rolling_queue.h), and reports upward
// through PoolObserver: exits, readiness, crash-loop verdicts, and workers' requests to stop the
// pod.
//
// Each slot is one record (Slot: its Worker, its run, its timers); timers and posted work are
// owned by handles (Timer, PostedWork) that cancel what is left when the pool goes. Reports on
// which the agent may change the pool itself (a crash-loop verdict, going idle: it may stop,
// shrink or drain the pool there) are posted to run after the current event, never from inside
// the handling of a worker's actions.
//
// Files: pool.cc (slots, the actions of the state machine, scaling, readiness), pool_pace.cc
// (starts and stop signals a batch per turn of the loop), pool_run.cc (spawning, signalling and
// reaping a run), pool_notify.cc (datagrams and MAINPID=).
// Everything it touches is behind an interface (Os, Scheduler, FdWatcher, NotifyTransport,
// Clock, Random, and the ChildEnvironment and UserDb of PoolServices), so it runs against fakes in
// unit tests and against Linux in the binary. Single-threaded: every method is called from the core
// loop.
#pragma once

#include <sys/types.h>

#include <array>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/base/clock.h"
#include "agent/base/random.h"
#include "agent/base/unique_fd.h"
#include "agent/config/config.h"
#include "agent/event/fd_watcher.h"
#include "agent/event/posted_work.h"
#include "agent/event/scheduler.h"
#include "agent/event/timer.h"
#include "agent/metrics/histogram.h"
#include "agent/notify/notify_auth.h"
#include "agent/notify/notify_socket.h"
#include "agent/supervisor/oom_watch.h"
#include "agent/supervisor/output_relay.h"
#include "agent/supervisor/prober.h"
#include "agent/supervisor/rolling_queue.h"
#include "agent/supervisor/worker.h"
#include "agent/sys/child_environment.h"
#include "agent/sys/os.h"
#include "agent/sys/tcp_table.h"
#include "agent/sys/user_db.h"

namespace vigil {

class Pool;

class PoolObserver {
 public:
  virtual ~PoolObserver() = default;
  virtual void OnPoolReadinessChanged(Pool& pool) = 0;
  virtual void OnWorkerExited(Pool& pool, int slot, const ExitRecord& record) = 0;
  // Posted: these two run after the event that caused them, so they may stop, scale or drain
  // the pool (Scheduler::Post).
  virtual void OnPoolFailed(Pool& pool) = 0;  // crash-loop verdict
  virtual void OnPoolIdle(Pool& pool) = 0;    // no worker running or waiting to restart
  // At once, before the worker's own actions (X_VIGIL_STOP=1): a drain it starts reaches the
  // worker before an exit read in the same turn is judged.
  virtual void OnStopPodRequested(Pool& pool, int slot) = 0;
  // A worker's state, pid or restart count changed (for the control plane's read model).
  virtual void OnWorkerChanged(Pool& pool, int slot) {
    (void)pool;
    (void)slot;
  }
  // The pool's size changed (slots dropped after a scale-down).
  virtual void OnPoolChanged(Pool& pool) { (void)pool; }
};

// Resolves a pool's user and group (names or ids) into `request`'s uid, gid and supplementary
// groups, from `users` (no NSS: user_db.h). Names were checked at load time; one that
// disappeared since is an error.
Status ResolveCredentials(const PoolConfig& config, const UserDb& users, SpawnRequest* request);

struct PoolServices {
  Os& os;
  Scheduler& scheduler;
  FdWatcher& watcher;
  NotifyTransport& notify;
  const Clock& clock;
  Random& random;
  bool drop_privileges = false;   // Vigil runs as root: user/group apply
  OomWatch* oom = nullptr;        // classifies SIGKILLs as oom_killed; none: never
  const UserDb* users = nullptr;  // for user/group; none: /etc/passwd and /etc/group
  // The TCP sockets the drain watches (propagation_delay: auto); none: nothing can be watched,
  // so an auto delay lasts its max_delay.
  TcpTable* tcp = nullptr;
  // What workers, exec probes and stop hooks are given (child_environment.h); none: an empty
  // inherited environment (tests), never Vigil's own.
  const ChildEnvironment* environment = nullptr;
  const ChildEnvironment& child_environment() const {
    static const ChildEnvironment kNone;
    return environment != nullptr ? *environment : kNone;
  }
};

// What a pool counts, for metrics (docs/metrics.md) and tests. Owned by the core, so the counts
// survive restarts of vigil-control. Every label set is bounded: reasons, keys and causes are
// closed enums, exit codes 0..255, signals 1..64.
struct ExitKey {
  ExitReason reason = ExitReason::kExited;
  int code = -1;   // -1 when killed by a signal
  int signal = 0;  // 0 when it exited with a code
  friend auto operator<=>(const ExitKey&, const ExitKey&) = default;
};

struct PoolCounters {
  uint64_t starts = 0;
  uint64_t restarts_by_reason[kExitReasonCount] = {};  // by the reason the run before ended
  uint64_t exits_by_reason[kExitReasonCount] = {};
  std::map<ExitKey, uint64_t> exits;  // by reason, code and signal
  uint64_t notify_accepted = 0;
  uint64_t notify_rejected = 0;
  uint64_t notify_by_key[kNotifyKeyCount] = {};
  uint64_t notify_rejected_by_cause[kNotifyRejectionCount] = {};
  Histogram boot_seconds{BootBuckets()};  // spawn to the first ready of the run
};

class Pool {
 public:
  Pool(const PoolConfig& config, PoolServices services, PoolObserver& observer);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Starts every replica: kStartBatch now, the next kStartBatch at each turn of the loop, so
  // the loop serves signals, heartbeats, READY=1 and the control plane while a large pool starts
  // (10,000 spawns take seconds; started in one go they held the loop for all of it, and a
  // SIGTERM meanwhile started every worker only to stop it). A slot waiting its turn keeps the
  // pool from being idle; StopAll and a scale-down below it cancel it.
  void Start();
  static constexpr int kStartBatch = 32;
  // Slots queued to start, not started yet.
  int pending_starts() const { return pending_starts_; }
  // Asks every worker to stop with the pool's graceful (or fast) signal, SIGKILL at `kill_at`.
  // `cause` decides whether slots come back (drain, admin: no).
  // `at_deadline`: the drain's deadline has come, so whoever still runs is a straggler.
  // Every worker is stopping when it returns (no slot restarts), but the signals go out a batch
  // per turn of the loop: exits are then reaped while the rest are being signalled, not all
  // after the last signal, so the drain ends soon after the last worker's exit and the loop
  // keeps serving heartbeats and the control plane in between, however many workers there are.
  // A batch is kStopBatch signals, or more while the turn's slice (kTurnSlice) lasts. A
  // worker's SIGKILL is armed when its signal goes (Worker::StopSignalSent): it keeps
  // its whole stop_timeout, however late. At the drain's deadline (`at_deadline`) none waits.
  void StopAll(StopCause cause, bool fast, MonoTime kill_at, bool at_deadline = false);
  static constexpr int kStopBatch = 32;
  // A signal for the workers (SIGHUP, SIGUSR1, ...), after the pool's rewrite table.
  void ForwardSignal(int signo);
  // Reaped `pid` with `wait_status`; returns false when the pid is not one of this pool's.
  bool OnProcessExited(pid_t pid, int wait_status);
  // Changes the number of workers: new slots start at once; the highest slots above `replicas`
  // are stopped (reason admin) and dropped once they have exited.
  void Scale(int replicas);
  // Rolling restart, `max_unavailable` workers at a time: the next batch is stopped only once
  // the replacements of the last one are ready.
  void RollingRestart(int max_unavailable);
  // Sends `signo` to one slot's process group (slot >= 0) or every running worker's; returns how
  // many were signalled.
  int SignalWorkers(int slot, int signo);
  // When a worker asked to stop now gets SIGKILLed (now + stop_timeout, saturated).
  MonoTime StopDeadline() const;
  // Stops the readiness probes for good (the drain began: readiness is off whatever they find,
  // and a tcp or http probe's connection to a worker's port is not traffic to wait out).
  void StopProbing();
  pid_t pid_of(int slot) const { return slots_[static_cast<size_t>(slot)].run.pid; }
  int slot_count() const { return static_cast<int>(slots_.size()); }

  const PoolConfig& config() const { return config_; }
  const std::string& name() const { return config_.name; }
  bool ready() const;
  bool failed() const { return failed_; }
  // Why it failed: the rule and the count of the first slot's verdict (crash_loop.h).
  const std::optional<CrashLoopVerdict>& verdict() const { return verdict_; }
  bool idle() const;  // nothing running, nothing scheduled
  int ready_count() const { return ready_count_; }
  int desired() const { return desired_; }
  int CountIn(WorkerState state) const;
  // Workers starting, ready or stopping (Worker::running()), from the per-state counts: O(1),
  // asked for on every exit of a drain (the drain's progress).
  int running_count() const;
  bool all_ended_gracefully() const;
  // The slots whose last run was signalled or killed at a deadline (ExitRecord::straggler), in
  // slot order: the one query for exit codes, drain reports and the termination message.
  const std::set<int>& killed_at_deadline() const { return killed_at_deadline_; }
  bool any_killed_at_deadline() const { return !killed_at_deadline_.empty(); }
  const Worker& worker(int slot) const { return *slots_[static_cast<size_t>(slot)].worker; }

 private:
  struct Slot;  // One per worker, defined below.

 public:
  // Every slot's Worker, in slot order: `for (const Worker* w : pool.workers())`, `[i]`,
  // `size()`. A hand-written view, not std::views::transform: clang 14 (the sanitizer builds)
  // cannot compile libstdc++ 12's range adaptors.
  class WorkerList {
   public:
    class Iterator {
     public:
      explicit Iterator(const Slot* slot) : slot_(slot) {}
      const Worker* operator*() const { return slot_->worker.get(); }
      Iterator& operator++() {
        ++slot_;
        return *this;
      }
      bool operator!=(const Iterator& other) const { return slot_ != other.slot_; }

     private:
      const Slot* slot_;
    };
    explicit WorkerList(const std::vector<Slot>& slots) : slots_(slots) {}
    Iterator begin() const { return Iterator(slots_.data()); }
    Iterator end() const { return Iterator(slots_.data() + slots_.size()); }
    size_t size() const { return slots_.size(); }
    const Worker* operator[](size_t i) const { return slots_[i].worker.get(); }

   private:
    const std::vector<Slot>& slots_;
  };
  WorkerList workers() const { return WorkerList(slots_); }
  const PoolCounters& counters() const { return counters_; }

 private:
  // The live processes of a slot, if any. The run is the spawned process (the leader, whose pid
  // is also the run's process group) and, after MAINPID=, a main process of that group; it ends
  // when the main process exits (or the leader, when the main process is already gone).
  struct Run {
    pid_t pid = -1;              // the leader: what we spawned, and the run's process group
    pid_t main_pid = -1;         // MAINPID=, else pid
    pid_t last_pid = -1;         // the pid of the run that ended last, for its exit report
    bool leader_reaped = false;  // the leader exited and was reaped while the main process lives
    UniqueFd pidfd;              // the leader's
    uint64_t leader_identity = 0;
    UniqueFd main_pidfd;  // the main process's, when it is not the leader
    uint64_t main_identity = 0;
    NotifyEndpoint notify;
    MonoTime started_at{};       // when it was spawned
    bool boot_observed = false;  // its boot time is in the histogram
  };

  // One worker slot: its state machine, its live run, its timers, and what the pool remembers
  // of it. Slots are numbered 0..n-1; a scale-down drops them from the top once they exited.
  struct Slot {
    std::unique_ptr<Worker> worker;
    Run run;
    WorkerState seen_state = WorkerState::kExited;  // the state last logged and counted
    std::array<Timer, kWorkerTimerCount> timers;    // by WorkerTimer
    // Scaled down, then up again before it exited: start once it has.
    bool revive = false;
    bool start_pending = false;  // in start_queue_, not started yet
  };

  // Carries out a worker's actions, one handler per kind of event. `defer_signals`: a signal
  // joins stop_queue_ instead of going out now (StopAll past its first batch).
  void Execute(int slot, const WorkerActions& actions, bool defer_signals = false);
  // The signal that stops a run: the group, then SIGCONT so that a stopped process gets it.
  void SendStopSignal(int slot, int signo);
  // Sends the next batch of stop_queue_ (StopAll says how big; `all`: every one), and schedules
  // the rest for the next turn.
  void PumpStopQueue(bool all = false);
  // Queues a slot's start (Start, Scale); PumpStartQueue starts the next kStartBatch and
  // schedules the rest for the next turn. CancelStart takes a queued slot back.
  void QueueStart(int slot);
  void CancelStart(int slot);
  void PumpStartQueue();
  void TrackState(int slot, const WorkerActions& actions);
  void ArmTimer(int slot, WorkerTimer timer, MonoTime at, MonoTime now);
  void OnExited(int slot, const ExitRecord& record);
  // Returns the slot's pid as the control plane was told with the worker's own event.
  pid_t OnReadinessChanged(int slot);
  void OnCrashLoop(int slot);
  void AnnounceIfMoved(int slot, const WorkerActions& actions, pid_t announced_pid,
                       WorkerState announced_state);
  void LogRestartScheduled(int slot, const WorkerActions& actions, MonoTime decided);
  void Spawn(int slot);
  // The notify endpoint for a run of `slot`: the spare when it was made for the same owner,
  // else a new one.
  StatusOr<NotifyEndpoint> OpenNotify(int slot, uid_t uid, gid_t gid);
  // After a restart's spawn: a spare endpoint for the pool's next restart, opened by posted
  // work (so after the spawn, off the way from a crash to its replacement).
  void PrepareSpare(uid_t uid, gid_t gid);
  void CloseSpare();
  std::vector<std::string> WorkerEnvironment(int slot, const std::string& notify_socket) const;
  void SignalRun(int slot, int signo);
  void OnNotifyReadable(int slot);
  // Reads what the run has queued on its socket (bounded batches), before its exit or its boot
  // or watchdog deadline is handled.
  void ReadQueued(int slot);
  void HandleDatagram(int slot, const NotifyDatagram& datagram);
  // MAINPID=candidate from the run of `slot`: adopted, or refused with the cause.
  AuthDecision AdoptMainPid(int slot, pid_t candidate);
  RunIdentity IdentityOf(int slot) const;
  KnownSenders KnownSendersOf(int slot) const;
  // The run's process group may be signalled: its number cannot name anyone else.
  bool GroupIsHeld(const Run& run);
  void EndRun(int slot, int wait_status);
  void CloseRun(int slot);
  void CountReady();
  void RecomputeReadiness();
  // Stops the next batch of the rolling queue once the last one is back.
  void PumpRollingQueue();
  int AddSlot();
  void TrimRetiredSlots();
  void CheckIdle();
  MonoTime Now() const { return services_.clock.Now(); }
  Worker& worker_at(int slot) { return *slots_[static_cast<size_t>(slot)].worker; }
  Run& run_of(int slot) { return slots_[static_cast<size_t>(slot)].run; }
  const Run& run_of(int slot) const { return slots_[static_cast<size_t>(slot)].run; }

  const PoolConfig& config_;
  PoolServices services_;
  PoolObserver& observer_;
  std::vector<Slot> slots_;
  Prober prober_;
  OutputRelay relay_;
  std::array<int, kWorkerStateCount> state_counts_ = {};  // slots in each state (seen_state)
  std::unordered_map<pid_t, int> slot_of_pid_;
  RollingQueue rolling_;
  // StopAll's signals waiting for their batch, in the order decided. Bounded: at most one per
  // signal a worker decides on (each stop signal at most once per run: Worker::Stop).
  struct QueuedSignal {
    int slot;
    pid_t pid;  // the run it was meant for: a run that ended since is not signalled
    int signo;
    MonoTime queued_at;
  };
  std::deque<QueuedSignal> stop_queue_;
  Timer stop_pump_;  // the next turn (ArmNextTurn): the exits ready are reaped first
  // Slots to start, in order; an entry whose slot is no longer start_pending is skipped.
  std::deque<int> start_queue_;
  int pending_starts_ = 0;  // slots with start_pending set
  Timer start_pump_;        // the next turn, like stop_pump_
  std::set<int> killed_at_deadline_;
  int desired_ = 0;
  int ready_count_ = 0;
  bool was_ready_ = false;
  bool probing_stopped_ = false;  // StopProbing(): no probe starts again
  int reaping_ = -1;              // the slot whose reaped exit is being handled (EndRun), if any
  bool failed_ = false;
  std::optional<CrashLoopVerdict> verdict_;
  bool was_idle_ = true;
  // A notify endpoint (a run's directory and bound socket) opened ahead for the next restart:
  // opening one was the costliest step between a crash and its replacement's spawn
  // (docs/performance.md, "6: restart latency"). At most one per pool, for the owner it was
  // made for; nothing reads it until a run takes it (a datagram sent to it before then comes
  // from no process of that run and is rejected like one sent to a sibling's socket). Closed
  // when the pool stops (StopAll) and never made again after that.
  NotifyEndpoint spare_;
  uid_t spare_uid_ = 0;
  gid_t spare_gid_ = 0;
  bool spare_posted_ = false;
  bool spare_closed_ = false;
  PoolCounters counters_;
  // Last: destroyed first, so no report runs while the members it reads are being torn down.
  // Bounded: each event posts at most one crash-loop report (once per pool: failed_), one
  // idle report per change to idle and one spare socket (spare_posted_), and the loop runs
  // them before it waits again.
  PostedWork posted_;
};

}  // namespace vigil
