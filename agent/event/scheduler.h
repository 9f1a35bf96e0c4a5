// Scheduler: one-shot timers on the monotonic clock, and work posted to run after the current
// event. Implemented by EventLoop (with a timerfd) and, in tests, by a fake driven by a
// FakeClock. Single-threaded: only the loop thread calls it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

#include "agent/base/clock.h"

namespace vigil {

using TimerId = uint64_t;
inline constexpr TimerId kNoTimer = 0;

// How long one piece of big work may hold a turn of the loop before it lets the rest of the
// loop run (it goes on in the next turn, Scheduler::RunNextTurn): the traffic watch's search of
// /proc, a drain's stop signals, the reaping of a burst of exits. Each does a minimum per turn
// too, so that it progresses on a loop starved of CPU (at 10,000 workers on 2 vCPUs the core
// gets about a quarter of one). Short enough that the signals, the control plane and the
// workers' heartbeats wait tens of milliseconds at most; long enough that the work is not mostly
// turns.
inline constexpr Duration kTurnSlice = std::chrono::milliseconds(20);

// The least a turn reaps of a burst of exits, however slow each reap (Supervisor, SingleCommand).
inline constexpr int kMinReapsPerTurn = 32;

// One turn's slice of big work, from its construction: over once `min` units are done and
// kTurnSlice has passed. The clock is read only once the minimum is done.
class TurnSlice {
 public:
  TurnSlice(const Clock& clock, int min) : clock_(clock), start_(clock.Now()), min_(min) {}
  bool Over(int done) const { return done >= min_ && clock_.Now() - start_ >= kTurnSlice; }

 private:
  const Clock& clock_;
  MonoTime start_;
  int min_;
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  // Runs `callback` once, from the loop, at or after `deadline`. Never returns kNoTimer.
  virtual TimerId RunAt(MonoTime deadline, std::function<void()> callback) = 0;
  // Runs `callback` once, from the loop, after the callback now running returns and before the
  // loop waits for new events (Envoy's Dispatcher::post): for work that must not run inside the
  // caller's own stack, such as a report upward that may change the caller's state. Posted work
  // runs in the order it was posted. Cancelled with Cancel(), like a timer; never kNoTimer.
  virtual TimerId Post(std::function<void()> callback) = 0;
  // Runs `callback` once, in the next turn of the loop, after the events that turn finds ready
  // and whatever timers are due: the continuation of work done a slice at a time (kTurnSlice),
  // which must neither run before the rest of the loop has had its turn (as posted work would)
  // nor wait behind a backlog of due timers (as a deadline of now would: at 10,000 workers the
  // watchdog deadlines due kept a search of /proc waiting seconds between its turns).
  // Cancelled with Cancel(); never kNoTimer.
  virtual TimerId RunNextTurn(std::function<void()> callback) = 0;
  // Cancelling an unknown, fired or already-cancelled timer (or posted work) is a no-op.
  virtual void Cancel(TimerId id) = 0;
};

}  // namespace vigil
