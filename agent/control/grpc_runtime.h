// GrpcRuntime: every grpc++ object of vigil-control (its GrpcServers, their completion queues
// and threads, the TCP ports' ResourceQuotas), alive only while a client needs them, so that an
// idle vigil-control runs no gRPC thread: gRPC 1.51's two timer threads (`grpc_global_timer`,
// `timer_manager`) wake once a second each with nothing to do, and have no knob
// (docs/performance.md, "gRPC on demand").
//
// Up: the first connection handed over (HandOver, from a front door's thread, grpc_front_door.h)
// starts gRPC: grpc_init(), then one GrpcServer per listener, built without ports (the front
// doors accept), then the connection goes to its listener's server (AddInsecureChannelFromFd).
// Down: once no connection has been open for `idle_linger` (nor a call in flight), the linger
// thread (ours, alive only while gRPC is up, sleeping until that one deadline, never
// ticking) shuts the servers down, drains and joins their queues' threads, destroys every grpc++
// object and ends gRPC with grpc_shutdown_blocking(), which joins gRPC's own threads. A Watch
// stream or a Drain(wait) keeps gRPC up. A connection handed over while gRPC is going down
// waits for it to be down, then starts it again, and is served.
//
// Why an open connection keeps gRPC up, idle or not: gRPC's shutdown closes it, and an idle
// grpcio client (Python, a sidecar keeping its channel) learns that only when its next call
// writes; on the unix socket that write fails (EPIPE) and so does the call, UNAVAILABLE "Broken
// pipe", about one time in two (seen with grpcio 1.51). gRPC closes an idle connection itself
// after kGrpcMaxIdle (limits.h), as it always has; then gRPC goes down `idle_linger` later.
// vigilctl, exec probes and the kubelet's gRPC probe close their connection after each call.
//
// The services (GrpcService), the gates and what they share outlive the runtime and hold no
// grpc++ object across a cycle: a call's objects are the call's (reactors.h), and no call is
// left when gRPC goes down.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/control/control_counters.h"
#include "agent/control/grpc_server.h"

namespace vigil::control {

class GrpcRuntime {
 public:
  // What a listener's server is made of, each time gRPC starts.
  struct ServerSpec {
    Listener listener;
    std::vector<GrpcService*> services;
    std::string thread_name;  // at most 15 bytes
    size_t quota_bytes = 0;   // the connections' buffers (TCP ports); 0: no quota of its own
  };

  GrpcRuntime(std::vector<ServerSpec> specs, std::chrono::milliseconds idle_linger);
  ~GrpcRuntime();  // Stop(now)
  GrpcRuntime(const GrpcRuntime&) = delete;
  GrpcRuntime& operator=(const GrpcRuntime&) = delete;

  // Any thread: `fd` (connected, non-blocking, its preface come) goes to `listener`'s server,
  // gRPC started first when it is down. Closed if gRPC cannot start (logged).
  void HandOver(Listener listener, int fd);

  // Any thread: a connection handed over has ended (the front door follows it).
  void Ended();

  // At exit, after the front doors are gone: open calls are cancelled at `deadline`, and gRPC
  // goes down for good. Idempotent.
  void Stop(std::chrono::system_clock::time_point deadline);

  // For tests and logs: whether gRPC is up now.
  bool up() const;

 private:
  enum class State { kDown, kUp, kStopping };

  bool StartLocked();  // mu_ held, state_ kDown
  void TearDown(std::chrono::system_clock::time_point deadline);
  void OnLive(int delta);
  void Linger();
  bool Idle() const;  // count_mu_ held
  void NoteIfIdle();  // count_mu_ held: idle now, the linger starts from now
  bool IdleLongEnough(std::chrono::steady_clock::time_point now) const;  // count_mu_ held

  const std::vector<ServerSpec> specs_;
  const std::chrono::milliseconds idle_linger_;

  // The cycle: state_, what is up, the linger thread. Taken before count_mu_, never after.
  mutable std::mutex mu_;
  std::condition_variable down_;  // state_ left kStopping
  State state_ = State::kDown;
  bool stopped_ = false;  // Stop() called: never up again
  std::vector<std::unique_ptr<grpc::ResourceQuota>> quotas_;
  std::vector<std::unique_ptr<GrpcServer>> servers_;  // specs_' order; null where it failed
  std::thread linger_;

  // The calls: live_ counts every call of every server, the one each server keeps posted for its
  // next request included; in flight is the rest.
  std::mutex count_mu_;
  std::condition_variable idle_;  // nothing open or in flight any more, or Stop()
  int live_ = 0;
  int posted_ = 0;  // servers up, so calls kept posted
  int open_ = 0;    // connections handed over and not ended, across cycles
  std::chrono::steady_clock::time_point idle_since_{};
  bool quit_linger_ = false;
};

}  // namespace vigil::control
