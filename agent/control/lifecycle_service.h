// LifecycleService: the public vigil.v1.Lifecycle API (proto/vigil/v1/lifecycle.proto).
//
// Reads are answered from the ReadModel; commands are forwarded to the core over the
// CoreConnection and answered when the core replies. Nothing here blocks the completion queue's
// thread (grpc_server.h): every call that waits is completed later, through its handle, from
// whichever thread has the answer (reactors.h).
// With a token, every call must carry "authorization: Bearer <token>" (compared in constant
// time), else UNAUTHENTICATED: that is the TCP listener's instance.
// Every request is checked (request_checks.h) before it goes to the core; each listener has
// its own instance and CallGate, so that clients of one listener cannot crowd out another's;
// server streams queue within the process's StreamBudget (reactors.h).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "agent/control/call_gate.h"
#include "agent/control/core_connection.h"
#include "agent/control/grpc_server.h"
#include "agent/control/reactors.h"
#include "agent/control/read_model.h"
#include "vigil/v1/lifecycle.pb.h"

namespace vigil::control {

class LifecycleService final : public GrpcService {
 public:
  LifecycleService(ReadModel& model, CoreConnection& core, std::string token, CallGate& gate,
                   StreamEnv streams)
      : model_(model), core_(core), token_(std::move(token)), gate_(gate), streams_(streams) {}

  const std::string& name() const override;
  bool Serve(ServerCall& call, const std::string& method,
             const std::vector<std::string>& services) override;

 private:
  void GetStatus(ServerCall& call, const v1::GetStatusRequest& request);
  void Watch(ServerCall& call);
  void Drain(ServerCall& call, const v1::DrainRequest& request);
  void DrainStream(ServerCall& call, const v1::DrainRequest& request);
  void Scale(ServerCall& call, const v1::ScaleRequest& request);
  void Restart(ServerCall& call, const v1::RestartRequest& request);
  void Signal(ServerCall& call, const v1::SignalRequest& request);
  void Shutdown(ServerCall& call, const v1::ShutdownRequest& request);

  // An error status when the call may not proceed (token, core not connected), else OK.
  grpc::Status Admit(const grpc::ServerContext& context) const;
  // Sends `command` while holding a place among the listener's pending calls; answers the
  // call with the core's verdict, `fill` writing the response of an OK one. Refused at once
  // when the listener is full.
  template <typename Response>
  void Forward(ServerCall& call, internal::v1::Command command,
               std::function<void(const internal::v1::Result&, Response*)> fill);
  // The core's drain command for `request` (checked).
  static internal::v1::Command DrainCommand(const v1::DrainRequest& request);

  ReadModel& model_;
  CoreConnection& core_;
  std::string token_;
  CallGate& gate_;
  StreamEnv streams_;
};

// Constant-time comparison of a presented "Bearer <token>" value with the expected token.
bool TokenMatches(const std::string& presented_header, const std::string& token);

}  // namespace vigil::control
