#include "agent/lifecycle/grace_plan.h"

#include <algorithm>

#include "agent/base/duration.h"

namespace vigil {

MonoTime GracePlan::Deadline(MonoTime start, Duration requested) const {
  const MonoTime full =
      SaturatingAdd(start, SaturatingSub(config_.grace_period, config_.safety_margin));
  if (requested <= Duration::zero()) return full;
  return std::min(full, SaturatingAdd(start, requested));
}

MonoTime GracePlan::PropagationEnd(MonoTime start, MonoTime deadline) const {
  if (!config_.propagation_auto) return SaturatingAdd(start, config_.propagation_delay);
  // Half the time to the deadline is left for the workers to finish, whatever max_delay says.
  const Duration half = deadline > start ? (deadline - start) / 2 : Duration::zero();
  return SaturatingAdd(start, std::max(config_.min_delay, std::min(config_.max_delay, half)));
}

Duration GracePlan::DeadlineFastWindow() const {
  return std::min(kFastStopTimeout, config_.safety_margin / 2);
}

MonoTime GracePlan::GracefulKillAt(MonoTime now, Duration stop_timeout, MonoTime deadline) const {
  return std::min(SaturatingAdd(now, stop_timeout), SaturatingAdd(deadline, DeadlineFastWindow()));
}

MonoTime GracePlan::FastKillAt(MonoTime now, Duration stop_timeout, MonoTime deadline,
                               bool at_deadline) const {
  const MonoTime fast = at_deadline ? SaturatingAdd(deadline, DeadlineFastWindow())
                                    : SaturatingAdd(now, kFastStopTimeout);
  return std::max(std::min(fast, GracefulKillAt(now, stop_timeout, deadline)), now);
}

MonoTime GracePlan::HookEnd(MonoTime now, MonoTime start, Duration timeout, int hooks_left) const {
  // Within the grace period (less a moment to exit), or the kubelet's SIGKILL lands on Vigil
  // itself; shared fairly, so a hung hook never starves the ones after it.
  const Duration left = SaturatingSub(
      SaturatingSub(config_.grace_period, SaturatingSub(now - MonoTime(), start - MonoTime())),
      kHookExitReserve);
  const Duration share = left / std::max(hooks_left, 1);
  return SaturatingAdd(now, std::min(timeout, std::max(share, kMinHookShare)));
}

}  // namespace vigil
