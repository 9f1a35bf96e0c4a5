// Os: the narrow slice of the operating system the core drives, behind an interface so that the
// supervision logic is unit-tested against a fake (tests/fakes/fake_os.h) and the real
// implementation (linux_os.h) is tested against real processes.
//
// Contract: every method reports failure as a Status and never throws; none blocks except
// Spawn, which waits only until the child has exec'd (or failed to). Single-threaded use only:
// the core calls these from its one loop thread.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/base/status.h"
#include "agent/base/unique_fd.h"
#include "agent/sys/socket_address.h"

namespace vigil {

// Signals blocked and ignored, as a process inherits them across exec.
struct ChildSignalState {
  sigset_t blocked;
  sigset_t ignored;
};

struct SpawnRequest {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH when it has no '/'.
  // The child's environment; nullopt inherits Vigil's.
  std::optional<std::vector<std::string>> env;
  // When >= 0, the child makes its process group the foreground group of this terminal.
  int foreground_tty_fd = -1;
  std::string working_dir;  // empty: Vigil's
  // Credentials to drop to (only applied when Vigil is root): uid/gid -1 keep Vigil's. When
  // either is set, the supplementary groups become exactly `groups` (the user's, from
  // user_db.h, resolved before the fork; empty: none). No NSS lookup happens in the child.
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  std::vector<gid_t> groups;
  // When >= 0, become the child's stdout / stderr (for per-line log prefixes).
  int stdout_fd = -1;
  int stderr_fd = -1;
  // When >= 0, handed to the child as its fd 3 (the control plane's end of its socketpair).
  int pass_fd = -1;
  // When set, the child leads a new session (setsid) rather than a new process group in
  // Vigil's session, and `controlling_tty_fd` (when >= 0 and a terminal no other session
  // holds) becomes its controlling terminal; failing to take it is not an error (dumb-init).
  // `foreground_tty_fd` does not apply then.
  bool new_session = false;
  int controlling_tty_fd = -1;
  // When set, the child's signal mask and ignored signals instead of the clean slate (tini).
  std::optional<ChildSignalState> signal_state;
};

// The child always starts in a new process group (its pgid is its pid; with `new_session`, a new
// session too), with default signal dispositions and an empty signal mask (unless
// `signal_state` says otherwise), and no descriptors but 0, 1 and 2.
struct SpawnedChild {
  pid_t pid = -1;
  UniqueFd pidfd;  // Race-free handle for signalling: a reused pid is never hit.
};

// What a failed Spawn reports: exec_errno is set (non-zero) when the command itself could not
// be executed (not found, not executable), so callers can map it to 127/126.
struct SpawnError {
  Status status;
  int exec_errno = 0;
};

// What a pidfd names, read at one moment (pidfd.h): the process's pid in Vigil's PID namespace
// (0: it lives outside it; -1: it has been reaped, so the number may name someone else now),
// its process group, read while the pidfd still named that unreaped process (so the number was
// not reused in between; -1 when unknown), whether it has exited (a zombie, or reaped), and its
// identity: the pidfs inode number, shared by every pidfd of one process and never reused while
// the system runs (0 where pidfds are not on pidfs, before Linux 6.9).
struct ProcessFacts {
  pid_t pid = -1;
  pid_t pgid = -1;
  bool exited = true;
  uint64_t identity = 0;
};

// Where a connection StartConnect began stands.
enum class ConnectState {
  kConnected,   // established at once
  kInProgress,  // wait until the socket is writable, then ask ConnectError
  kFailed,      // refused (or unreachable) at once
};

struct WaitResult {
  enum class Kind {
    kReaped,      // pid changed state; status as from waitpid().
    kNone,        // Children exist but none has changed state.
    kNoChildren,  // ECHILD: nothing left to wait for.
  };
  Kind kind = Kind::kNone;
  pid_t pid = -1;
  int status = 0;
};

class Os {
 public:
  virtual ~Os() = default;

  virtual pid_t GetPid() = 0;
  virtual pid_t GetProcessGroup() = 0;

  // Forks and execs; returns once the child has exec'd. On failure the child is already reaped.
  virtual bool Spawn(const SpawnRequest& request, SpawnedChild* child, SpawnError* error) = 0;

  // pidfd_send_signal(): safe against pid reuse.
  virtual Status SignalPidfd(int pidfd, int signo) = 0;
  virtual Status SignalPid(pid_t pid, int signo) = 0;
  virtual Status SignalGroup(pid_t pgid, int signo) = 0;
  // kill(-1, signo): every process Vigil may signal but itself. Only meaningful as PID 1, where
  // that is exactly the rest of the PID namespace.
  virtual Status SignalAll(int signo) = 0;

  // waitpid(-1, WNOHANG | WUNTRACED): one reaped (or stopped) child per call.
  virtual StatusOr<WaitResult> WaitAny() = 0;

  // Every live descendant of Vigil (children, their children, ...), read from /proc.
  virtual std::vector<pid_t> ListDescendants() = 0;

  virtual Status SetChildSubreaper() = 0;

  // getpgid(): the process group of `pid`, or -1 with errno (ESRCH when it is gone).
  virtual pid_t ProcessGroupOf(pid_t pid) = 0;

  // pidfd_open(): a handle on `pid` that never names another process (ESRCH: gone).
  virtual StatusOr<UniqueFd> OpenPidfd(pid_t pid) = 0;
  // What `pidfd` names now (see ProcessFacts).
  virtual ProcessFacts InspectPidfd(int pidfd) = 0;

  // How many processes the OOM killer has killed in Vigil's memory cgroup (oom_counter.h), or
  // nullopt when the counter cannot be read.
  virtual std::optional<uint64_t> OomKillCount() = 0;

  // A readiness probe's connection: a non-blocking, close-on-exec stream socket connecting to
  // `address`, and where the connect stands in `*state`. An error only when no socket could be
  // made (out of descriptors); a refused connect is a socket with kFailed.
  virtual StatusOr<UniqueFd> StartConnect(const SocketAddress& address, ConnectState* state) = 0;
  // The outcome of a connect that was in progress on `fd` (SO_ERROR): ok once established.
  virtual Status ConnectError(int fd) = 0;

  // Terminal job control.
  virtual bool IsForegroundOfTerminal(int fd) = 0;  // isatty(fd) && tcgetpgrp(fd) == our pgrp
  virtual Status SetForegroundGroup(int tty_fd, pid_t pgid) = 0;
  virtual Status StopSelf() = 0;  // SIGSTOP to ourselves, as a shell job would be stopped.
};

}  // namespace vigil
