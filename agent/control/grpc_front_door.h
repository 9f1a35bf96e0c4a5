// GrpcFrontDoor: every listener of vigil-control's gRPC servers (the unix socket, the health
// port, the API port) accepts here first, so that a client that does not speak gRPC is told so
// and one that says nothing is let go, instead of both being silently held or dropped by gRPC;
// and so that gRPC need not run while no client is there (grpc_runtime.h). Every client of these
// listeners (vigilctl, grpcio, exec probes, the kubelet) speaks gRPC: the preface comes first.
//
// A connection (non-blocking, as AddInsecureChannelFromFd needs) is handed over (`HandOver`, to
// GrpcRuntime) as soon as its first bytes are the HTTP/2 client preface, which is left in the
// socket for gRPC (MSG_PEEK).
// Any other client is answered in terms it can read, then closed, counted and logged
// (close_log.h):
//   - an HTTP/1 request: "HTTP/1.1 400 ..." saying the port speaks gRPC;
//   - anything else: an HTTP/2 GOAWAY (PROTOCOL_ERROR) whose debug data says the same;
//   - nothing (or not the whole preface) within kGrpcHandshakeTimeout: a GOAWAY saying so.
// A copy of each connection handed over (at most kHttpMaxConnections, the oldest dropped first)
// tells when it ends, the client's hang-up or gRPC's close: GrpcRuntime keeps gRPC up while a
// connection is open (grpc_runtime.h says why).
// At most kHttpMaxConnections wait for their preface at once; a new one evicts the oldest. Once
// handed over, a connection is gRPC's, held to the server's limits (main.cc, Harden()).
// One thread, an epoll loop; nothing in it waits on a client.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "agent/base/status.h"
#include "agent/control/control_counters.h"

namespace vigil::control {

class GrpcFrontDoor {
 public:
  GrpcFrontDoor(Listener which, ControlCounters& counters);
  ~GrpcFrontDoor();  // Stops accepting; connections already handed over stay gRPC's.
  GrpcFrontDoor(const GrpcFrontDoor&) = delete;
  GrpcFrontDoor& operator=(const GrpcFrontDoor&) = delete;

  // Both on the front door's thread; they may wait for gRPC to start, never for a client.
  struct HandOver {
    std::function<void(int fd)> take;  // a connection whose preface has come
    std::function<void()> ended;       // one taken has ended (or is no longer followed)
  };

  // Listens on host:port (tcp_listen.h; "" for every IPv4 address).
  Status Start(const std::string& host, int port, HandOver hand_over);
  // Listens on the unix socket at `path`, given `mode` (ListenUnix in tcp_listen.h).
  Status StartUnix(const std::string& path, int mode, HandOver hand_over);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::control
