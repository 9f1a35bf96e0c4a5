// FakeOs: a scripted, recording Os for unit tests of the supervision logic.
//
// Scripting: the test queues what Spawn() and WaitAny() will return, and sets plain fields for
// the rest (pid, process group, terminal foreground, descendants, results of actions).
// Recording: every action (spawn, each signal with its target kind, terminal hand-over,
// self-stop, subreaper) is appended, in call order, to `actions` as a readable string, and
// signals are also kept as structured SignalCall values.
//
// Pidfds handed out by Spawn and OpenPidfd are real descriptors (eventfds), so the UniqueFd that
// owns them in the code under test can close them without touching anyone else's descriptor;
// InspectPidfd answers for the pid each was made for, from `process_groups` and `exited`.
#pragma once

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "agent/base/status.h"
#include "agent/base/unique_fd.h"
#include "agent/signal/signals.h"
#include "agent/sys/os.h"

namespace vigil::testing {

struct SignalCall {
  enum class Target { kPid, kPidfd, kGroup, kAll };
  Target target;
  int id;  // The pid, pidfd number or process group; 0 for kAll.
  int signo;

  friend bool operator==(const SignalCall&, const SignalCall&) = default;
  friend std::ostream& operator<<(std::ostream& os, const SignalCall& call) {
    static constexpr const char* kTargets[] = {"pid", "pidfd", "group", "all"};
    return os << SignalName(call.signo) << " to " << kTargets[static_cast<int>(call.target)] << " "
              << call.id;
  }
};

inline SignalCall ToPid(pid_t pid, int signo) {
  return {SignalCall::Target::kPid, pid, signo};
}
inline SignalCall ToPidfd(int pidfd, int signo) {
  return {SignalCall::Target::kPidfd, pidfd, signo};
}
inline SignalCall ToGroup(pid_t pgid, int signo) {
  return {SignalCall::Target::kGroup, pgid, signo};
}
inline SignalCall ToAll(int signo) {
  return {SignalCall::Target::kAll, 0, signo};
}

class FakeOs final : public Os {
 public:
  // ---- Configuration (plain fields: set them before or during a test) ----
  pid_t pid = 4242;
  pid_t process_group = 4242;
  bool foreground_of_terminal = false;
  std::vector<pid_t> descendants;
  // The processes the fake knows, for ProcessGroupOf, OpenPidfd and InspectPidfd: pid -> its
  // process group. Unknown pids are gone (ESRCH); spawned children are not added by themselves.
  std::map<pid_t, pid_t> process_groups;
  std::set<pid_t> exited;  // Known, but exited (zombies): their group can still be read.
  std::optional<uint64_t> oom_kill_count;  // What OomKillCount() reports.
  Status signal_result;                    // Returned by every Signal* call.
  Status set_foreground_result;
  Status stop_self_result;
  Status subreaper_result;
  // What WaitAny returns once its script is used up.
  WaitResult::Kind wait_when_unscripted = WaitResult::Kind::kNone;
  // When > 0, unscripted spawns succeed as this pid, which then grows by one per spawn (for
  // code that starts many processes); when 0, they all succeed as pid 100.
  pid_t next_unscripted_pid = 0;

  // ---- Connections (readiness probes): each StartConnect gets one end of a socketpair, with
  // `connect_state`; the other end is kept in `connect_peer` for the test to play the server.
  ConnectState connect_state = ConnectState::kFailed;  // refused unless a test says otherwise
  Status connect_error;         // what ConnectError reports for a connect in progress
  Status connect_socket_error;  // when set, StartConnect cannot make a socket
  std::vector<SocketAddress> connect_addresses;  // every StartConnect's address, in order
  UniqueFd connect_peer;

  // ---- Spawn script: outcomes are consumed in order; unscripted spawns succeed (as pid 100, or
  // as next_unscripted_pid when set) ----
  void ScriptSpawnSuccess(pid_t child_pid, bool with_pidfd = true) {
    spawn_script_.push_back(SpawnOutcome{true, child_pid, with_pidfd, Status(), 0});
  }
  // exec() itself failed with `err` (ENOENT, EACCES, ...).
  void ScriptSpawnExecFailure(int err) {
    spawn_script_.push_back(
        SpawnOutcome{false, -1, false, Status::FromErrno("exec 'cmd'", err), err});
  }
  // Failed before exec (fork, pipe, setpgid...): no exec errno.
  void ScriptSpawnSetupFailure(Status status) {
    spawn_script_.push_back(SpawnOutcome{false, -1, false, std::move(status), 0});
  }

