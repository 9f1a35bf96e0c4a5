// SingleCommand: Vigil's single-command mode (`vigil -- CMD ARGS`), a drop-in for tini and
// dumb-init.
//
// It spawns CMD, forwards every signal it is handed (after the rewrite table) to CMD's pid or
// process group, reaps every child that exits (orphans included), and when CMD exits gives the
// processes it left behind SIGTERM and up to `kill_grace` to exit before SIGKILL. It is finished
// as soon as no child is left; exit_code() is then CMD's status mapped like a shell would.
//
// Terminal job control: when Vigil owns the terminal's foreground, CMD gets it; when CMD is
// stopped (Ctrl-Z) and Vigil is not PID 1, Vigil stops itself too so the shell above sees the
// job stop, and on SIGCONT (`fg`) hands the terminal back to CMD and continues it.
//
// Pure logic over the Os and Scheduler interfaces: no syscalls of its own, unit-tested with
// fakes. Single-threaded: every method is called from the loop.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "agent/base/clock.h"
#include "agent/base/status.h"
#include "agent/event/scheduler.h"
#include "agent/event/timer.h"
#include "agent/signal/exit_status.h"
#include "agent/signal/received_signal.h"
#include "agent/signal/rewrite.h"
#include "agent/sys/os.h"

namespace vigil {

struct SingleCommandOptions {
  std::vector<std::string> command;
  bool signal_process_group = false;  // -g: forward to CMD's process group, not its pid.
  SignalRewrite rewrite;
  ExitCodeSet success_codes;  // -e: exit codes of CMD reported as 0.
  Duration kill_grace = std::chrono::seconds(5);
  // After SIGKILL, how long to wait for processes stuck in the kernel (D state) before exiting
  // anyway. Exiting as PID 1 makes the kernel kill whatever is left.
  Duration kill_wait = std::chrono::seconds(2);

  // What happens when CMD exits while other processes remain. Vigil's own behaviour stops them
  // (SIGTERM, kill_grace, SIGKILL) and exits when they are gone; tini exits at once; dumb-init
  // sends SIGTERM (after the rewrite table) to CMD's process group, or to nobody when it did
  // not make a session for CMD, and exits at once. Exiting as PID 1 makes the kernel SIGKILL
  // the rest of the namespace.
  enum class AfterMainExit { kStopLeftovers, kExitNow, kTermGroupThenExit };
  AfterMainExit after_main_exit = AfterMainExit::kStopLeftovers;

  // Compatibility behaviours (set by agent/config/compat_cli for tini and dumb-init):
  bool warn_on_reap = false;  // tini -w: a warning for every process reaped other than CMD.
  // dumb-init: CMD leads a new session (setsid) and takes Vigil's terminal as its own
  // controlling terminal, instead of a new process group in Vigil's session.
  bool new_session = false;
  // dumb-init: after forwarding SIGTSTP, SIGTTIN or SIGTTOU, stop Vigil itself too (not as
  // PID 1, where the kernel would ignore it).
  bool stop_self_on_job_control = false;
  // tini: CMD starts with the signal mask and ignored signals Vigil itself was started with
  // (`signals_at_start`, filled in by main), not a clean slate.
  bool inherit_signal_state = false;
  ChildSignalState signals_at_start{};
};

class SingleCommand {
 public:
  SingleCommand(Os& os, Scheduler& scheduler, const Clock& clock, SingleCommandOptions options);

  // Spawns CMD. On failure finished() is true and exit_code() is 126, 127 or 1.
  Status Start();

  void OnSignal(const ReceivedSignal& signal);
  // Reaps every child that has changed state, a slice of the turn at a time (the rest from the
  // next turns). Called on SIGCHLD.
  void OnChildEvent();

  bool finished() const { return finished_; }
  int exit_code() const { return exit_code_; }
  pid_t main_pid() const { return main_pid_; }

 private:
  enum class Phase { kRunning, kStragglersTerm, kStragglersKill, kDone };

  void Forward(int signo);
  void OnMainStopped();
  void OnMainExited(int wait_status);
  void BeginStragglers();
  void TermMainGroup();
  void SignalStragglers(int signo);
  void Finish();

  Os& os_;
  const Clock& clock_;
  SingleCommandOptions options_;

  Phase phase_ = Phase::kRunning;
  pid_t self_pid_ = 0;
  pid_t main_pid_ = -1;
  UniqueFd main_pidfd_;
  bool main_exited_ = false;
  bool tty_foreground_ = false;  // CMD was given the terminal.
  bool main_stopped_by_tty_ = false;
  Timer phase_timer_;  // the stragglers' SIGKILL, then the give-up; cancelled with this object
  Timer reap_more_;    // a burst's exits past the turn's slice, reaped from the next turns
  bool finished_ = false;
  int exit_code_ = 0;
};

}  // namespace vigil
