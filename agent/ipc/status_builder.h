// Turns the Supervisor's state into the messages of the control protocol (ipc.proto): the
// snapshot sent on every (re)connect of vigil-control and the events that follow. Times go out
// as wall-clock milliseconds (for people and the API), converted from the core's monotonic
// clock at the moment of building. Read-only; called on the core loop.
#pragma once

#include "agent/supervisor/supervisor.h"
#include "vigil/internal/v1/ipc.pb.h"

namespace vigil {

// A drain names at most this many stragglers (and counts them all), so that a drain event's
// size does not grow with the pools.
inline constexpr int kMaxStragglerNames = 100;

class StatusBuilder {
 public:
  StatusBuilder(const Supervisor& supervisor, const Clock& clock)
      : supervisor_(supervisor), clock_(clock) {}

  // The whole snapshot in one message (tests; the link sends it in parts: SnapshotStream).
  internal::v1::Snapshot Snapshot() const;
  void FillWorker(const Pool& pool, int slot, internal::v1::WorkerInfo* out) const;
  void FillPool(const Pool& pool, bool with_workers, internal::v1::PoolInfo* out) const;
  void FillDrain(internal::v1::DrainInfo* out) const;
  internal::v1::Phase Phase() const;
  int64_t NowUnixMs() const;
  int64_t ToUnixMs(MonoTime t) const;

 private:
  const Supervisor& supervisor_;
  const Clock& clock_;
};

}  // namespace vigil
