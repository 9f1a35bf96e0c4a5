// ReadModel: vigil-control's picture of the agent, rebuilt from the core's Snapshot and kept
// current by its Events, in the public API's types (vigil.v1). Thread-safe: the core
// connection's thread writes, gRPC threads read and subscribe.
//
// Subscribers (Watch streams, Drain waiters, the health service) are called after the lock is
// released, in the order events arrived, from the connection thread; they must not block.
#pragma once

#include <functional>
#include <map>
#include <mutex>

#include "vigil/internal/v1/ipc.pb.h"
#include "vigil/v1/lifecycle.pb.h"

namespace vigil::control {

class ReadModel {
 public:
  using Listener = std::function<void(const v1::Event&)>;

  void ApplySnapshot(const internal::v1::Snapshot& snapshot);
  void ApplyEvent(const internal::v1::Event& event);

  v1::AgentStatus Status() const;
  bool connected() const;
  bool ready() const;
  // The drain's progress; has_value() false when no drain has started.
  bool DrainProgress(v1::DrainProgress* out) const;

  // Returns an id for Unsubscribe. The listener gets every event from now on (a SNAPSHOT event
  // first when `with_snapshot`).
  int Subscribe(Listener listener, bool with_snapshot);
  void Unsubscribe(int id);

 private:
  void Publish(const v1::Event& event);  // Called without the lock.

  mutable std::mutex mu_;
  bool connected_ = false;
  v1::AgentStatus status_;
  std::map<int, Listener> listeners_;
  int next_id_ = 1;
};

// The internal messages in the public API's terms.
void ToPublic(const internal::v1::WorkerInfo& in, v1::Worker* out);
void ToPublic(const internal::v1::PoolInfo& in, v1::Pool* out);
void ToPublic(const internal::v1::DrainInfo& in, v1::DrainProgress* out);

}  // namespace vigil::control
