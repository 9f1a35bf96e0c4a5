// SnapshotStream: the core's snapshot for vigil-control, made part by part as the socket drains
// (ipc.proto, Snapshot), so that neither a frame nor the core's output buffer grows with the
// size of the pools. Each part is built from the state of the moment it is made; the events
// sent between parts keep the picture being built current. Read-only over the Supervisor;
// single-threaded (the core loop).
#pragma once

#include <cstddef>

#include "agent/ipc/status_builder.h"

namespace vigil {

class SnapshotStream {
 public:
  SnapshotStream(const Supervisor& supervisor, const StatusBuilder& builder)
      : supervisor_(supervisor), builder_(builder) {}

  // A new picture, from its first part.
  void Restart();
  void Stop() { active_ = false; }
  bool active() const { return active_; }
  // The next part (call only while active()): pools and workers from where the last part
  // stopped, until about `budget` bytes of them (one worker at least, unless `budget` is 0: the
  // first part's phase, readiness and drain alone); the last part ends the stream.
  internal::v1::Snapshot NextPart(size_t budget);

 private:
  const Supervisor& supervisor_;
  const StatusBuilder& builder_;
  bool active_ = false;
  bool first_ = false;
  size_t pool_ = 0;
  int slot_ = 0;
};

}  // namespace vigil
