// HttpServer: vigil-control's optional plain-HTTP listener (control.http_port), for images or
// clusters where exec hooks and gRPC probes are unwanted. Paths:
//   GET|POST /drain        preStop: starts the drain (trigger prestop) and holds the request until
//                          the drain is complete: 200 "drained" when every worker ended
//                          gracefully, 500 with the stragglers otherwise, 504 at ?timeout=
//                          (default 1h, at most 24h). Only with control.http_drain: true; needs
//                          "Authorization: Bearer <token>" when a token file is configured.
//   GET /healthz/ready     200 when the agent is ready, else 503.
//   GET /healthz/live      200 while the core answers (Liveness), else 503.
// Served by an HttpListener (http_listener.h): health is answered on its loop thread at once,
// and a waiting /drain holds a connection, not a thread, so neither idle or slow clients nor
// drains in progress can hold up the kubelet's probes.
#pragma once

#include <memory>
#include <string>

#include "agent/control/control_counters.h"
#include "agent/control/core_connection.h"
#include "agent/control/liveness.h"
#include "agent/control/read_model.h"

namespace vigil::control {

struct HttpOptions {
  std::string address = "0.0.0.0";
  int port = 0;
  bool drain_enabled = false;
  std::string token;             // empty: no token required
  Liveness* liveness = nullptr;  // /healthz/live's answer; null: always alive
};

class HttpServer {
 public:
  HttpServer(const HttpOptions& options, ReadModel& model, CoreConnection& core,
             ControlCounters& counters);
  ~HttpServer();
  // False when the port could not be opened (the error is logged).
  bool Start();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::control