  // ---- WaitAny script: results are consumed in order ----
  void QueueReaped(pid_t child_pid, int status) {
    wait_script_.push_back({Status(), WaitResult{WaitResult::Kind::kReaped, child_pid, status}});
  }
  void QueueNone() {
    wait_script_.push_back({Status(), WaitResult{WaitResult::Kind::kNone, -1, 0}});
  }
  void QueueNoChildren() {
    wait_script_.push_back({Status(), WaitResult{WaitResult::Kind::kNoChildren, -1, 0}});
  }
  // WaitAny fails (waitpid error other than ECHILD).
  void QueueWaitError(Status status) {
    wait_script_.push_back({std::move(status), WaitResult{WaitResult::Kind::kNone, -1, 0}});
  }
  size_t wait_script_left() const { return wait_script_.size(); }

  // ---- Records ----
  std::vector<std::string> actions;  // Every action, in order, e.g. "SignalPid(7, SIGTERM)".
  std::vector<SignalCall> signals;
  std::vector<SpawnRequest> spawn_requests;
  std::vector<int> is_foreground_queries;  // The fd of each IsForegroundOfTerminal call.
  int pidfd_of_last_spawn = -1;            // -1 when the last spawn had no pidfd.
  // A duplicate of the last spawn's pass_fd (the child's end of a socketpair), owned by the
  // test, so that it can play the child; -1 when that spawn passed none.
  UniqueFd passed_fd;
  int get_pid_calls = 0;
  int wait_calls = 0;
  int list_descendants_calls = 0;

  std::vector<int> SignalsTo(SignalCall::Target target, int id, bool with_sigcont = true) const {
    std::vector<int> out;
    for (const auto& s : signals) {
      if (s.target == target && s.id == id && (with_sigcont || s.signo != SIGCONT)) {
        out.push_back(s.signo);
      }
    }
    return out;
  }
  int CountSignal(int signo) const {
    int n = 0;
    for (const auto& s : signals)
      n += s.signo == signo ? 1 : 0;
    return n;
  }

  // ---- Os ----
  pid_t GetPid() override {
    ++get_pid_calls;
    return pid;
  }
  pid_t GetProcessGroup() override { return process_group; }

  bool Spawn(const SpawnRequest& request, SpawnedChild* child, SpawnError* error) override {
    spawn_requests.push_back(request);
    SpawnOutcome outcome{true, 100, true, Status(), 0};
    if (!spawn_script_.empty()) {
      outcome = std::move(spawn_script_.front());
      spawn_script_.pop_front();
    } else if (next_unscripted_pid > 0) {
      outcome.pid = next_unscripted_pid++;
    }
    actions.push_back("Spawn(" + (request.argv.empty() ? std::string() : request.argv[0]) + ")");
    if (!outcome.ok) {
      pidfd_of_last_spawn = -1;
      error->status = outcome.status;
      error->exec_errno = outcome.exec_errno;
      return false;
    }
    child->pid = outcome.pid;
    passed_fd.Reset(request.pass_fd >= 0 ? ::fcntl(request.pass_fd, F_DUPFD_CLOEXEC, 0) : -1);
    if (outcome.with_pidfd) {
      child->pidfd.Reset(::eventfd(0, EFD_CLOEXEC));
      pidfd_of_last_spawn = child->pidfd.get();
      pidfd_pids_[child->pidfd.get()] = outcome.pid;
    } else {
      child->pidfd.Reset();
      pidfd_of_last_spawn = -1;
    }
    return true;
  }

  Status SignalPidfd(int pidfd, int signo) override {
    return Record(SignalCall{SignalCall::Target::kPidfd, pidfd, signo}, "SignalPidfd");
  }
  Status SignalPid(pid_t target, int signo) override {
    return Record(SignalCall{SignalCall::Target::kPid, target, signo}, "SignalPid");
  }
  Status SignalGroup(pid_t pgid, int signo) override {
    return Record(SignalCall{SignalCall::Target::kGroup, pgid, signo}, "SignalGroup");
  }
  Status SignalAll(int signo) override {
    signals.push_back(SignalCall{SignalCall::Target::kAll, 0, signo});
    actions.push_back("SignalAll(" + SignalName(signo) + ")");
    return signal_result;
  }

