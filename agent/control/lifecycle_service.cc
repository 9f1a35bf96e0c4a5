#include "agent/control/lifecycle_service.h"

#include <memory>

#include "agent/control/reactors.h"
#include "agent/control/utf8.h"
#include "agent/init/signals.h"

namespace vigil::control {
namespace {

grpc::Status FromResult(const internal::v1::Result& r) {
  if (r.code() == 0) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(r.code()), PublicText(r.message()));
}

grpc::ServerUnaryReactor* Reject(grpc::CallbackServerContext* context, const grpc::Status& s) {
  auto* reactor = context->DefaultReactor();
  reactor->Finish(s);
  return reactor;
}

}  // namespace

bool TokenMatches(const std::string& presented_header, const std::string& token) {
  static const std::string kPrefix = "Bearer ";
  if (token.empty()) return false;
  const std::string presented =
      presented_header.rfind(kPrefix, 0) == 0 ? presented_header.substr(kPrefix.size()) : "";
  // Every byte of the expected token is compared whatever the input: the time taken says
  // nothing about how much of a guess was right.
  unsigned char diff = static_cast<unsigned char>(presented.size() != token.size());
  for (size_t i = 0; i < token.size(); ++i) {
    const char c = i < presented.size() ? presented[i] : '\0';
    diff |= static_cast<unsigned char>(c ^ token[i]);
  }
  return diff == 0;
}

grpc::Status LifecycleService::Admit(grpc::CallbackServerContext* context) const {
  if (!token_.empty()) {
    const auto& metadata = context->client_metadata();
    auto it = metadata.find("authorization");
    const std::string header =
        it == metadata.end() ? "" : std::string(it->second.data(), it->second.size());
    if (!TokenMatches(header, token_)) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          "missing or wrong bearer token (authorization: Bearer <token>)");
    }
  }
  if (!model_.connected()) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the agent's core is not connected yet");
  }
  return grpc::Status::OK;
}

void LifecycleService::Forward(internal::v1::Command command, grpc::ServerUnaryReactor* reactor,
                               std::function<void(const internal::v1::Result&)> on_ok) {
  // The reactor outlives the command: gRPC keeps it until Finish(), which only the callback calls.
  core_.Send(std::move(command), [reactor, on_ok](const internal::v1::Result& r) {
    if (r.code() == 0 && on_ok) on_ok(r);
    reactor->Finish(FromResult(r));
  });
}

grpc::ServerUnaryReactor* LifecycleService::GetStatus(grpc::CallbackServerContext* context,
                                                      const v1::GetStatusRequest* request,
                                                      v1::GetStatusResponse* response) {
  if (grpc::Status s = Admit(context); !s.ok()) return Reject(context, s);
  const std::optional<PageStart> start = ParsePageToken(request->page_token());
  if (!start) {
    return Reject(context, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                        "page_token: not a token from a GetStatus answer"));
  }
  // One page: no answer's size depends on the size of the pools.
  if (const auto next = model_.Page(*start, kPageBudget, response->mutable_status())) {
    response->set_next_page_token(PageToken(*next));
  }
  return Reject(context, grpc::Status::OK);
}

grpc::ServerWriteReactor<v1::Event>* LifecycleService::Watch(grpc::CallbackServerContext* context,
                                                             const v1::WatchRequest*) {
  auto* writer = new QueuedWriter<v1::Event>();
  auto handle = writer->handle();
  if (grpc::Status s = Admit(context); !s.ok()) {
    QueuedWriter<v1::Event>::FinishWith(handle, s);
    return writer;
  }
  const int id = model_.Subscribe(
      [this, handle](const v1::Event& e) {
        if (e.kind() == v1::Event::SNAPSHOT && !e.has_status()) {
          // A fresh snapshot from the core: the stream gets it, in pages.
          for (const v1::Event& page : model_.SnapshotEvents())
            QueuedWriter<v1::Event>::Push(handle, page);
          return;
        }
        QueuedWriter<v1::Event>::Push(handle, e);
      },
      /*with_snapshot=*/true);
  writer->set_on_done([this, id] { model_.Unsubscribe(id); });
  return writer;
}

