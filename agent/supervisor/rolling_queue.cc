#include "agent/supervisor/rolling_queue.h"

#include <algorithm>

namespace vigil {

bool RollingQueue::Holds(int slot) const {
  auto is = [slot](const Entry& e) { return e.slot == slot; };
  return std::any_of(queue_.begin(), queue_.end(), is) ||
         std::any_of(batch_.begin(), batch_.end(), is);
}

void RollingQueue::Recycle(int slot) {
  if (Holds(slot)) return;
  queue_.push_back(Entry{slot, StopCause::kRecycle});
}

void RollingQueue::Restart(const std::vector<int>& slots, int max_unavailable) {
  restart_batch_size_ = std::max(1, max_unavailable);
  std::erase_if(queue_, [](const Entry& e) { return e.cause == StopCause::kRestart; });
  for (int slot : slots) {
    // A slot queued for recycling is replaced once, by the restart: its recycle turn goes.
    std::erase_if(queue_, [slot](const Entry& e) { return e.slot == slot; });
    queue_.push_back(Entry{slot, StopCause::kRestart});
  }
}

void RollingQueue::Clear() {
  queue_.clear();
  batch_.clear();
}

std::vector<RollingQueue::Entry> RollingQueue::NextBatch(
    const std::function<bool(int)>& settled, const std::function<bool(int)>& replaceable) {
  for (const Entry& e : batch_) {
    if (!settled(e.slot)) return {};
  }
  batch_.clear();
  while (!queue_.empty()) {
    const Entry next = queue_.front();
    if (!batch_.empty() && next.cause != batch_.front().cause) break;
    const size_t limit =
        next.cause == StopCause::kRestart ? static_cast<size_t>(restart_batch_size_) : 1;
    if (batch_.size() >= limit) break;
    queue_.pop_front();
    if (replaceable(next.slot)) batch_.push_back(next);
  }
  return batch_;
}

}  // namespace vigil
