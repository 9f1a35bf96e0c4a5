#include "agent/lifecycle/hook_runner.h"

#include <signal.h>
#include <sys/wait.h>

#include "agent/log/log.h"
#include "agent/signal/signals.h"

namespace vigil {

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

std::vector<std::string> HookEnvironment(const ChildEnvironment& environment,
                                         const HookConfig& hook, DrainTrigger trigger) {
  return environment.Build(
      {}, {{"VIGIL_HOOK", hook.name}, {"VIGIL_DRAIN_TRIGGER", DrainTriggerName(trigger)}});
}

HookRunner::HookRunner(const std::vector<HookConfig>& hooks, const GracePlan& plan, Os& os,
                       Scheduler& scheduler, const Clock& clock, HookCounts& counts,
                       const ChildEnvironment& environment)
    : hooks_(hooks),
      plan_(plan),
      os_(os),
      environment_(environment),
      clock_(clock),
      counts_(counts),
      timer_(scheduler) {}

void HookRunner::Run(DrainTrigger trigger, MonoTime drain_start, std::function<void()> done) {
  trigger_ = trigger;
  drain_start_ = drain_start;
  done_ = std::move(done);
  next_ = static_cast<int>(hooks_.size()) - 1;
  RunNext();
}

void HookRunner::RunNext() {
  while (next_ >= 0) {
    const HookConfig& hook = hooks_[static_cast<size_t>(next_--)];
    SpawnRequest request;
    request.argv = hook.command;
    request.env = HookEnvironment(environment_, hook, trigger_);
    SpawnedChild child;
    SpawnError error;
    if (!os_.Spawn(request, &child, &error)) {
      log::Event(log::Level::kError, "hook_failed", error.status.message(), {{"hook", hook.name}});
      ++counts_[{hook.name, static_cast<int>(HookResult::kSpawnFailed)}];
      continue;
    }
    pid_ = child.pid;
    name_ = hook.name;
    timed_out_ = false;
    log::Event(log::Level::kInfo, "hook_started", "stop hook started",
               {{"hook", hook.name}, {"pid", pid_}});
    const MonoTime now = clock_.Now();
    timer_.ArmAt(plan_.HookEnd(now, drain_start_, hook.timeout, next_ + 2), [this] {
      log::Event(log::Level::kWarn, "hook_timeout", "stop hook timed out: SIGKILL",
                 {{"hook", name_}});
      if (pid_ > 0) {
        timed_out_ = true;
        (void)os_.SignalGroup(pid_, SIGKILL);
      }
    });
    return;  // OnProcessExited() runs the next.
  }
  if (done_) {
    auto done = std::move(done_);
    done_ = nullptr;
    done();
  }
}

bool HookRunner::OnProcessExited(pid_t pid, int wait_status) {
  if (pid != pid_ || pid <= 0) return false;
  pid_ = -1;
  timer_.Cancel();
  const bool ok = WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
  const HookResult result = timed_out_ ? HookResult::kTimeout
                            : ok       ? HookResult::kSuccess
                                       : HookResult::kFailure;
  ++counts_[{name_, static_cast<int>(result)}];
  log::Event(ok ? log::Level::kInfo : log::Level::kWarn, "hook_exited", "stop hook finished",
             {{"hook", name_},
              {"code", WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1},
              {"signal", WIFSIGNALED(wait_status) ? SignalName(WTERMSIG(wait_status)) : ""}});
  RunNext();
  return true;
}

}  // namespace vigil
