// Restart delays: exponential with a cap and jitter, the kubelet's and systemd's
// (RestartSteps) model, applied after runtime crashes as much as after boot failures.
//
//   delay(n) = min(max, initial * multiplier^(n-1)) * (1 + jitter * (2u - 1)),  u in [0, 1)
// for the n-th consecutive failure (n >= 1), never above max. Pure.
#pragma once

#include "agent/base/clock.h"
#include "agent/config/config.h"

namespace vigil {

Duration BackoffDelay(const BackoffConfig& config, int consecutive_failures, double uniform01);

}  // namespace vigil
