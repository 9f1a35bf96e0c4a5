// OomWatch: decides whether a worker that died of SIGKILL was OOM-killed, by whether the
// container's OOM-kill counter (Os::OomKillCount) rose since it was last accounted for.
//
// Each SIGKILLed worker consumes one kill from the rise, so several workers killed in one OOM
// episode are each classified oom_killed. A kill of a process that is not a worker (a worker's
// own child) stays unconsumed and may mark the next SIGKILLed worker: the counter carries no
// pid, so this is the best the kernel's interface allows. No counter (no memory cgroup
// visible): nothing is ever oom_killed. Single-threaded.
#pragma once

#include <cstdint>
#include <optional>

#include "agent/sys/os.h"

namespace vigil {

class OomWatch {
 public:
  explicit OomWatch(Os& os) : os_(os) {}

  // Takes the current count as the baseline (at start-up, before any worker runs).
  void Prime() { seen_ = os_.OomKillCount().value_or(0); }

  // A worker died of SIGKILL: true when a kill of the OOM killer is there to account for it.
  bool ConsumeKill() {
    const std::optional<uint64_t> now = os_.OomKillCount();
    if (!now || *now <= seen_) return false;
    ++seen_;
    return true;
  }

 private:
  Os& os_;
  uint64_t seen_ = 0;
};

}  // namespace vigil
