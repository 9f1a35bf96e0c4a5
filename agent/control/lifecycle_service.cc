#include "agent/control/lifecycle_service.h"

#include <memory>
#include <optional>
#include <string>

#include "agent/control/public_enums.h"
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

void Reject(ServerCall& call, const grpc::Status& s) {
  ServerCall::FinishWith(call.handle(), s);
}

// Parses the request of type `Request` and hands it to `serve`; a malformed one is answered.
template <typename Request, typename Serve>
bool With(ServerCall& call, const std::vector<std::string>& services, Serve serve) {
  Request request;
  if (call.ParseRequest(&request, services)) serve(request);
  return true;
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

const std::string& LifecycleService::name() const {
  static const std::string kName = "vigil.v1.Lifecycle";
  return kName;
}

bool LifecycleService::Serve(ServerCall& call, const std::string& method,
                             const std::vector<std::string>& services) {
  if (method == "GetStatus") {
    return With<v1::GetStatusRequest>(call, services, [&](const auto& r) { GetStatus(call, r); });
  }
  if (method == "Watch") {
    return With<v1::WatchRequest>(call, services, [&](const auto&) { Watch(call); });
  }
  if (method == "Drain") {
    return With<v1::DrainRequest>(call, services, [&](const auto& r) { Drain(call, r); });
  }
  if (method == "DrainStream") {
    return With<v1::DrainRequest>(call, services, [&](const auto& r) { DrainStream(call, r); });
  }
  if (method == "Scale") {
    return With<v1::ScaleRequest>(call, services, [&](const auto& r) { Scale(call, r); });
  }
  if (method == "Restart") {
    return With<v1::RestartRequest>(call, services, [&](const auto& r) { Restart(call, r); });
  }
  if (method == "Signal") {
    return With<v1::SignalRequest>(call, services, [&](const auto& r) { Signal(call, r); });
  }
  if (method == "Shutdown") {
    return With<v1::ShutdownRequest>(call, services, [&](const auto& r) { Shutdown(call, r); });
  }
  return false;
}

grpc::Status LifecycleService::Admit(const grpc::ServerContext& context) const {
  if (!token_.empty()) {
    const auto& metadata = context.client_metadata();
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

template <typename Response>
void LifecycleService::Forward(ServerCall& call, internal::v1::Command command,
                               std::function<void(const internal::v1::Result&, Response*)> fill) {
  grpc::Status refusal;
  CallGate::TicketPtr ticket = gate_.EnterPending(&refusal);
  if (!ticket) return Reject(call, refusal);
  // The ticket goes with the callback, once the core has answered; the call may be gone by
  // then (cancelled): its handle is inert.
  core_.Send(std::move(command),
             [handle = call.handle(), fill, ticket](const internal::v1::Result& r) {
               if (r.code() != grpc::StatusCode::OK) {
                 ServerCall::FinishWith(handle, FromResult(r));
                 return;
               }
               ServerCall::Complete<Response>(handle, grpc::Status::OK, [&](Response* response) {
                 if (fill) fill(r, response);
               });
             });
}

internal::v1::Command LifecycleService::DrainCommand(const v1::DrainRequest& request) {
  internal::v1::Command command;
  command.mutable_drain()->set_reason(request.reason());
  command.mutable_drain()->set_trigger(
      RequestedTrigger(request.trigger()).value_or(internal::v1::DRAIN_TRIGGER_API));
  command.mutable_drain()->set_deadline_ms(request.deadline_ms());
  return command;
}

void LifecycleService::GetStatus(ServerCall& call, const v1::GetStatusRequest& request) {
  if (grpc::Status s = Admit(call.context()); !s.ok()) return Reject(call, s);
  const std::optional<PageStart> start = ParsePageToken(request.page_token());
  if (!start) {
    return Reject(call, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                     "page_token: not a token from a GetStatus answer"));
  }
  // One page: no answer's size depends on the size of the pools.
  auto handle = call.handle();
  std::function<void(v1::GetStatusResponse*)> fill = [this,
                                                      start = *start](v1::GetStatusResponse* r) {
    if (const auto next = model_.Page(start, kPageBudget, r->mutable_status())) {
      r->set_next_page_token(PageToken(*next));
    }
  };
  if (!model_.current()) {
    // A picture with a hole in it (events dropped, the fresh snapshot still coming) is not
    // served: the answer waits for the snapshot's last part (or the call's deadline), holding a
    // place like any call that waits for the core.
    grpc::Status refusal;
    CallGate::TicketPtr ticket = gate_.EnterPending(&refusal);
    if (!ticket) return Reject(call, refusal);
    call.set_ticket(std::move(ticket));
    const int id = model_.Subscribe(
        [handle, fill](const v1::Event& e) {
          if (e.kind() == v1::Event::SNAPSHOT) {
            ServerCall::Complete<v1::GetStatusResponse>(handle, grpc::Status::OK, fill);
          }
        },
        false);
    call.set_on_done([this, id] { model_.Unsubscribe(id); });
    // The snapshot may have completed before the listener was in: then it is answered now
    // (answering twice is a no-op).
    if (!model_.current()) return;
  }
  ServerCall::Complete<v1::GetStatusResponse>(handle, grpc::Status::OK, fill);
}

void LifecycleService::Watch(ServerCall& call) {
  call.BecomeStream(StreamKind::kWatch, streams_);
  auto handle = call.handle();
  grpc::Status s = Admit(call.context());
  CallGate::TicketPtr ticket = s.ok() ? gate_.EnterStream(&s) : nullptr;
  if (!ticket) return Reject(call, s);
  call.set_ticket(std::move(ticket));
  const int id = model_.Subscribe(
      [this, handle](const v1::Event& e) {
        if (e.kind() == v1::Event::SNAPSHOT && !e.has_status()) {
          // The status (first, or a fresh snapshot from the core): its pages, shared by every
          // stream, are written as the client reads them.
          ServerCall::PushPages(handle, model_.SnapshotPages());
          return;
        }
        ServerCall::Push(handle, e);
      },
      /*with_snapshot=*/true);
  call.set_on_done([this, id] { model_.Unsubscribe(id); });
}

void LifecycleService::Drain(ServerCall& call, const v1::DrainRequest& request) {
  if (grpc::Status s = Admit(call.context()); !s.ok()) return Reject(call, s);
  if (grpc::Status s = CheckDrain(request); !s.ok()) return Reject(call, s);
  grpc::Status refusal;
  CallGate::TicketPtr ticket = gate_.EnterPending(&refusal);
  if (!ticket) return Reject(call, refusal);
  call.set_ticket(std::move(ticket));
  auto handle = call.handle();
  std::function<void(v1::DrainResponse*)> fill = [this](v1::DrainResponse* response) {
    model_.DrainProgress(response->mutable_progress());
  };
  const bool wait = request.wait();
  if (wait) {
    // Subscribed before the command goes out, so the completion cannot slip by unseen.
    const int id = model_.Subscribe(
        [handle, fill](const v1::Event& e) {
          if (e.kind() == v1::Event::DRAIN && e.drain().complete()) {
            ServerCall::Complete<v1::DrainResponse>(handle, grpc::Status::OK, fill);
          }
        },
        false);
    call.set_on_done([this, id] { model_.Unsubscribe(id); });
  }
  core_.Send(DrainCommand(request), [this, handle, fill, wait](const internal::v1::Result& r) {
    if (r.code() != grpc::StatusCode::OK) {
      ServerCall::FinishWith(handle, FromResult(r));
      return;
    }
    v1::DrainProgress now;
    if (!wait || (model_.DrainProgress(&now) && now.complete())) {
      ServerCall::Complete<v1::DrainResponse>(handle, grpc::Status::OK, fill);
    }
  });
}

void LifecycleService::DrainStream(ServerCall& call, const v1::DrainRequest& request) {
  call.BecomeStream(StreamKind::kDrainStream, streams_);
  auto handle = call.handle();
  grpc::Status s = Admit(call.context());
  if (s.ok()) s = CheckDrain(request);
  CallGate::TicketPtr ticket = s.ok() ? gate_.EnterStream(&s) : nullptr;
  if (!ticket) return Reject(call, s);
  call.set_ticket(std::move(ticket));
  const int id = model_.Subscribe(
      [handle](const v1::Event& e) {
        if (e.kind() == v1::Event::DRAIN) ServerCall::Push(handle, e.drain(), e.drain().complete());
      },
      false);
  call.set_on_done([this, id] { model_.Unsubscribe(id); });
  core_.Send(DrainCommand(request), [this, handle](const internal::v1::Result& r) {
    if (r.code() != grpc::StatusCode::OK) {
      ServerCall::FinishWith(handle, FromResult(r));
      return;
    }
    v1::DrainProgress now;
    if (model_.DrainProgress(&now)) ServerCall::Push(handle, now, now.complete());
  });
}

void LifecycleService::Scale(ServerCall& call, const v1::ScaleRequest& request) {
  if (grpc::Status s = Admit(call.context()); !s.ok()) return Reject(call, s);
  if (grpc::Status s = CheckScale(request); !s.ok()) return Reject(call, s);
  internal::v1::Command command;
  command.mutable_scale()->set_pool(request.pool());
  command.mutable_scale()->set_replicas(request.replicas());
  const std::string pool = request.pool();
  Forward<v1::ScaleResponse>(
      call, std::move(command),
      [this, pool](const internal::v1::Result&, v1::ScaleResponse* response) {
        // Its counts, not its workers: the answer's size does not grow
        // with the pool.
        model_.PoolCounts(pool, response->mutable_pool());
        response->mutable_pool()->set_name(pool);
      });
}

void LifecycleService::Restart(ServerCall& call, const v1::RestartRequest& request) {
  if (grpc::Status s = Admit(call.context()); !s.ok()) return Reject(call, s);
  if (grpc::Status s = CheckRestart(request); !s.ok()) return Reject(call, s);
  internal::v1::Command command;
  command.mutable_restart()->set_pool(request.pool());
  command.mutable_restart()->set_max_unavailable(request.max_unavailable());
  Forward<v1::RestartResponse>(call, std::move(command), nullptr);
}

void LifecycleService::Signal(ServerCall& call, const v1::SignalRequest& request) {
  if (grpc::Status s = Admit(call.context()); !s.ok()) return Reject(call, s);
  int signo = 0;
  if (grpc::Status s = CheckSignal(request, &signo); !s.ok()) return Reject(call, s);
  internal::v1::Command command;
  command.mutable_signal()->set_pool(request.pool());
  command.mutable_signal()->set_slot(request.slot());
  command.mutable_signal()->set_signo(signo);
  Forward<v1::SignalResponse>(call, std::move(command),
                              [](const internal::v1::Result& r, v1::SignalResponse* response) {
                                response->set_workers_signalled(r.count());
                              });
}

void LifecycleService::Shutdown(ServerCall& call, const v1::ShutdownRequest& request) {
  if (grpc::Status s = Admit(call.context()); !s.ok()) return Reject(call, s);
  if (grpc::Status s = CheckShutdown(request); !s.ok()) return Reject(call, s);
  internal::v1::Command command;
  command.mutable_shutdown()->set_reason(request.reason());
  Forward<v1::ShutdownResponse>(call, std::move(command), nullptr);
}

}  // namespace vigil::control
