#include "agent/init/single_command.h"

#include <signal.h>
#include <sys/wait.h>

#include "agent/log/log.h"

#include "agent/base/duration.h"
#include "agent/signal/signals.h"

namespace vigil {
namespace {

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return std::string("killed by ") + SignalName(WTERMSIG(status)) +
           (WCOREDUMP(status) ? " (core dumped)" : "");
  }
  return "changed state " + std::to_string(status);
}

}  // namespace

SingleCommand::SingleCommand(Os& os, Scheduler& scheduler, const Clock& clock,
                             SingleCommandOptions options)
    : os_(os),
      clock_(clock),
      options_(std::move(options)),
      phase_timer_(scheduler),
      reap_more_(scheduler) {}

Status SingleCommand::Start() {
  self_pid_ = os_.GetPid();
  SpawnRequest request;
  request.argv = options_.command;
  if (options_.new_session) {
    // dumb-init's way: CMD leads its own session and takes the terminal, if Vigil let go of it.
    request.new_session = true;
    request.controlling_tty_fd = 0;
  } else {
    // Give CMD the terminal only when it is ours to give: Vigil started in the foreground.
    tty_foreground_ = os_.IsForegroundOfTerminal(0);
    if (tty_foreground_) request.foreground_tty_fd = 0;
  }
  if (options_.inherit_signal_state) request.signal_state = options_.signals_at_start;

  SpawnedChild child;
  SpawnError error;
  if (!os_.Spawn(request, &child, &error)) {
    exit_code_ = error.exec_errno != 0 ? ExitCodeForExecError(error.exec_errno) : kExitInternal;
    finished_ = true;
    phase_ = Phase::kDone;
    return error.status;
  }
  main_pid_ = child.pid;
  main_pidfd_ = std::move(child.pidfd);
  log::Info("started '{}' as pid {}", options_.command[0], main_pid_);
  return Status();
}

void SingleCommand::OnSignal(const ReceivedSignal& signal) {
  if (signal.signo == SIGCHLD) {
    OnChildEvent();
    return;
  }
  // Signals we raised ourselves (SIGPIPE from a write to a closed stderr, say; the SIGHUP and
  // SIGCONT the kernel sends us when we give up our terminal for CMD's new session) are not
  // the user's and are not forwarded.
  if (signal.sender_pid == self_pid_ && self_pid_ != 0) {
    log::Debug("ignoring {} sent by Vigil itself", SignalName(signal.signo));
    return;
  }
  if (phase_ != Phase::kRunning) {
    // CMD is gone and its leftovers are already being stopped on a deadline: a late signal
    // (a second `docker stop`) must neither shorten nor extend that.
    log::Debug("{} received after the main process exited: not forwarded",
               SignalName(signal.signo));
    return;
  }
  if (signal.signo == SIGCONT && main_stopped_by_tty_) {
    // `fg` in the shell above gives us the terminal back, and we pass it on to CMD; after `bg`
    // the shell keeps it, and CMD runs in the background as we do. Either way, wake its group.
    main_stopped_by_tty_ = false;
    if (os_.IsForegroundOfTerminal(0)) {
      if (Status s = os_.SetForegroundGroup(0, main_pid_); !s.ok()) log::Warn("{}", s.message());
    }
    if (Status s = os_.SignalGroup(main_pid_, SIGCONT); !s.ok()) log::Warn("{}", s.message());
    return;
  }
  const int target = options_.rewrite.Apply(signal.signo);
  if (target == 0) {
    log::Debug("{} dropped by rewrite rule", SignalName(signal.signo));
  } else {
    Forward(target);
  }
  if (options_.stop_self_on_job_control && self_pid_ != 1 &&
      (signal.signo == SIGTSTP || signal.signo == SIGTTIN || signal.signo == SIGTTOU)) {
    // dumb-init's job control: CMD was stopped (SIGSTOP by default), and so is Vigil, so the
    // shell above sees the job stop; SIGCONT later continues Vigil and is forwarded.
    log::Debug("{}: stopping Vigil too", SignalName(signal.signo));
    if (Status s = os_.StopSelf(); !s.ok()) log::Warn("{}", s.message());
  }
}

void SingleCommand::Forward(int signo) {
  Status s;
  if (options_.signal_process_group) {
    s = os_.SignalGroup(main_pid_, signo);
  } else if (main_pidfd_) {
    s = os_.SignalPidfd(main_pidfd_.get(), signo);
  } else {
    s = os_.SignalPid(main_pid_, signo);  // Kernel without pidfds: CMD is unreaped, so unique.
  }
  if (!s.ok() && s.os_error() != ESRCH) {
    log::Warn("forwarding {}: {}", SignalName(signo), s.message());
  } else {
    log::Debug("forwarded {} to {} {}", SignalName(signo),
               options_.signal_process_group ? "process group" : "pid", main_pid_);
  }
}