  StatusOr<WaitResult> WaitAny() override {
    ++wait_calls;
    if (wait_script_.empty()) return WaitResult{wait_when_unscripted, -1, 0};
    ScriptedWait next = std::move(wait_script_.front());
    wait_script_.pop_front();
    if (!next.error.ok()) return next.error;
    return next.result;
  }

  std::vector<pid_t> ListDescendants() override {
    ++list_descendants_calls;
    return descendants;
  }

  Status SetChildSubreaper() override {
    actions.push_back("SetChildSubreaper()");
    return subreaper_result;
  }

  std::optional<uint64_t> OomKillCount() override { return oom_kill_count; }

  pid_t ProcessGroupOf(pid_t target) override {
    auto it = process_groups.find(target);
    if (it == process_groups.end()) {
      errno = ESRCH;
      return -1;
    }
    return it->second;
  }

  // What a pidfd of `target` would show. Identities are 1000000 + pid: one process each, kept
  // after it is gone (as pidfs keeps them), unless the test set another in `identities`.
  ProcessFacts FactsOf(pid_t target) const {
    ProcessFacts facts;
    facts.identity = IdentityOf(target);
    if (target == 0) {
      facts.pid = 0;
      facts.exited = false;
      return facts;
    }
    auto it = process_groups.find(target);
    if (it == process_groups.end()) return facts;  // Gone: pid -1.
    facts.pid = target;
    facts.pgid = it->second;
    facts.exited = exited.count(target) != 0;
    return facts;
  }
  uint64_t IdentityOf(pid_t target) const {
    auto it = identities.find(target);
    if (it != identities.end()) return it->second;
    return target > 0 ? 1000000u + static_cast<uint64_t>(target) : 0;
  }
  std::map<pid_t, uint64_t> identities;

  StatusOr<UniqueFd> OpenPidfd(pid_t target) override {
    if (process_groups.count(target) == 0) return Status::FromErrno("pidfd_open", ESRCH);
    UniqueFd fd(::eventfd(0, EFD_CLOEXEC));
    pidfd_pids_[fd.get()] = target;
    return fd;
  }
  ProcessFacts InspectPidfd(int pidfd) override {
    auto it = pidfd_pids_.find(pidfd);
    if (it == pidfd_pids_.end()) return ProcessFacts{};
    return FactsOf(it->second);
  }

  StatusOr<UniqueFd> StartConnect(const SocketAddress& address, ConnectState* state) override {
    connect_addresses.push_back(address);
    if (!connect_socket_error.ok()) return connect_socket_error;
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
      return Status::FromErrno("socketpair", errno);
    }
    connect_peer.Reset(fds[1]);
    *state = connect_state;
    return UniqueFd(fds[0]);
  }
  Status ConnectError(int fd) override {
    (void)fd;
    return connect_error;
  }

  bool IsForegroundOfTerminal(int fd) override {
    is_foreground_queries.push_back(fd);
    return foreground_of_terminal;
  }
  Status SetForegroundGroup(int tty_fd, pid_t pgid) override {
    actions.push_back("SetForegroundGroup(" + std::to_string(tty_fd) + ", " + std::to_string(pgid) +
                      ")");
    return set_foreground_result;
  }
  Status StopSelf() override {
    actions.push_back("StopSelf()");
    return stop_self_result;
  }

 private:
  struct SpawnOutcome {
    bool ok;
    pid_t pid;
    bool with_pidfd;
    Status status;
    int exec_errno;
  };

  Status Record(const SignalCall& call, const char* what) {
    signals.push_back(call);
    actions.push_back(std::string(what) + "(" + std::to_string(call.id) + ", " +
                      SignalName(call.signo) + ")");
    return signal_result;
  }

  std::deque<SpawnOutcome> spawn_script_;
  std::map<int, pid_t> pidfd_pids_;  // Every pidfd handed out (descriptor numbers may be reused).
  struct ScriptedWait {
    Status error;  // Returned instead of `result` when not OK.
    WaitResult result;
  };
  std::deque<ScriptedWait> wait_script_;
};

}  // namespace vigil::testing
