// DeadlineQueue: the pure part of the loop's timers, ordered by (deadline, insertion order).
//
// Knows nothing of fds or clocks: the owner asks for the earliest deadline to arm its timerfd,
// and hands in "now" to collect what is due. Cancellation is O(log n). Not thread-safe.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "agent/event/scheduler.h"

namespace vigil {

class DeadlineQueue {
 public:
  TimerId Add(MonoTime deadline, std::function<void()> callback);
  // Returns true when the timer was pending.
  bool Cancel(TimerId id);
  std::optional<MonoTime> Earliest() const;
  // Removes and returns every callback due at `now`, earliest first (ties: insertion order).
  std::vector<std::function<void()>> PopDue(MonoTime now);
  // Removes and returns the earliest callback if it is due at `now`. Run timers one at a time
  // with this when a callback may cancel another timer due in the same batch.
  std::optional<std::function<void()>> PopNextDue(MonoTime now);
  size_t size() const { return by_deadline_.size(); }

 private:
  using Key = std::pair<MonoTime, TimerId>;
  std::map<Key, std::function<void()>> by_deadline_;
  std::unordered_map<TimerId, MonoTime> deadline_of_;
  TimerId next_id_ = 1;
};

}  // namespace vigil
