#include "agent/supervisor/backoff.h"

#include <algorithm>
#include <cmath>

namespace vigil {

Duration BackoffDelay(const BackoffConfig& config, int consecutive_failures, double uniform01) {
  if (config.initial <= Duration::zero()) return Duration::zero();
  const double max_ns = static_cast<double>(config.max.count());
  const int steps = std::max(0, consecutive_failures - 1);
  double ns = static_cast<double>(config.initial.count()) *
              std::pow(config.multiplier, std::min(steps, 64));
  ns = std::min(ns, max_ns);
  ns *= 1.0 + config.jitter * (2.0 * uniform01 - 1.0);
  ns = std::clamp(ns, 0.0, max_ns);
  return Duration(static_cast<int64_t>(ns));
}

}  // namespace vigil
