#include "agent/lifecycle/quiet_tracker.h"

#include "agent/base/duration.h"

namespace vigil {

const char* PropagationEndName(PropagationEnd end) {
  switch (end) {
    case PropagationEnd::kQuiet:
      return "quiet";
    case PropagationEnd::kMaxDelay:
      return "max_delay";
    case PropagationEnd::kNoListener:
      return "no_listener";
    case PropagationEnd::kFixed:
      return "fixed";
    case PropagationEnd::kCutShort:
      return "cut_short";
  }
  return "?";
}

bool QuietTracker::Sample(MonoTime now, std::optional<uint64_t> new_connections, uint64_t open) {
  if (!new_connections.has_value()) {
    last_traffic_ = now;  // Unknown: assume the worst, a connection just arrived.
  } else if (*new_connections > 0) {
    connections_ += *new_connections;
    last_traffic_ = now;
  }
  if (now < SaturatingAdd(start_, config_.min_delay)) return false;
  if (now - last_traffic_ < config_.quiet_period) return false;
  return !config_.hold_connections || open == 0;
}

}  // namespace vigil
