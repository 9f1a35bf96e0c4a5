// The Lifecycle service of a ReadModel, served by a real gRPC server on an abstract unix socket
// (nothing to clean up), with a core connection whose far end nobody reads: for the control
// plane's tests that drive the API as a client would. Start() after the model has its first
// snapshot; the members are the tests' to inspect.
#pragma once

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "agent/control/call_gate.h"
#include "agent/control/control_counters.h"
#include "agent/control/core_connection.h"
#include "agent/control/grpc_server.h"
#include "agent/control/lifecycle_service.h"
#include "agent/control/limits.h"
#include "agent/control/read_model.h"
#include "agent/control/stream_budget.h"

namespace vigil::control {

// Waits for `condition` (checked every 5 ms) for up to `timeout`.
template <typename F>
bool WaitFor(F condition, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

struct LifecycleServer {
  ~LifecycleServer() {
    server.reset();  // Shuts down at once, every call gone.
    service.reset();
    core.reset();
    if (core_end >= 0) ::close(core_end);
  }

  // Serves `model` at a fresh address; fails the test when it cannot.
  void Start(const std::string& name) {
    static int next = 0;
    address = "unix-abstract:vigil-" + name + "-" + std::to_string(::getpid()) + "-" +
              std::to_string(next++);
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    core_end = fds[1];
    core = std::make_unique<CoreConnection>(fds[0], model, [] {});
    service =
        std::make_unique<LifecycleService>(model, *core, "", gate, StreamEnv{budget, counters});
    grpc::ServerBuilder builder;
    builder.AddListeningPort(address, grpc::InsecureServerCredentials());
    server = GrpcServer::Start(builder, {service.get()}, "grpc-test");
    ASSERT_NE(server, nullptr);
  }

  std::string address;
  ReadModel model;
  ControlCounters counters;
  StreamBudget budget{limits::kStreamQueueBytes, limits::kAllStreamsQueueBytes};
  CallGate gate{Listener::kUnix, limits::kUnixSocket, counters};
  int core_end = -1;
  std::unique_ptr<CoreConnection> core;
  std::unique_ptr<LifecycleService> service;
  std::unique_ptr<GrpcServer> server;
};

}  // namespace vigil::control