void SingleCommand::OnChildEvent() {
  bool no_children = false;
  // SIGCHLD coalesces: one signal may stand for many exits, so drain waitpid until it is empty;
  // a burst (an orphaned tree of thousands) a slice of the turn at a time (kTurnSlice,
  // kMinReapsPerTurn at least), the rest in the next turn: signals are forwarded in between.
  const TurnSlice slice(clock_, kMinReapsPerTurn);
  for (int reaped = 0;; ++reaped) {
    if (slice.Over(reaped)) {
      // What CMD's exit means is decided once the burst is reaped (no child left, or not).
      reap_more_.ArmNextTurn([this] { OnChildEvent(); });
      return;
    }
    StatusOr<WaitResult> result = os_.WaitAny();
    if (!result.ok()) {
      log::Error("{}", result.status().message());
      break;
    }
    if (result->kind == WaitResult::Kind::kNone) break;
    if (result->kind == WaitResult::Kind::kNoChildren) {
      no_children = true;
      break;
    }
    const pid_t pid = result->pid;
    const int status = result->status;
    if (WIFSTOPPED(status)) {
      if (pid == main_pid_ && !main_exited_) OnMainStopped();
      continue;
    }
    if (pid == main_pid_ && !main_exited_) {
      OnMainExited(status);
    } else {
      // The description is built only when it is logged: 10,000 orphans cost 10,000 strings.
      if (options_.warn_on_reap) {
        log::Warn("Reaped zombie process with pid={}", pid);  // tini -w's words.
      } else if (log::Enabled(log::Level::kDebug)) {
        log::Debug("reaped pid {} ({})", pid, DescribeWaitStatus(status));
      }
    }
  }
  if (!main_exited_) return;
  if (phase_ == Phase::kRunning) {
    switch (options_.after_main_exit) {
      case SingleCommandOptions::AfterMainExit::kExitNow:
        Finish();
        return;
      case SingleCommandOptions::AfterMainExit::kTermGroupThenExit:
        TermMainGroup();
        Finish();
        return;
      case SingleCommandOptions::AfterMainExit::kStopLeftovers:
        break;
    }
    if (no_children) {
      Finish();
    } else {
      BeginStragglers();
    }
  } else if (no_children) {
    Finish();
  }
}

void SingleCommand::OnMainStopped() {
  // Only a job-control stop through our terminal is mirrored; as PID 1 there is no shell above
  // us to resume us, and a stray SIGSTOP to CMD is the sender's business. In dumb-init's way
  // Vigil has already stopped itself when it forwarded the stop.
  if (!tty_foreground_ || self_pid_ == 1 || options_.stop_self_on_job_control) return;
  main_stopped_by_tty_ = true;
  if (Status s = os_.SetForegroundGroup(0, os_.GetProcessGroup()); !s.ok()) {
    log::Warn("{}", s.message());
  }
  if (Status s = os_.StopSelf(); !s.ok()) log::Warn("{}", s.message());
}

void SingleCommand::OnMainExited(int wait_status) {
  main_exited_ = true;
  main_pidfd_.Reset();
  exit_code_ = ExitCodeFromWaitStatus(wait_status, options_.success_codes);
  log::Info("main process {} {}; exit status {}", main_pid_, DescribeWaitStatus(wait_status),
            exit_code_);
}

void SingleCommand::BeginStragglers() {
  if (options_.kill_grace <= Duration::zero()) {
    phase_ = Phase::kStragglersKill;
    SignalStragglers(SIGKILL);
    phase_timer_.ArmAt(clock_.Now() + options_.kill_wait, [this] { Finish(); });
    return;
  }
  phase_ = Phase::kStragglersTerm;
  log::Info("main process exited; giving the processes left behind up to {} after SIGTERM",
            FormatDuration(options_.kill_grace));
  SignalStragglers(SIGTERM);
  // A stopped process cannot act on SIGTERM until it is continued.
  SignalStragglers(SIGCONT);
  phase_timer_.ArmAt(clock_.Now() + options_.kill_grace, [this] {
    phase_ = Phase::kStragglersKill;
    log::Warn("processes still running {} after the main process exited: sending SIGKILL",
              FormatDuration(options_.kill_grace));
    SignalStragglers(SIGKILL);
    phase_timer_.ArmAt(clock_.Now() + options_.kill_wait, [this] {
      log::Warn("processes survived SIGKILL for {}: exiting anyway",
                FormatDuration(options_.kill_wait));
      Finish();
    });
  });
}

void SingleCommand::TermMainGroup() {
  // CMD's group outlives CMD while any member lives, so its number still names that group.
  const int signo = options_.rewrite.Apply(SIGTERM);
  if (signo == 0) return;
  Status s = os_.SignalGroup(main_pid_, signo);
  if (!s.ok() && s.os_error() != ESRCH) {
    log::Warn("{}", s.message());
  } else {
    log::Debug("sent {} to process group {} on the main process's exit", SignalName(signo),
               main_pid_);
  }
}

void SingleCommand::SignalStragglers(int signo) {
  if (self_pid_ == 1) {
    // As PID 1, kill(-1) reaches exactly the rest of the namespace, atomically.
    Status s = os_.SignalAll(signo);
    if (!s.ok() && s.os_error() != ESRCH) log::Warn("{}", s.message());
    return;
  }
  // As a subreaper, only our own descendants: everything else on the machine is not ours.
  for (pid_t pid : os_.ListDescendants()) {
    Status s = os_.SignalPid(pid, signo);
    if (!s.ok() && s.os_error() != ESRCH) log::Warn("{}", s.message());
  }
}

void SingleCommand::Finish() {
  phase_timer_.Cancel();
  phase_ = Phase::kDone;
  finished_ = true;
}

}  // namespace vigil
