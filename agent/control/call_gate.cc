#include "agent/control/call_gate.h"

#include <string>

namespace vigil::control {
namespace {

std::string Where(Listener l) {
  switch (l) {
    case Listener::kUnix:
      return "the unix socket";
    case Listener::kHealth:
      return "the health port";
    case Listener::kApi:
      return "the API port";
    default:
      return ListenerName(l);
  }
}

}  // namespace

CallGate::TicketPtr CallGate::EnterStream(grpc::Status* refusal) {
  if (streams_.fetch_add(1) >= limits_.max_streams) {
    streams_.fetch_sub(1);
    counters_.CallRefused(listener_, RefusedCall::kStreamLimit);
    *refusal = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                            "too many streams open on " + Where(listener_) + " (limit " +
                                std::to_string(limits_.max_streams) + "); retry later");
    return nullptr;
  }
  counters_.StreamOpened(listener_);
  return std::make_shared<Ticket>(this, true);
}

CallGate::TicketPtr CallGate::EnterPending(grpc::Status* refusal) {
  if (pending_.fetch_add(1) >= limits_.max_pending) {
    pending_.fetch_sub(1);
    counters_.CallRefused(listener_, RefusedCall::kPendingLimit);
    *refusal =
        grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                     "too many calls waiting for the agent's core on " + Where(listener_) +
                         " (limit " + std::to_string(limits_.max_pending) + "); retry later");
    return nullptr;
  }
  return std::make_shared<Ticket>(this, false);
}

void CallGate::Leave(bool stream) {
  if (stream) {
    streams_.fetch_sub(1);
    counters_.StreamClosed(listener_);
  } else {
    pending_.fetch_sub(1);
  }
}

}  // namespace vigil::control
