// PostedWork: work posted to run after the current event (Scheduler::Post), owned by a handle
// that cancels whatever has not run yet when it is destroyed. It is the Timer of posted work: an
// owner (a Pool) keeps one as a member, posts callbacks that capture `this`, and none of them can
// run after the owner is gone.
//
// Contract: single-threaded (the loop's thread). The Scheduler must outlive the handle. Posted
// callbacks run in posting order, each once; a callback may post more, or destroy the handle
// (the rest of its work is then cancelled). Nothing is dropped while the handle lives: the loop
// runs posted work before it waits again (event_loop.h), so work posted during an event that
// ends the agent still runs before the loop looks at whether it is finished.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "agent/event/scheduler.h"

namespace vigil {

class PostedWork {
 public:
  explicit PostedWork(Scheduler& scheduler) : state_(std::make_unique<State>(&scheduler)) {}
  ~PostedWork() { CancelAll(); }
  PostedWork(PostedWork&&) noexcept = default;
  PostedWork& operator=(PostedWork&&) = delete;
  PostedWork(const PostedWork&) = delete;
  PostedWork& operator=(const PostedWork&) = delete;

  void Post(std::function<void()> callback) {
    State* state = state_.get();  // Heap-stable; the work is cancelled before it is freed.
    const uint64_t seq = state->next_seq++;
    const TimerId id = state->scheduler->Post([state, seq, callback = std::move(callback)] {
      state->pending.erase(seq);
      callback();
    });
    state->pending.emplace(seq, id);
  }

  // Cancels every callback that has not run yet.
  void CancelAll() {
    if (!state_) return;
    for (const auto& [seq, id] : state_->pending)
      state_->scheduler->Cancel(id);
    state_->pending.clear();
  }

  size_t pending() const { return state_ ? state_->pending.size() : 0; }

 private:
  struct State {
    explicit State(Scheduler* s) : scheduler(s) {}
    Scheduler* scheduler;
    uint64_t next_seq = 0;
    std::map<uint64_t, TimerId> pending;  // by posting order: what has not run yet
  };
  std::unique_ptr<State> state_;
};

}  // namespace vigil
