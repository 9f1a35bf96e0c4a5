#include "agent/event/deadline_queue.h"

namespace vigil {

TimerId DeadlineQueue::Add(MonoTime deadline, std::function<void()> callback) {
  const TimerId id = next_id_++;
  by_deadline_.emplace(Key{deadline, id}, std::move(callback));
  deadline_of_.emplace(id, deadline);
  return id;
}

bool DeadlineQueue::Cancel(TimerId id) {
  auto it = deadline_of_.find(id);
  if (it == deadline_of_.end()) return false;
  by_deadline_.erase(Key{it->second, id});
  deadline_of_.erase(it);
  return true;
}

std::optional<MonoTime> DeadlineQueue::Earliest() const {
  if (by_deadline_.empty()) return std::nullopt;
  return by_deadline_.begin()->first.first;
}

std::optional<std::function<void()>> DeadlineQueue::PopNextDue(MonoTime now) {
  if (by_deadline_.empty() || by_deadline_.begin()->first.first > now) return std::nullopt;
  auto node = by_deadline_.extract(by_deadline_.begin());
  deadline_of_.erase(node.key().second);
  return std::move(node.mapped());
}

std::vector<std::function<void()>> DeadlineQueue::PopDue(MonoTime now) {
  std::vector<std::function<void()>> due;
  while (!by_deadline_.empty() && by_deadline_.begin()->first.first <= now) {
    auto node = by_deadline_.extract(by_deadline_.begin());
    deadline_of_.erase(node.key().second);
    due.push_back(std::move(node.mapped()));
  }
  return due;
}

}  // namespace vigil
