// QuietTracker: when the traffic-aware propagation delay (`drain.propagation_delay: auto`,
// docs/drain.md) is over, decided from samples of the workers' TCP ports. Pure: no clock, no
// syscall; the watch (traffic_watch.h) feeds it.
//
//   readiness off (start) ─ samples ─> over (quiet) once, at a sample:
//     now >= start + min_delay, and
//     no new connection for quiet_period (counted from the start, or from the last sample that
//     saw one; a sample that could not be taken, and the time before the first, count as
//     traffic), and
//     with hold_connections, no connection still open (being set up, established, or closed by
//     the peer only).
// The upper bound (max_delay, capped by GracePlan) is the drain's propagation timer, not this.
#pragma once

#include <cstdint>
#include <optional>

#include "agent/base/clock.h"
#include "agent/config/config.h"

namespace vigil {

// Why the propagation delay ended (log `propagation_over`, metric
// vigil_drain_propagation_ends_total).
enum class PropagationEnd {
  kQuiet,       // auto: no new connection for quiet_period
  kMaxDelay,    // auto: max_delay came first (or the ports could not be watched)
  kNoListener,  // auto: no TCP port to watch: min_delay
  kFixed,       // a fixed propagation_delay ran out
  kCutShort,    // the drain moved on first: every pool idle, a fast stop, the deadline
};
inline constexpr int kPropagationEndCount = 5;
const char* PropagationEndName(PropagationEnd end);

class QuietTracker {
 public:
  QuietTracker(const DrainConfig& config, MonoTime start)
      : config_(config), start_(start), last_traffic_(start) {}

  // One sample at `now`: the connections that were new since the last sample (nullopt: the
  // sample failed), and how many are still open. True when the delay is over.
  bool Sample(MonoTime now, std::optional<uint64_t> new_connections, uint64_t open);
  // Nothing could be seen from the start until `now` (the ports were being searched for):
  // counted as traffic at `now`, as a failed sample is.
  void Unseen(MonoTime now) {
    if (now > last_traffic_) last_traffic_ = now;
  }

  // New connections seen since the start.
  uint64_t connections() const { return connections_; }

 private:
  DrainConfig config_;
  MonoTime start_;
  MonoTime last_traffic_;
  uint64_t connections_ = 0;
};

}  // namespace vigil
