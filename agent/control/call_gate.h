// CallGate: the admission of gRPC calls at one listener (limits.h): at most `max_streams`
// server streams open at once, and at most `max_pending` unary calls waiting for the core.
// A call that finds no room is refused RESOURCE_EXHAUSTED by the service, naming the limit,
// and counted. Thread-safe.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>

#include "agent/control/control_counters.h"
#include "agent/control/limits.h"

namespace vigil::control {

class CallGate {
 public:
  // Held for as long as the call holds its place; gives it back when the last copy goes.
  class Ticket {
   public:
    Ticket(CallGate* gate, bool stream) : gate_(gate), stream_(stream) {}
    ~Ticket() { gate_->Leave(stream_); }
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;

   private:
    CallGate* gate_;
    bool stream_;
  };
  using TicketPtr = std::shared_ptr<Ticket>;

  CallGate(Listener listener, limits::GrpcListener limits, ControlCounters& counters)
      : listener_(listener), limits_(limits), counters_(counters) {}

  // A ticket, or null (with `*refusal` set and the refusal counted) when the listener is full.
  TicketPtr EnterStream(grpc::Status* refusal);
  TicketPtr EnterPending(grpc::Status* refusal);

  Listener listener() const { return listener_; }
  // Unary calls holding a place now (waiting for the core, or for a fresh snapshot).
  int pending() const { return pending_.load(); }

 private:
  void Leave(bool stream);

  const Listener listener_;
  const limits::GrpcListener limits_;
  ControlCounters& counters_;
  std::atomic<int> streams_{0};
  std::atomic<int> pending_{0};
};

}  // namespace vigil::control
