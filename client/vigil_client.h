// VigilClient: a small C++ client of a running agent's control plane, for vigilctl and for
// programs that embed it. Synchronous; one instance per thread.
//
// Connects to the unix socket (default /run/vigil/control.sock, or VIGIL_SOCKET), or to a TCP
// address with a bearer token. Every call returns a grpc::Status whose message says what went
// wrong in the agent's words; UNAVAILABLE means the agent could not be reached.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "grpc/health/v1/health.grpc.pb.h"
#include "vigil/v1/lifecycle.grpc.pb.h"

namespace vigil::client {

struct Endpoint {
  std::string target;  // "unix:/run/vigil/control.sock" or "host:port"
  std::string token;   // bearer token, for TCP
};

class VigilClient {
 public:
  explicit VigilClient(const Endpoint& endpoint);

  // The whole status, page after page (each answer is at most about 1 MiB; docs/control.md).
  grpc::Status GetStatus(v1::AgentStatus* status, std::chrono::milliseconds timeout);
  // Drain; with wait, returns when complete (or at the timeout: DEADLINE_EXCEEDED).
  grpc::Status Drain(const v1::DrainRequest& request, v1::DrainProgress* progress,
                     std::chrono::milliseconds timeout);
  grpc::Status Scale(const std::string& pool, int replicas, v1::Pool* result,
                     std::chrono::milliseconds timeout);
  grpc::Status Restart(const std::string& pool, int max_unavailable,
                       std::chrono::milliseconds timeout);
  grpc::Status Signal(const std::string& pool, int slot, const std::string& signal, int* signalled,
                      std::chrono::milliseconds timeout);
  grpc::Status Shutdown(const std::string& reason, std::chrono::milliseconds timeout);
  // grpc.health.v1 Check of `service` ("liveness", "readiness", "").
  grpc::Status Health(const std::string& service, bool* serving, std::chrono::milliseconds timeout);
  // Calls `on_event` for every event until it returns false, the stream ends or the timeout.
  grpc::Status Watch(const std::function<bool(const v1::Event&)>& on_event,
                     std::chrono::milliseconds timeout);

  const std::string& target() const { return endpoint_.target; }

 private:
  // `wait_for_ready`: keep trying to reach the agent until the deadline instead of failing at
  // once (wait-ready before the agent is up; a preStop drain while vigil-control restarts).
  void Prepare(grpc::ClientContext* context, std::chrono::milliseconds timeout,
               bool wait_for_ready = false) const;

  Endpoint endpoint_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Lifecycle::Stub> lifecycle_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

}  // namespace vigil::client
