#include "agent/control/liveness.h"

#include <vector>

namespace vigil::control {

Liveness::Liveness(const Clock& clock, Options options)
    : clock_(clock), options_(options), last_answer_(clock.Now()) {}

Liveness::~Liveness() {
  Stop();
}

void Liveness::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
  }
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    stopping_ = true;
  }
  watch_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

bool Liveness::Check() {
  bool send = false;
  bool alive = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const MonoTime now = clock_.Now();
    if (!outstanding_ && now - last_answer_ >= options_.answer_within) {
      outstanding_ = true;
      ping_sent_ = now;
      send = !stopped_ && ping_ != nullptr;
    }
    if (outstanding_) {
      const auto missed = (now - ping_sent_) / options_.answer_within;
      alive = missed < options_.misses;
    }
  }
  if (send) ping_();  // Outside the lock: it may answer at once (OnAnswer takes the lock).
  return alive;
}

void Liveness::OnAnswer() {
  std::lock_guard<std::mutex> lock(mu_);
  last_answer_ = clock_.Now();
  outstanding_ = false;
}

int Liveness::Subscribe(Listener listener, bool alive_now) {
  std::lock_guard<std::mutex> lock(watch_mu_);
  const int id = next_id_++;
  listeners_.emplace(id, std::make_pair(std::move(listener), alive_now));
  if (!watcher_.joinable() && !stopping_) watcher_ = std::thread([this] { WatchLoop(); });
  watch_cv_.notify_all();
  return id;
}

void Liveness::Unsubscribe(int id) {
  std::lock_guard<std::mutex> lock(watch_mu_);
  listeners_.erase(id);
}

void Liveness::WatchLoop() {
  std::unique_lock<std::mutex> lock(watch_mu_);
  while (!stopping_) {
    if (listeners_.empty()) {
      watch_cv_.wait(lock, [this] { return stopping_ || !listeners_.empty(); });
      continue;
    }
    watch_cv_.wait_for(lock, options_.answer_within / 2, [this] { return stopping_; });
    if (stopping_ || listeners_.empty()) continue;
    lock.unlock();
    const bool alive = Check();
    lock.lock();
    std::vector<Listener> changed;
    for (auto& [id, entry] : listeners_) {
      if (entry.second == alive) continue;
      entry.second = alive;
      changed.push_back(entry.first);
    }
    lock.unlock();
    for (const Listener& l : changed)
      l(alive);
    lock.lock();
  }
}

}  // namespace vigil::control
