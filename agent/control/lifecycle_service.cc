#include "agent/control/lifecycle_service.h"

#include <memory>
#include <string>

#include "agent/control/public_enums.h"
#include "agent/control/reactors.h"
#include "agent/control/request_checks.h"
#include "agent/control/utf8.h"
#include "agent/signal/signals.h"

namespace vigil::control {
namespace {

grpc::Status FromResult(const internal::v1::Result& r) {
  if (r.code() == grpc::StatusCode::OK) return grpc::Status::OK;
  // The core names what is wrong; a result without a message still says who refused.
  std::string message = r.message().empty() ? "the agent's core refused the command (code " +
                                                  std::to_string(r.code()) + ")"
                                            : PublicText(r.message());
  return grpc::Status(static_cast<grpc::StatusCode>(r.code()), std::move(message));
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

grpc::ServerUnaryReactor* LifecycleService::Forward(
    grpc::CallbackServerContext* context, internal::v1::Command command,
    std::function<void(const internal::v1::Result&)> on_ok) {
  grpc::Status refusal;
  CallGate::TicketPtr ticket = gate_.EnterPending(&refusal);
  if (!ticket) return Reject(context, refusal);
  auto* reactor = context->DefaultReactor();
  // The reactor outlives the command: gRPC keeps it until Finish(), which only the callback
  // calls. The ticket goes with the callback, once the core has answered.
  core_.Send(std::move(command), [reactor, on_ok, ticket](const internal::v1::Result& r) {
    if (r.code() == grpc::StatusCode::OK && on_ok) on_ok(r);
    reactor->Finish(FromResult(r));
  });
  return reactor;
}

internal::v1::Command LifecycleService::DrainCommand(const v1::DrainRequest& request) {
  internal::v1::Command command;
  command.mutable_drain()->set_reason(request.reason());
  command.mutable_drain()->set_trigger(
      RequestedTrigger(request.trigger()).value_or(internal::v1::DRAIN_TRIGGER_API));
  command.mutable_drain()->set_deadline_ms(request.deadline_ms());
  return command;
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
  using Writer = QueuedWriter<v1::Event>;
  auto* writer = new Writer(context, StreamKind::kWatch, streams_);
  auto handle = writer->handle();
  grpc::Status s = Admit(context);
  CallGate::TicketPtr ticket = s.ok() ? gate_.EnterStream(&s) : nullptr;
  if (!ticket) {
    Writer::FinishWith(handle, s);
    return writer;
  }
  writer->set_ticket(std::move(ticket));
  const int id = model_.Subscribe(
      [this, handle](const v1::Event& e) {
        if (e.kind() == v1::Event::SNAPSHOT && !e.has_status()) {
          // The status (first, or a fresh snapshot from the core): its pages, shared by every
          // stream, are written as the client reads them.
          Writer::PushPages(handle, model_.SnapshotPages());
          return;
        }
        Writer::Push(handle, e);
      },
      /*with_snapshot=*/true);
  writer->set_on_done([this, id] { model_.Unsubscribe(id); });
  return writer;
}

grpc::ServerUnaryReactor* LifecycleService::Drain(grpc::CallbackServerContext* context,
                                                  const v1::DrainRequest* request,
                                                  v1::DrainResponse* response) {
  if (grpc::Status s = Admit(context); !s.ok()) return Reject(context, s);
  if (grpc::Status s = CheckDrain(*request); !s.ok()) return Reject(context, s);
  grpc::Status refusal;
  CallGate::TicketPtr ticket = gate_.EnterPending(&refusal);
  if (!ticket) return Reject(context, refusal);
  auto* reactor = new LaterUnary();
  reactor->set_ticket(std::move(ticket));
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
  core_.Send(DrainCommand(*request), [this, handle, fill, wait](const internal::v1::Result& r) {
    if (r.code() != grpc::StatusCode::OK) {
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
  auto* writer = new Writer(context, StreamKind::kDrainStream, streams_);
  auto handle = writer->handle();
  grpc::Status s = Admit(context);
  if (s.ok()) s = CheckDrain(*request);
  CallGate::TicketPtr ticket = s.ok() ? gate_.EnterStream(&s) : nullptr;
  if (!ticket) {
    Writer::FinishWith(handle, s);
    return writer;
  }
  writer->set_ticket(std::move(ticket));
  const int id = model_.Subscribe(
      [handle](const v1::Event& e) {
        if (e.kind() == v1::Event::DRAIN) Writer::Push(handle, e.drain(), e.drain().complete());
      },
      false);
  writer->set_on_done([this, id] { model_.Unsubscribe(id); });
  core_.Send(DrainCommand(*request), [this, handle](const internal::v1::Result& r) {
    if (r.code() != grpc::StatusCode::OK) {
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
  if (grpc::Status s = CheckScale(*request); !s.ok()) return Reject(context, s);
  internal::v1::Command command;
  command.mutable_scale()->set_pool(request->pool());
  command.mutable_scale()->set_replicas(request->replicas());
  const std::string pool = request->pool();
  return Forward(context, std::move(command), [this, response, pool](const internal::v1::Result&) {
    // Its counts, not its workers: the answer's size does not grow with the pool.
    model_.PoolCounts(pool, response->mutable_pool());
    response->mutable_pool()->set_name(pool);
  });
}

grpc::ServerUnaryReactor* LifecycleService::Restart(grpc::CallbackServerContext* context,
                                                    const v1::RestartRequest* request,
                                                    v1::RestartResponse*) {
  if (grpc::Status s = Admit(context); !s.ok()) return Reject(context, s);
  if (grpc::Status s = CheckRestart(*request); !s.ok()) return Reject(context, s);
  internal::v1::Command command;
  command.mutable_restart()->set_pool(request->pool());
  command.mutable_restart()->set_max_unavailable(request->max_unavailable());
  return Forward(context, std::move(command), nullptr);
}

grpc::ServerUnaryReactor* LifecycleService::Signal(grpc::CallbackServerContext* context,
                                                   const v1::SignalRequest* request,
                                                   v1::SignalResponse* response) {
  if (grpc::Status s = Admit(context); !s.ok()) return Reject(context, s);
  int signo = 0;
  if (grpc::Status s = CheckSignal(*request, &signo); !s.ok()) return Reject(context, s);
  internal::v1::Command command;
  command.mutable_signal()->set_pool(request->pool());
  command.mutable_signal()->set_slot(request->slot());
  command.mutable_signal()->set_signo(signo);
  return Forward(context, std::move(command), [response](const internal::v1::Result& r) {
    response->set_workers_signalled(r.count());
  });
}

grpc::ServerUnaryReactor* LifecycleService::Shutdown(grpc::CallbackServerContext* context,
                                                     const v1::ShutdownRequest* request,
                                                     v1::ShutdownResponse*) {
  if (grpc::Status s = Admit(context); !s.ok()) return Reject(context, s);
  if (grpc::Status s = CheckShutdown(*request); !s.ok()) return Reject(context, s);
  internal::v1::Command command;
  command.mutable_shutdown()->set_reason(request->reason());
  return Forward(context, std::move(command), nullptr);
}

}  // namespace vigil::control
