// FakeScheduler: a Scheduler whose timers fire only when the test advances a FakeClock.
//
// Built on the real DeadlineQueue, so ordering (deadline, then insertion order) is the
// production ordering. AdvanceTo() walks the clock forward deadline by deadline: when a timer
// fires, Now() reads exactly its deadline, so a callback that schedules "now + d" gets the same
// absolute deadline it would get from a punctual real loop. Callbacks may schedule and cancel
// timers, including timers due in the same step: a cancelled timer never runs.
#pragma once

#include <functional>
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

  void Cancel(TimerId id) override {
    queue_.Cancel(id);
    live_.erase(id);
  }

  // Moves the clock to `t`, running every timer due on the way, earliest first, with the clock
  // set to each timer's deadline while it runs. Timers that callbacks add are run too when they
  // fall due before `t`.
  void AdvanceTo(MonoTime t) {
    for (;;) {
      std::optional<MonoTime> earliest = queue_.Earliest();
      if (!earliest || *earliest > t) break;
      if (*earliest > clock_.Now()) clock_.Set(*earliest);
      while (auto callback = queue_.PopNextDue(clock_.Now()))
        (*callback)();
    }
    if (t > clock_.Now()) clock_.Set(t);
  }
  void AdvanceBy(Duration d) { AdvanceTo(clock_.Now() + d); }
  // Runs whatever is due now without moving the clock.
  void RunDue() { AdvanceTo(clock_.Now()); }

  size_t pending() const { return live_.size(); }
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
};

}  // namespace vigil::testing
