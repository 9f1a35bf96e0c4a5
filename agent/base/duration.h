// Durations as people write them in flags, environment variables and config files.
//
// Accepted: a sequence of <number><unit> with units ns, us, ms, s, m, h ("1m30s", "500ms",
// "2.5s"), or a bare number meaning seconds ("30"), as Kubernetes' terminationGracePeriodSeconds.
// Negative values are rejected, and so is anything over kMaxDuration.
//
// Arithmetic on durations and deadlines saturates: a value from a file, a flag, an RPC or a
// worker (EXTEND_TIMEOUT_USEC) can be absurd, and a sum that wrapped past int64 nanoseconds
// (292 years) would land in the past and fire at once. A saturated deadline is "never".
// Pure functions.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "agent/base/clock.h"
#include "agent/base/status.h"

namespace vigil {

// The longest duration accepted anywhere (10 years): far beyond any real timeout, and small
// enough that sums of a few of them cannot overflow.
inline constexpr Duration kMaxDuration = std::chrono::hours(24 * 365 * 10);

StatusOr<Duration> ParseDuration(std::string_view text);

constexpr Duration SaturatingAdd(Duration a, Duration b) {
  int64_t out;
  if (__builtin_add_overflow(a.count(), b.count(), &out)) {
    return b.count() > 0 ? Duration::max() : Duration::min();
  }
  return Duration(out);
}

constexpr Duration SaturatingSub(Duration a, Duration b) {
  int64_t out;
  if (__builtin_sub_overflow(a.count(), b.count(), &out)) {
    return b.count() < 0 ? Duration::max() : Duration::min();
  }
  return Duration(out);
}

// `d` after `t`: the deadline MonoTime::max() ("never") rather than a wrapped one.
constexpr MonoTime SaturatingAdd(MonoTime t, Duration d) {
  return MonoTime(SaturatingAdd(t.time_since_epoch(), d));
}

// A count of a coarser unit (milliseconds from an RPC, microseconds from a worker) as a
// Duration, saturated instead of overflowing in the conversion to nanoseconds.
template <typename Rep, typename Period>
constexpr Duration SaturatingCast(std::chrono::duration<Rep, Period> d) {
  using Limit = std::chrono::duration<long double, std::nano>;
  const long double ns = std::chrono::duration_cast<Limit>(d).count();
  if (ns >= static_cast<long double>(std::numeric_limits<int64_t>::max())) return Duration::max();
  if (ns <= static_cast<long double>(std::numeric_limits<int64_t>::min())) return Duration::min();
  return std::chrono::duration_cast<Duration>(d);
}

// "1.5s", "250ms", "0s": the shortest exact-ish rendering, for logs and messages.
std::string FormatDuration(Duration d);

}  // namespace vigil
