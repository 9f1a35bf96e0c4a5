#include "agent/control/health_service.h"

#include <atomic>
#include <memory>

#include "agent/control/lifecycle_service.h"
#include "agent/control/reactors.h"
#include "agent/control/request_checks.h"

namespace vigil::control {
namespace {

using Response = grpc::health::v1::HealthCheckResponse;

bool KnownService(const std::string& service) {
  return service == "liveness" || service == "readiness" || service.empty();
}

Response::ServingStatus Serving(bool yes) {
  return yes ? Response::SERVING : Response::NOT_SERVING;
}

}  // namespace

Response::ServingStatus HealthService::StatusOf(const std::string& service) {
  return Serving(service == "liveness" ? liveness_.Check() : model_.ready());
}

bool HealthService::Authorized(grpc::CallbackServerContext* context) const {
  if (token_.empty()) return true;
  const auto& metadata = context->client_metadata();
  auto it = metadata.find("authorization");
  const std::string header =
      it == metadata.end() ? "" : std::string(it->second.data(), it->second.size());
  return TokenMatches(header, token_);
}

grpc::ServerUnaryReactor* HealthService::Check(grpc::CallbackServerContext* context,
                                               const grpc::health::v1::HealthCheckRequest* request,
                                               Response* response) {
  auto* reactor = context->DefaultReactor();
  if (!Authorized(context)) {
    reactor->Finish(
        grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "missing or wrong bearer token"));
  } else if (!KnownService(request->service())) {
    reactor->Finish(grpc::Status(
        grpc::StatusCode::NOT_FOUND,
        "unknown service " + Excerpt(request->service()) + " (liveness, readiness or \"\")"));
  } else {
    response->set_status(StatusOf(request->service()));
    reactor->Finish(grpc::Status::OK);
  }
  return reactor;
}

grpc::ServerWriteReactor<Response>* HealthService::Watch(
    grpc::CallbackServerContext* context, const grpc::health::v1::HealthCheckRequest* request) {
  auto* writer = new QueuedWriter<Response>(context, StreamKind::kHealthWatch, streams_);
  auto handle = writer->handle();
  if (!Authorized(context)) {
    QueuedWriter<Response>::FinishWith(
        handle, grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "missing or wrong bearer token"));
    return writer;
  }
  grpc::Status refusal;
  CallGate::TicketPtr ticket = gate_.EnterStream(&refusal);
  if (!ticket) {
    QueuedWriter<Response>::FinishWith(handle, refusal);
    return writer;
  }
  writer->set_ticket(std::move(ticket));
  const std::string service = request->service();
  Response first;
  first.set_status(KnownService(service) ? StatusOf(service) : Response::SERVICE_UNKNOWN);
  QueuedWriter<Response>::Push(handle, first);
  if (!KnownService(service)) return writer;  // Stays open, as the protocol asks.
  // Only changes are sent after the first answer.
  if (service == "liveness") {
    const int id = liveness_.Subscribe(
        [handle](bool alive) {
          Response r;
          r.set_status(Serving(alive));
          QueuedWriter<Response>::Push(handle, r);
        },
        first.status() == Response::SERVING);
    writer->set_on_done([this, id] { liveness_.Unsubscribe(id); });
    return writer;
  }
  auto last = std::make_shared<std::atomic<int>>(first.status());
  const int id = model_.Subscribe(
      [this, handle, service, last](const v1::Event&) {
        const Response::ServingStatus now = StatusOf(service);
        if (last->exchange(now) == now) return;
        Response r;
        r.set_status(now);
        QueuedWriter<Response>::Push(handle, r);
      },
      false);
  writer->set_on_done([this, id] { model_.Unsubscribe(id); });
  return writer;
}

}  // namespace vigil::control
