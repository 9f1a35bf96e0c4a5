// Durations as people write them in flags, environment variables and config files.
//
// Accepted: a sequence of <number><unit> with units ns, us, ms, s, m, h ("1m30s", "500ms",
// "2.5s"), or a bare number meaning seconds ("30"), as Kubernetes' terminationGracePeriodSeconds.
// Negative values are rejected, and so is anything past kMaxDuration. Pure functions.
#pragma once

#include <string>
#include <string_view>

#include "agent/base/clock.h"
#include "agent/base/status.h"

namespace vigil {

// The largest duration ParseDuration accepts (about 291 years): anything longer is "too large".
inline constexpr Duration kMaxDuration = Duration(9'200'000'000'000'000'000);

StatusOr<Duration> ParseDuration(std::string_view text);

// "1.5s", "250ms", "0s": the shortest exact-ish rendering, for logs and messages.
std::string FormatDuration(Duration d);

}  // namespace vigil
