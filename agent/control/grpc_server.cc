#include "agent/control/grpc_server.h"

#include <pthread.h>

#include <exception>

#include "agent/control/error_naming.h"
#include "agent/log/log.h"

namespace vigil::control {

GrpcServer::GrpcServer(std::vector<GrpcService*> services) : services_(std::move(services)) {
  for (const GrpcService* s : services_)
    names_.push_back(s->name());
}

std::unique_ptr<GrpcServer> GrpcServer::Start(grpc::ServerBuilder& builder,
                                              std::vector<GrpcService*> services,
                                              const std::string& thread_name, OnLive on_live) {
  std::unique_ptr<GrpcServer> s(new GrpcServer(std::move(services)));
  s->on_live_ = std::move(on_live);
  builder.RegisterAsyncGenericService(&s->generic_);
  s->cq_ = builder.AddCompletionQueue();
  s->server_ = builder.BuildAndStart();
  if (!s->server_) {
    s->cq_->Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (s->cq_->Next(&tag, &ok)) {
    }
    s->shut_down_ = true;
    return nullptr;
  }
  // One call waits for a request at a time; each posts the next as its request arrives.
  ServerCall::Post(&s->generic_, s->cq_.get(), s.get());
  GrpcServer* self = s.get();
  s->thread_ = std::thread([self, thread_name] {
    ::pthread_setname_np(::pthread_self(), thread_name.substr(0, 15).c_str());
    self->Serve();
  });
  return s;
}

GrpcServer::~GrpcServer() {
  Shutdown(std::chrono::system_clock::now());
}

void GrpcServer::Serve() {
  void* tag = nullptr;
  bool ok = false;
  // No deadline: idle, this thread sleeps until a client comes.
  while (cq_->Next(&tag, &ok)) {
    try {
      static_cast<CqTag*>(tag)->Proceed(ok);
    } catch (const std::exception& e) {  // A call's handler failed: the others go on.
      log::Error("gRPC call: {}", e.what());
    } catch (...) {
      log::Error("gRPC call: unknown exception");
    }
  }
}

void GrpcServer::Route(ServerCall& call) {
  const std::string& full = call.method();  // "/pkg.Service/Method"
  const size_t slash = full.find('/', 1);
  if (full.size() > 1 && full[0] == '/' && slash != std::string::npos) {
    const std::string service = full.substr(1, slash - 1);
    for (GrpcService* s : services_) {
      if (s->name() == service) {
        if (s->Serve(call, full.substr(slash + 1), names_)) return;
        break;
      }
    }
  }
  ServerCall::FinishWith(call.handle(), NameEmptyUnimplemented(full, names_));
}

void GrpcServer::CountLive(int delta) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    live_ += delta;
    if (live_ == 0) all_gone_.notify_all();
  }
  if (on_live_) on_live_(delta);
}

void GrpcServer::Shutdown(std::chrono::system_clock::time_point deadline) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  // Open calls are cancelled at the deadline; their last events still come to the thread.
  server_->Shutdown(deadline);
  std::unique_lock<std::mutex> lock(mu_);
  const bool gone =
      all_gone_.wait_for(lock, std::chrono::seconds(5), [this] { return live_ == 0; });
  lock.unlock();
  if (!gone) {
    // Never seen; if it happens, exiting beats shutting down a queue other threads may still
    // start operations on (gRPC aborts on that): the queue and its thread are left as they are.
    log::Error("gRPC server: calls still open 5 s after shutdown; leaving them");
    thread_.detach();
    (void)cq_.release();
    (void)server_.release();
    return;
  }
  cq_->Shutdown();
  if (thread_.joinable()) thread_.join();
}

}  // namespace vigil::control
