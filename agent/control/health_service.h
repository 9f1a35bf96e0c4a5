// HealthService: grpc.health.v1.Health (proto/grpc/health/v1/health.proto), the protocol of
// the kubelet's native gRPC probe, answered from the ReadModel:
//   "liveness"           SERVING while the core answers (Liveness: NOT_SERVING once it has
//                        missed several pings; a drain never turns it off)
//   "readiness" and ""   SERVING when the agent is ready; NOT_SERVING from the first instant of
//                        a drain
//   anything else        NOT_FOUND (Check) or SERVICE_UNKNOWN (Watch), as the protocol says
// Our own implementation rather than gRPC's built-in one, so that a server can serve health
// alone (the kubelet's port) and so that the token-guarded port guards health too.
// Each listener has its own instance: Watch streams count against that listener's CallGate and
// queue within the process's StreamBudget (reactors.h); Check is answered at once, never
// limited.
#pragma once

#include <string>

#include "agent/control/call_gate.h"
#include "agent/control/liveness.h"
#include "agent/control/reactors.h"
#include "agent/control/read_model.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace vigil::control {

class HealthService final : public grpc::health::v1::Health::CallbackService {
 public:
  HealthService(ReadModel& model, Liveness& liveness, std::string token, CallGate& gate,
                StreamEnv streams)
      : model_(model),
        liveness_(liveness),
        token_(std::move(token)),
        gate_(gate),
        streams_(streams) {}

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::health::v1::HealthCheckRequest* request,
                                  grpc::health::v1::HealthCheckResponse* response) override;
  grpc::ServerWriteReactor<grpc::health::v1::HealthCheckResponse>* Watch(
      grpc::CallbackServerContext* context,
      const grpc::health::v1::HealthCheckRequest* request) override;

 private:
  bool Authorized(grpc::CallbackServerContext* context) const;
  grpc::health::v1::HealthCheckResponse::ServingStatus StatusOf(const std::string& service);

  ReadModel& model_;
  Liveness& liveness_;
  std::string token_;
  CallGate& gate_;
  StreamEnv streams_;
};

}  // namespace vigil::control
