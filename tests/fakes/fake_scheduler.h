// FakeScheduler: a Scheduler whose timers fire only when the test advances a FakeClock.
//
// Built on the real DeadlineQueue, so ordering (deadline, then insertion order) is the
// production ordering. AdvanceTo() walks the clock forward deadline by deadline: when a timer
// fires, Now() reads exactly its deadline, so a callback that schedules "now + d" gets the same
// absolute deadline it would get from a punctual real loop. Callbacks may schedule and cancel
// timers, including timers due in the same step: a cancelled timer never runs.
//
// Posted work (Scheduler::Post) runs as the real loop runs it: after each timer's callback, and
// when the test says the current event is over (RunPosted(), which AdvanceTo() and RunDue() also
// start with). A test that calls a component directly (as the loop would, for an exit or a
// datagram) calls RunPosted() afterwards to finish the loop's turn.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <unordered_set>
#include <utility>

#include "agent/event/deadline_queue.h"
#include "agent/event/scheduler.h"
#include "tests/fakes/fake_clock.h"

namespace vigil::testing {

class FakeScheduler final : public Scheduler {
 public:
  explicit FakeScheduler(FakeClock& clock) : clock_(clock) {}

  TimerId RunAt(MonoTime deadline, std::function<void()> callback) override {
    auto id_holder = std::make_shared<TimerId>(kNoTimer);
    const TimerId id = queue_.Add(deadline, [this, id_holder, callback = std::move(callback)] {
      // Skip timers cancelled by an earlier callback of the same step.
      if (live_.erase(*id_holder) == 0) return;
      ++fired_;
      callback();
    });
    *id_holder = id;
    live_.insert(id);
    ++scheduled_;
    return id;
  }

  // A deadline of now: RunOneDue() is a turn that runs it.
  TimerId RunNextTurn(std::function<void()> callback) override {
    ++next_turn_requests_;
    return RunAt(clock_.Now(), std::move(callback));
  }
  size_t next_turn_requests() const { return next_turn_requests_; }

  TimerId Post(std::function<void()> callback) override {
    const TimerId id = next_posted_++;
    posted_.emplace(id, std::move(callback));
    return id;
  }

  void Cancel(TimerId id) override {
    if (id & kPostedBit) {
      posted_.erase(id);
      return;
    }
    queue_.Cancel(id);
    live_.erase(id);
  }

  // Runs the posted work, in posting order, and what it posts in turn.
  void RunPosted() {
    while (!posted_.empty()) {
      auto first = posted_.begin();
      std::function<void()> callback = std::move(first->second);
      posted_.erase(first);
      ++posted_ran_;
      callback();
    }
  }

  // Moves the clock to `t`, running every timer due on the way, earliest first, with the clock
  // set to each timer's deadline while it runs. Timers that callbacks add are run too when they
  // fall due before `t`.
  void AdvanceTo(MonoTime t) {
    RunPosted();
    for (;;) {
      std::optional<MonoTime> earliest = queue_.Earliest();
      if (!earliest || *earliest > t) break;
      if (*earliest > clock_.Now()) clock_.Set(*earliest);
      while (auto callback = queue_.PopNextDue(clock_.Now())) {
        (*callback)();
        RunPosted();
      }
    }
    if (t > clock_.Now()) clock_.Set(t);
  }
  void AdvanceBy(Duration d) { AdvanceTo(clock_.Now() + d); }
  // One turn of the loop that finds one timer due now: runs it (and the work it posts) without
  // moving the clock; false when none is due. A callback re-arming itself for now runs again
  // only on the next call, as the real loop runs it only after its next epoll_wait.
  bool RunOneDue() {
    RunPosted();
    auto callback = queue_.PopNextDue(clock_.Now());
    if (!callback) return false;
    (*callback)();
    RunPosted();
    return true;
  }
  // Runs whatever is due now without moving the clock.
  void RunDue() { AdvanceTo(clock_.Now()); }

  size_t pending() const { return live_.size(); }  // timers
  size_t posted() const { return posted_.size(); }
  size_t posted_ran() const { return posted_ran_; }
  std::optional<MonoTime> NextDeadline() const { return queue_.Earliest(); }
  size_t fired() const { return fired_; }
  size_t scheduled() const { return scheduled_; }
  FakeClock& clock() { return clock_; }

 private:
  FakeClock& clock_;
  DeadlineQueue queue_;
  std::unordered_set<TimerId> live_;
  size_t fired_ = 0;
  size_t scheduled_ = 0;
  static constexpr TimerId kPostedBit = TimerId{1} << 63;  // as EventLoop: ids of posted work
  std::map<TimerId, std::function<void()>> posted_;
  TimerId next_posted_ = kPostedBit | 1;
  size_t posted_ran_ = 0;
  size_t next_turn_requests_ = 0;
};

}  // namespace vigil::testing
