// StreamBudget: the bytes queued for server streams, per stream and for all of them together
// (limits.h). A stream's message being written is always admitted (so a stream can always make
// progress, whatever the size of its first message); a message queued behind it is admitted
// only within both budgets. When all streams together are over budget, the stream furthest
// behind is the one cut off, not whichever happened to receive the next message: clients that
// keep up are never cut off because others stopped reading. Thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>
#include <set>

namespace vigil::control {

// A stream the budget can cut off (reactors.h's QueuedWriter).
class BudgetedStream {
 public:
  virtual ~BudgetedStream() = default;
  // Bytes queued behind the message being written.
  size_t backlog() const { return queued_bytes_.load(std::memory_order_relaxed); }
  // Cuts this stream off, giving its queue back to the budget, if its lock can be had at once
  // (it never waits, so two streams cutting each other cannot deadlock). False if not done.
  virtual bool TryCutOff() = 0;

 protected:
  std::atomic<size_t> queued_bytes_{0};
};

class StreamBudget {
 public:
  StreamBudget(size_t per_stream, size_t total) : per_stream_(per_stream), total_(total) {}

  size_t per_stream() const { return per_stream_; }
  size_t total() const { return total_; }
  size_t used() const { return used_.load(); }

  void Register(BudgetedStream* s) {
    std::lock_guard<std::mutex> lock(mu_);
    streams_.insert(s);
  }
  void Unregister(BudgetedStream* s) {
    std::lock_guard<std::mutex> lock(mu_);
    streams_.erase(s);
  }

  // The message being written: always taken.
  void Take(size_t bytes) { used_.fetch_add(bytes); }
  void Give(size_t bytes) { used_.fetch_sub(bytes); }

  // Takes `bytes` for a message queued behind `self`'s front (the caller holds self's lock),
  // cutting off the streams furthest behind as long as the total would be over budget. False
  // when `self` is itself the one furthest behind: the caller cuts it off.
  bool TakeQueued(BudgetedStream* self, size_t bytes) {
    while (!TryTake(bytes)) {
      std::lock_guard<std::mutex> lock(mu_);
      BudgetedStream* worst = self;
      for (BudgetedStream* s : streams_) {
        if (s->backlog() > worst->backlog()) worst = s;
      }
      if (worst == self || worst->backlog() == 0 || !worst->TryCutOff()) return false;
    }
    return true;
  }

 private:
  bool TryTake(size_t bytes) {
    size_t now = used_.load();
    do {
      if (now + bytes > total_) return false;
    } while (!used_.compare_exchange_weak(now, now + bytes));
    return true;
  }

  const size_t per_stream_;
  const size_t total_;
  std::atomic<size_t> used_{0};
  std::mutex mu_;  // the registry; never held while waiting for a stream's lock
  std::set<BudgetedStream*> streams_;
};

}  // namespace vigil::control