grpc::ServerUnaryReactor* LifecycleService::Drain(grpc::CallbackServerContext* context,
                                                  const v1::DrainRequest* request,
                                                  v1::DrainResponse* response) {
  if (grpc::Status s = Admit(context); !s.ok()) return Reject(context, s);
  if (request->deadline_ms() < 0) {
    return Reject(context, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                        "deadline_ms must not be negative"));
  }
  auto* reactor = new LaterUnary();
  auto handle = reactor->handle();
  auto fill = [this, response] { model_.DrainProgress(response->mutable_progress()); };
  const bool wait = request->wait();
  if (wait) {
    // Subscribed before the command goes out, so the completion cannot slip by unseen.
    const int id = model_.Subscribe(
        [handle, fill](const v1::Event& e) {
          if (e.kind() == v1::Event::DRAIN && e.drain().complete()) {
            LaterUnary::Complete(handle, grpc::Status::OK, fill);
          }
        },
        false);
    reactor->set_on_done([this, id] { model_.Unsubscribe(id); });
  }
  internal::v1::Command command;
  command.mutable_drain()->set_reason(request->reason());
  command.mutable_drain()->set_trigger(request->trigger() == "prestop" ? "prestop" : "api");
  command.mutable_drain()->set_deadline_ms(request->deadline_ms());
  core_.Send(command, [this, handle, fill, wait](const internal::v1::Result& r) {
    if (r.code() != 0) {
      LaterUnary::Complete(handle, FromResult(r));
      return;
    }
    v1::DrainProgress now;
    if (!wait || (model_.DrainProgress(&now) && now.complete())) {
      LaterUnary::Complete(handle, grpc::Status::OK, fill);
    }
  });
  return reactor;
}

grpc::ServerWriteReactor<v1::DrainProgress>* LifecycleService::DrainStream(
    grpc::CallbackServerContext* context, const v1::DrainRequest* request) {
  using Writer = QueuedWriter<v1::DrainProgress>;
  auto* writer = new Writer();
  auto handle = writer->handle();
  if (grpc::Status s = Admit(context); !s.ok()) {
    Writer::FinishWith(handle, s);
    return writer;
  }
  const int id = model_.Subscribe(
      [handle](const v1::Event& e) {
        if (e.kind() == v1::Event::DRAIN) Writer::Push(handle, e.drain(), e.drain().complete());
      },
      false);
  writer->set_on_done([this, id] { model_.Unsubscribe(id); });
  internal::v1::Command command;
  command.mutable_drain()->set_reason(request->reason());
  command.mutable_drain()->set_trigger(request->trigger() == "prestop" ? "prestop" : "api");
  command.mutable_drain()->set_deadline_ms(request->deadline_ms());
  core_.Send(command, [this, handle](const internal::v1::Result& r) {
    if (r.code() != 0) {
      Writer::FinishWith(handle, FromResult(r));
      return;
    }
    v1::DrainProgress now;
    if (model_.DrainProgress(&now)) Writer::Push(handle, now, now.complete());
  });
  return writer;
}

grpc::ServerUnaryReactor* LifecycleService::Scale(grpc::CallbackServerContext* context,
                                                  const v1::ScaleRequest* request,
                                                  v1::ScaleResponse* response) {
  if (grpc::Status s = Admit(context); !s.ok()) return Reject(context, s);
  if (request->replicas() < 0) {
    return Reject(
        context, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "replicas must not be negative"));
  }
  internal::v1::Command command;
  command.mutable_scale()->set_pool(request->pool());
  command.mutable_scale()->set_replicas(request->replicas());
  auto* reactor = context->DefaultReactor();
  const std::string pool = request->pool();
  Forward(command, reactor, [this, response, pool](const internal::v1::Result&) {
    // Its counts, not its workers: the answer's size does not grow with the pool.
    model_.PoolCounts(pool, response->mutable_pool());
    response->mutable_pool()->set_name(pool);
  });
  return reactor;
}

grpc::ServerUnaryReactor* LifecycleService::Restart(grpc::CallbackServerContext* context,
                                                    const v1::RestartRequest* request,
                                                    v1::RestartResponse*) {
  if (grpc::Status s = Admit(context); !s.ok()) return Reject(context, s);
  internal::v1::Command command;
  command.mutable_restart()->set_pool(request->pool());
  command.mutable_restart()->set_max_unavailable(request->max_unavailable());
  auto* reactor = context->DefaultReactor();
  Forward(command, reactor, nullptr);
  return reactor;
}

grpc::ServerUnaryReactor* LifecycleService::Signal(grpc::CallbackServerContext* context,
                                                   const v1::SignalRequest* request,
                                                   v1::SignalResponse* response) {
  if (grpc::Status s = Admit(context); !s.ok()) return Reject(context, s);
  auto signo = ParseSignal(request->signal());
  if (!signo.ok()) {
    return Reject(context,
                  grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, signo.status().message()));
  }
  internal::v1::Command command;
  command.mutable_signal()->set_pool(request->pool());
  command.mutable_signal()->set_slot(request->slot());
  command.mutable_signal()->set_signo(*signo);
  auto* reactor = context->DefaultReactor();
  Forward(command, reactor, [response](const internal::v1::Result& r) {
    response->set_workers_signalled(r.count());
  });
  return reactor;
}

grpc::ServerUnaryReactor* LifecycleService::Shutdown(grpc::CallbackServerContext* context,
                                                     const v1::ShutdownRequest* request,
                                                     v1::ShutdownResponse*) {
  if (grpc::Status s = Admit(context); !s.ok()) return Reject(context, s);
  internal::v1::Command command;
  command.mutable_shutdown()->set_reason(request->reason());
  auto* reactor = context->DefaultReactor();
  Forward(command, reactor, nullptr);
  return reactor;
}

}  // namespace vigil::control
