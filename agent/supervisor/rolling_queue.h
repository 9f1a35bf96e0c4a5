// RollingQueue: the slots of a pool waiting to be stopped and replaced, a batch at a time, and
// the batch being replaced now. One queue for both ways a live worker is replaced: a rolling
// restart (the API; `max_unavailable` slots per batch) and recycling at max_lifetime (a rolling
// restart of one slot). The next batch is drawn only once every slot of the current one is back
// (ready) or will not come back (exited, or dropped by a scale-down), so replacing workers never
// takes more of the pool down than the batch allows.
//
// Pure: the owner (Pool) says which slots are settled and which can be stopped, and stops what
// NextBatch() returns. Bounded: a slot is queued at most once per cause, so the queue holds at
// most two entries per slot. Single-threaded.
#pragma once

#include <deque>
#include <functional>
#include <vector>

#include "agent/supervisor/worker.h"

namespace vigil {

class RollingQueue {
 public:
  struct Entry {
    int slot = -1;
    StopCause cause = StopCause::kRestart;  // kRestart or kRecycle
  };

  // Recycling `slot`: queued unless it is queued or being replaced already (for either cause).
  void Recycle(int slot);
  // A rolling restart of `slots`, `max_unavailable` (at least 1) at a time; it replaces the
  // slots still queued by an earlier restart. Queued recycles keep their turn.
  void Restart(const std::vector<int>& slots, int max_unavailable);
  // Forgets everything queued and the current batch (the pool is stopping for good).
  void Clear();

  // The next batch, if the current one is done: each of its slots is `settled` (ready, exited or
  // gone). Entries are taken in order while `replaceable` holds for them (others are dropped: a
  // worker that is not running has nothing to replace), up to the batch size of the first
  // one's cause (kRestart: max_unavailable; kRecycle: 1); a batch holds one cause. Returns
  // nothing while the current batch is still under way.
  std::vector<Entry> NextBatch(const std::function<bool(int)>& settled,
                               const std::function<bool(int)>& replaceable);

  size_t queued() const { return queue_.size(); }
  const std::vector<Entry>& batch() const { return batch_; }

 private:
  bool Holds(int slot) const;  // queued or in the batch, for either cause

  std::deque<Entry> queue_;
  std::vector<Entry> batch_;
  int restart_batch_size_ = 1;
};

}  // namespace vigil
