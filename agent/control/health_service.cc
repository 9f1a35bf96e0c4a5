#include "agent/control/health_service.h"

#include <atomic>
#include <memory>

#include "agent/control/lifecycle_service.h"
#include "agent/control/reactors.h"
#include "agent/control/request_checks.h"

namespace vigil::control {
namespace {

using Request = grpc::health::v1::HealthCheckRequest;
using Response = grpc::health::v1::HealthCheckResponse;

bool KnownService(const std::string& service) {
  return service == "liveness" || service == "readiness" || service.empty();
}

Response::ServingStatus Serving(bool yes) {
  return yes ? Response::SERVING : Response::NOT_SERVING;
}

const grpc::Status kUnauthenticated(grpc::StatusCode::UNAUTHENTICATED,
                                    "missing or wrong bearer token");

}  // namespace

const std::string& HealthService::name() const {
  static const std::string kName = "grpc.health.v1.Health";
  return kName;
}

bool HealthService::Serve(ServerCall& call, const std::string& method,
                          const std::vector<std::string>& services) {
  if (method != "Check" && method != "Watch") return false;
  Request request;
  if (!call.ParseRequest(&request, services)) return true;
  if (method == "Check") {
    Check(call, request);
  } else {
    Watch(call, request);
  }
  return true;
}

Response::ServingStatus HealthService::StatusOf(const std::string& service) {
  return Serving(service == "liveness" ? liveness_.Check() : model_.ready());
}

bool HealthService::Authorized(const grpc::ServerContext& context) const {
  if (token_.empty()) return true;
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  const std::string header =
      it == metadata.end() ? "" : std::string(it->second.data(), it->second.size());
  return TokenMatches(header, token_);
}

void HealthService::Check(ServerCall& call, const Request& request) {
  if (!Authorized(call.context())) {
    ServerCall::FinishWith(call.handle(), kUnauthenticated);
  } else if (!KnownService(request.service())) {
    ServerCall::FinishWith(
        call.handle(),
        grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown service " + Excerpt(request.service()) +
                                                      " (liveness, readiness or \"\")"));
  } else {
    const Response::ServingStatus status = StatusOf(request.service());
    ServerCall::Complete<Response>(call.handle(), grpc::Status::OK,
                                   [status](Response* response) { response->set_status(status); });
  }
}

void HealthService::Watch(ServerCall& call, const Request& request) {
  call.BecomeStream(StreamKind::kHealthWatch, streams_);
  auto handle = call.handle();
  if (!Authorized(call.context())) return ServerCall::FinishWith(handle, kUnauthenticated);
  grpc::Status refusal;
  CallGate::TicketPtr ticket = gate_.EnterStream(&refusal);
  if (!ticket) return ServerCall::FinishWith(handle, refusal);
  call.set_ticket(std::move(ticket));
  const std::string service = request.service();
  Response first;
  first.set_status(KnownService(service) ? StatusOf(service) : Response::SERVICE_UNKNOWN);
  ServerCall::Push(handle, first);
  if (!KnownService(service)) return;  // Stays open, as the protocol asks.
  // Only changes are sent after the first answer.
  if (service == "liveness") {
    const int id = liveness_.Subscribe(
        [handle](bool alive) {
          Response r;
          r.set_status(Serving(alive));
          ServerCall::Push(handle, r);
        },
        first.status() == Response::SERVING);
    call.set_on_done([this, id] { liveness_.Unsubscribe(id); });
    return;
  }
  auto last = std::make_shared<std::atomic<int>>(first.status());
  const int id = model_.Subscribe(
      [this, handle, service, last](const v1::Event&) {
        const Response::ServingStatus now = StatusOf(service);
        if (last->exchange(now) == now) return;
        Response r;
        r.set_status(now);
        ServerCall::Push(handle, r);
      },
      false);
  call.set_on_done([this, id] { model_.Unsubscribe(id); });
}

}  // namespace vigil::control
