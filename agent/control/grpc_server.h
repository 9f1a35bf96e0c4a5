// GrpcServer: one gRPC server of vigil-control (a listener: the unix socket, the health port,
// the API port) served on the asynchronous API by one thread of ours, blocked in
// ServerCompletionQueue::Next() without a deadline: idle, it sleeps in epoll_wait(-1) and wakes
// only for a client. No callback service is registered, so gRPC starts none of its "nexting"
// threads (reactors.h says why that matters); grpc's default health service stays off too.
//
// Requests arrive on a generic service and go, once read, to the GrpcService whose full name is
// the method's service ("/vigil.v1.Lifecycle/Drain" -> vigil.v1.Lifecycle); a method no service
// here knows is answered UNIMPLEMENTED naming what the listener serves (error_naming.h).
//
// Shutdown (or the destructor): the server stops taking calls and cancels the open ones after the
// deadline; the thread goes on serving until every call is gone (so that no other thread can start
// an operation on a queue being shut down), then the queue is shut down and the thread joined.
#pragma once

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/control/reactors.h"

namespace vigil::control {

// A service served on a GrpcServer.
class GrpcService {
 public:
  virtual ~GrpcService() = default;
  // The full name, "vigil.v1.Lifecycle".
  virtual const std::string& name() const = 0;
  // Serves `call` (its method is one of this service's, `method` its short name); false when
  // the service has no such method. `services`: the names served on this listener (for errors).
  virtual bool Serve(ServerCall& call, const std::string& method,
                     const std::vector<std::string>& services) = 0;
};

class GrpcServer final : public CallRouter {
 public:
  // Told of every change in the number of live calls (any thread, no lock of the server's held).
  using OnLive = std::function<void(int delta)>;

  // Builds `builder` (ports and options set) with `services` and a completion queue, starts the
  // server and its thread (named `thread_name`, at most 15 bytes). Null if gRPC cannot start it.
  static std::unique_ptr<GrpcServer> Start(grpc::ServerBuilder& builder,
                                           std::vector<GrpcService*> services,
                                           const std::string& thread_name, OnLive on_live = {});
  ~GrpcServer() override;
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  grpc::Server* server() const { return server_.get(); }
  void Shutdown(std::chrono::system_clock::time_point deadline);

  void Route(ServerCall& call) override;
  void CountLive(int delta) override;

 private:
  GrpcServer(std::vector<GrpcService*> services);
  void Serve();

  std::vector<GrpcService*> services_;
  std::vector<std::string> names_;
  OnLive on_live_;
  grpc::AsyncGenericService generic_;
  std::unique_ptr<grpc::ServerCompletionQueue> cq_;
  std::unique_ptr<grpc::Server> server_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable all_gone_;
  int live_ = 0;  // calls posted and not yet deleted
  bool shut_down_ = false;
};

}  // namespace vigil::control
