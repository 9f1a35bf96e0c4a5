// GracePlan: every deadline the drain derives from the grace period, computed here and nowhere
// else (docs/drain.md, "The drain, step by step").
//
//   drain start ── propagation delay ── ... ── deadline ── fast window ── ... grace period end
//                                              (grace − safety margin)   (kubelet's SIGKILL)
//
// - the drain's deadline: start + grace period − safety margin, or sooner if the caller asked;
// - the propagation delay's latest end: the fixed delay, or auto's max_delay within
//   [min_delay, half the time to the deadline];
// - the fast window: how long stragglers get after their fast signal before SIGKILL, at the
//   deadline (min(safety margin / 2, 5 s)) and on a fast stop (5 s);
// - a pool's kill time: its own stop_timeout, never past the deadline plus the fast window;
// - a stop hook's end: what is left of the grace period (less 0.5 s to exit) shared among the
//   hooks still to run, at most the hook's own timeout, at least 100 ms.
//
// A value type of pure functions: no clock, no state; every sum saturates (duration.h), so an
// absurd grace period or stop_timeout is "never", not a deadline in the past.
#pragma once

#include "agent/base/clock.h"
#include "agent/config/config.h"

namespace vigil {

// How long workers get after the fast stop signal (SIGINT/SIGQUIT to Vigil, the deadline of a
// drain) before SIGKILL, when their stop_timeout is longer.
inline constexpr Duration kFastStopTimeout = std::chrono::seconds(5);
// Kept free at the end of the grace period for Vigil's own exit, when hooks share what is left.
inline constexpr Duration kHookExitReserve = std::chrono::milliseconds(500);
// The least a stop hook is given, however little is left.
inline constexpr Duration kMinHookShare = std::chrono::milliseconds(100);

class GracePlan {
 public:
  explicit GracePlan(const DrainConfig& config) : config_(config) {}

  // When the drain started at `start` must be over: start + grace period − safety margin, or
  // start + `requested` when that is sooner (a requested duration <= 0 asks for nothing).
  MonoTime Deadline(MonoTime start, Duration requested) const;
  // When the propagation delay of a drain started at `start` (deadline `deadline`) ends at the
  // latest: start + the fixed delay; with auto, start + max_delay, but never more than half the
  // time to the deadline nor less than min_delay (the traffic watch may end it sooner).
  MonoTime PropagationEnd(MonoTime start, MonoTime deadline) const;
  // After the fast signal at the deadline, the stragglers' time before SIGKILL.
  Duration DeadlineFastWindow() const;
  // When a pool told to stop gracefully at `now` is SIGKILLed: its stop_timeout, capped at the
  // deadline plus the fast window.
  MonoTime GracefulKillAt(MonoTime now, Duration stop_timeout, MonoTime deadline) const;
  // When a pool told to stop fast at `now` is SIGKILLed. `at_deadline`: the drain's deadline
  // came (the fast window from the deadline); otherwise a fast stop (kFastStopTimeout from
  // now). Never past GracefulKillAt, never before `now`.
  MonoTime FastKillAt(MonoTime now, Duration stop_timeout, MonoTime deadline,
                      bool at_deadline) const;
  // When a stop hook spawned at `now` is SIGKILLed: its `timeout`, or its share of what is left
  // of the grace period (drain started at `start`) among `hooks_left` hooks (itself included).
  MonoTime HookEnd(MonoTime now, MonoTime start, Duration timeout, int hooks_left) const;

 private:
  DrainConfig config_;
};

}  // namespace vigil
