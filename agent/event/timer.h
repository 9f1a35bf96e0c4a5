// Timer: a one-shot timer owned by a handle that cancels it when destroyed, re-armed or
// cancelled (Envoy's TimerPtr idea). Owners keep a Timer member instead of a TimerId and no
// longer write cancel code in their destructors: a callback can never outlive the object it
// captured, and a re-arm can never leave the previous deadline armed.
//
// Contract: single-threaded (the loop's thread). The Scheduler must outlive every Timer made
// from it. A Timer is movable (a slot record in a vector holds one); the callback may destroy or
// re-arm its own Timer. `armed()` is false once the callback has started, so a callback can arm
// the next deadline of the same timer; it stays true while a postponed timer waits for its new
// deadline (Postpone).
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include "agent/base/clock.h"
#include "agent/event/scheduler.h"

namespace vigil {

class Timer {
 public:
  Timer() = default;
  explicit Timer(Scheduler& scheduler) : state_(std::make_unique<State>(&scheduler)) {}
  ~Timer() { Cancel(); }

  Timer(Timer&&) noexcept = default;
  Timer& operator=(Timer&& other) noexcept {
    if (this != &other) {
      Cancel();
      state_ = std::move(other.state_);
    }
    return *this;
  }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // Runs `callback` once at or after `deadline`, cancelling whatever this timer had armed.
  void ArmAt(MonoTime deadline, std::function<void()> callback) {
    Arm(std::move(callback), deadline, [deadline](Scheduler& scheduler, std::function<void()> run) {
      return scheduler.RunAt(deadline, std::move(run));
    });
  }

  // Moves the deadline of a timer armed with ArmAt() later, to `deadline`, keeping its callback,
  // without a call to the scheduler: the timer still fires at the deadline it was scheduled
  // for, finds it moved, and schedules itself for the new one; the callback runs only then.
  // For a deadline pushed back over and over (a worker's watchdog, at each of its pings): no
  // scheduler work per push, one extra firing per period. False, and nothing changed, when the
  // timer is not armed with ArmAt() or `deadline` is earlier than its deadline: arm it then.
  bool Postpone(MonoTime deadline) {
    if (!armed() || !state_->deadline || deadline < *state_->deadline) return false;
    if (deadline > *state_->deadline) {
      state_->deadline = deadline;
      state_->moved = true;
    }
    return true;
  }

  // Runs `callback` once after the event now running (Scheduler::Post), as a deadline already
  // due would run but without the loop's round trip through its timerfd; cancelling whatever
  // this timer had armed. Cancelled, re-armed and `armed()` like a deadline.
  void ArmNow(std::function<void()> callback) {
    Arm(std::move(callback), std::nullopt, [](Scheduler& scheduler, std::function<void()> run) {
      return scheduler.Post(std::move(run));
    });
  }

  // Runs `callback` once in the next turn of the loop (Scheduler::RunNextTurn), cancelling
  // whatever this timer had armed. Cancelled, re-armed and `armed()` like a deadline.
  void ArmNextTurn(std::function<void()> callback) {
    Arm(std::move(callback), std::nullopt, [](Scheduler& scheduler, std::function<void()> run) {
      return scheduler.RunNextTurn(std::move(run));
    });
  }

  // Idempotent: cancelling a fired, cancelled or never-armed timer does nothing.
  void Cancel() {
    if (state_ && state_->id != kNoTimer) {
      state_->scheduler->Cancel(state_->id);
      state_->id = kNoTimer;
      state_->callback = nullptr;  // what it captured goes now, as with the scheduler's copy
    }
  }

  bool armed() const { return state_ && state_->id != kNoTimer; }

 private:
  struct State {
    explicit State(Scheduler* s) : scheduler(s) {}
    Scheduler* scheduler;
    TimerId id = kNoTimer;
    std::function<void()> callback;
    std::optional<MonoTime> deadline;  // ArmAt's, later once postponed
    bool moved = false;                // postponed past the deadline the scheduler has
  };

  // Cancels what was armed and hands the firing to `schedule` (one of the Scheduler's ways).
  template <typename Schedule>
  void Arm(std::function<void()> callback, std::optional<MonoTime> deadline, Schedule schedule) {
    if (!state_) return;  // A default-constructed Timer has no scheduler: nothing to arm.
    Cancel();
    State* state = state_.get();  // Heap-stable across moves; the timer is cancelled before
                                  // the state is freed, so a firing never sees it dangling.
    state->callback = std::move(callback);
    state->deadline = deadline;
    state->moved = false;
    state->id = schedule(*state->scheduler, [state] { Fire(state); });
  }

  // The timer is no longer armed once its callback runs, so the callback can arm it again.
  static void Fire(State* state) {
    if (state->moved) {
      state->moved = false;
      state->id = state->scheduler->RunAt(*state->deadline, [state] { Fire(state); });
      return;
    }
    state->id = kNoTimer;
    std::function<void()> callback = std::move(state->callback);
    state->callback = nullptr;
    callback();
  }

  std::unique_ptr<State> state_;
};

}  // namespace vigil
