// LifecycleService: the public vigil.v1.Lifecycle API (proto/vigil/v1/lifecycle.proto).
//
// Reads are answered from the ReadModel; commands are forwarded to the core over the
// CoreConnection and answered when the core replies. Nothing here blocks a gRPC thread: every
// call returns a reactor that is completed later, from whichever thread has the answer.
// With a token, every call must carry "authorization: Bearer <token>" (compared in constant
// time), else UNAUTHENTICATED: that is the TCP listener's instance.
// Every request is checked (request_checks.h) before it goes to the core; each listener has
// its own instance and CallGate, so that clients of one listener cannot crowd out another's;
// server streams queue within the process's StreamBudget (reactors.h).
#pragma once

#include <string>

#include "agent/control/call_gate.h"
#include "agent/control/core_connection.h"
#include "agent/control/reactors.h"
#include "agent/control/read_model.h"
#include "vigil/v1/lifecycle.grpc.pb.h"

namespace vigil::control {

class LifecycleService final : public v1::Lifecycle::CallbackService {
 public:
  LifecycleService(ReadModel& model, CoreConnection& core, std::string token, CallGate& gate,
                   StreamEnv streams)
      : model_(model), core_(core), token_(std::move(token)), gate_(gate), streams_(streams) {}

  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext* context,
                                      const v1::GetStatusRequest* request,
                                      v1::GetStatusResponse* response) override;
  grpc::ServerWriteReactor<v1::Event>* Watch(grpc::CallbackServerContext* context,
                                             const v1::WatchRequest* request) override;
  grpc::ServerUnaryReactor* Drain(grpc::CallbackServerContext* context,
                                  const v1::DrainRequest* request,
                                  v1::DrainResponse* response) override;
  grpc::ServerWriteReactor<v1::DrainProgress>* DrainStream(
      grpc::CallbackServerContext* context, const v1::DrainRequest* request) override;
  grpc::ServerUnaryReactor* Scale(grpc::CallbackServerContext* context,
                                  const v1::ScaleRequest* request,
                                  v1::ScaleResponse* response) override;
  grpc::ServerUnaryReactor* Restart(grpc::CallbackServerContext* context,
                                    const v1::RestartRequest* request,
                                    v1::RestartResponse* response) override;
  grpc::ServerUnaryReactor* Signal(grpc::CallbackServerContext* context,
                                   const v1::SignalRequest* request,
                                   v1::SignalResponse* response) override;
  grpc::ServerUnaryReactor* Shutdown(grpc::CallbackServerContext* context,
                                     const v1::ShutdownRequest* request,
                                     v1::ShutdownResponse* response) override;

 private:
  // An error status when the call may not proceed (token, core not connected), else OK.
  grpc::Status Admit(grpc::CallbackServerContext* context) const;
  // Sends `command` while holding a place among the listener's pending calls; finishes the
  // call with the core's verdict, running `on_ok` first. Refused at once when the listener is
  // full.
  grpc::ServerUnaryReactor* Forward(grpc::CallbackServerContext* context,
                                    internal::v1::Command command,
                                    std::function<void(const internal::v1::Result&)> on_ok);
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
