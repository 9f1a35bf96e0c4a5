// HealthService: grpc.health.v1.Health (proto/grpc/health/v1/health.proto), the protocol of
// the kubelet's native gRPC probe, answered from the ReadModel:
//   "liveness"           SERVING while the core answers (Liveness: NOT_SERVING once it has
//                        missed several pings; a drain never turns it off)
//   "readiness" and ""   SERVING when the agent is ready; NOT_SERVING from the first instant of
//                        a drain
//   anything else        NOT_FOUND (Check) or SERVICE_UNKNOWN (Watch), as the protocol says
// Our own implementation rather than gRPC's built-in one (which is a callback service, and would
// bring back gRPC's polling threads: reactors.h), so that a server can serve health alone (the
// kubelet's port) and so that the token-guarded port guards health too.
// Each listener has its own instance: Watch streams count against that listener's CallGate and
// queue within the process's StreamBudget (reactors.h); Check is answered at once, never
// limited.
#pragma once

#include <string>
#include <vector>

#include "agent/control/call_gate.h"
#include "agent/control/grpc_server.h"
#include "agent/control/liveness.h"
#include "agent/control/reactors.h"
#include "agent/control/read_model.h"
#include "grpc/health/v1/health.pb.h"

namespace vigil::control {

class HealthService final : public GrpcService {
 public:
  HealthService(ReadModel& model, Liveness& liveness, std::string token, CallGate& gate,
                StreamEnv streams)
      : model_(model),
        liveness_(liveness),
        token_(std::move(token)),
        gate_(gate),
        streams_(streams) {}

  const std::string& name() const override;
  bool Serve(ServerCall& call, const std::string& method,
             const std::vector<std::string>& services) override;

 private:
  void Check(ServerCall& call, const grpc::health::v1::HealthCheckRequest& request);
  void Watch(ServerCall& call, const grpc::health::v1::HealthCheckRequest& request);
  bool Authorized(const grpc::ServerContext& context) const;
  grpc::health::v1::HealthCheckResponse::ServingStatus StatusOf(const std::string& service);

  ReadModel& model_;
  Liveness& liveness_;
  std::string token_;
  CallGate& gate_;
  StreamEnv streams_;
};

}  // namespace vigil::control
