// HookRunner: the drain's stop hooks (`hooks:` in the config, docs/drain.md step 6).
//
// Run() spawns the hooks one at a time, last registered first, each in its own process group,
// with the environment HookEnvironment() builds; each is SIGKILLed (its whole group) at the end
// GracePlan::HookEnd gives it: its own timeout, or its share of what is left of the grace period,
// so a hung hook never starves the ones after it. A hook that cannot be spawned is counted and
// skipped. `done` is called once, when the last hook has ended (at once when there is none).
// Every hook's result is counted (by name and HookResult) and logged: hook_started,
// hook_timeout, hook_exited (with the hook's name, code and signal), hook_failed.
//
// Makes its syscalls through Os and its timer through Scheduler (a Timer, cancelled when the
// runner is destroyed), so it runs against the fakes in unit tests. Single-threaded.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "agent/base/clock.h"
#include "agent/config/config.h"
#include "agent/event/timer.h"
#include "agent/lifecycle/drain.h"
#include "agent/lifecycle/grace_plan.h"
#include "agent/sys/child_environment.h"
#include "agent/sys/os.h"

namespace vigil {

enum class HookResult { kSuccess, kFailure, kTimeout, kSpawnFailed };
inline constexpr int kHookResultCount = 4;
const char* HookResultName(HookResult result);

// Hook results for metrics: (hook name, HookResult) -> count. Bounded by the configured hooks.
using HookCounts = std::map<std::pair<std::string, int>, uint64_t>;

// A stop hook's environment: the ChildEnvironment (Vigil's own, less the variables of Vigil's own
// supervisor; a hook belongs to no pool, so no pool's env:), plus VIGIL_HOOK (its name) and
// VIGIL_DRAIN_TRIGGER (why the drain happened). The one place it is built.
std::vector<std::string> HookEnvironment(const ChildEnvironment& environment,
                                         const HookConfig& hook, DrainTrigger trigger);

class HookRunner {
 public:
  HookRunner(const std::vector<HookConfig>& hooks, const GracePlan& plan, Os& os,
             Scheduler& scheduler, const Clock& clock, HookCounts& counts,
             const ChildEnvironment& environment);

  // Runs every hook for a drain started at `drain_start` by `trigger`; `done` when all ended.
  void Run(DrainTrigger trigger, MonoTime drain_start, std::function<void()> done);
  // A reaped pid: true (and the next hook runs) when it was the running hook's.
  bool OnProcessExited(pid_t pid, int wait_status);
  bool running() const { return pid_ > 0; }

 private:
  void RunNext();

  const std::vector<HookConfig>& hooks_;
  GracePlan plan_;
  Os& os_;
  const ChildEnvironment& environment_;
  const Clock& clock_;
  HookCounts& counts_;
  Timer timer_;
  DrainTrigger trigger_ = DrainTrigger::kSignal;
  MonoTime drain_start_{};
  std::function<void()> done_;
  int next_ = -1;  // the next to run, counting down (reverse registration order)
  pid_t pid_ = -1;
  std::string name_;
  bool timed_out_ = false;
};

}  // namespace vigil
