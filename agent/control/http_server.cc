#include "agent/control/http_server.h"

#include <chrono>
#include <mutex>

#include <grpcpp/support/status.h>

#include "agent/base/duration.h"
#include "agent/control/http_listener.h"
#include "agent/control/lifecycle_service.h"
#include "agent/control/utf8.h"
#include "agent/log/log.h"
#include "client/drain_text.h"

namespace vigil::control {
namespace {

constexpr auto kDefaultDrainTimeout = std::chrono::hours(1);
constexpr auto kMaxDrainTimeout = std::chrono::hours(24);

// The drain's verdict once it is complete.
HttpResponse Verdict(const ReadModel& model) {
  v1::DrainProgress progress;
  model.DrainProgress(&progress);
  if (progress.graceful()) return {200, "drained: every worker ended gracefully\n"};
  return {500, "drained with stragglers (signalled or killed at the deadline):" +
                   client::StragglerList(progress) + "\n"};
}

void Drain(ReadModel& model, CoreConnection& core, const std::string& token,
           const HttpRequest& request, const std::shared_ptr<HttpReply>& reply) {
  if (!token.empty() && !TokenMatches(request.Header("Authorization"), token)) {
    reply->Send({401, "missing or wrong bearer token\n"});
    return;
  }
  Duration timeout = kDefaultDrainTimeout;
  std::string value;
  if (request.QueryValue("timeout", &value)) {
    auto parsed = ParseDuration(value.substr(0, 64));
    if (!parsed.ok()) {
      reply->Send({400, "timeout: " + parsed.status().message() + "\n"});
      return;
    }
    if (*parsed > kMaxDrainTimeout) {
      reply->Send({400, "timeout: at most 24h\n"});
      return;
    }
    timeout = *parsed;
  }
  // Subscribed before the command goes out, so the completion cannot slip by unseen.
  const int sub = model.Subscribe(
      [&model, reply](const v1::Event& e) {
        if (e.kind() == v1::Event::DRAIN && e.drain().complete()) reply->Send(Verdict(model));
      },
      false);
  reply->OnDone([&model, sub] { model.Unsubscribe(sub); });
  reply->SetTimeout(std::chrono::duration_cast<std::chrono::milliseconds>(timeout),
                    {504, "the drain did not complete in time\n"});
  internal::v1::Command command;
  command.mutable_drain()->set_reason("HTTP preStop");
  command.mutable_drain()->set_trigger(internal::v1::DRAIN_TRIGGER_PRESTOP);
  core.Send(command, [&model, reply](const internal::v1::Result& r) {
    if (r.code() != grpc::StatusCode::OK) {
      reply->Send(
          {503, (r.message().empty() ? "the drain was refused" : PublicText(r.message())) + "\n"});
      return;
    }
    v1::DrainProgress now;
    if (model.DrainProgress(&now) && now.complete()) reply->Send(Verdict(model));
  });
}

}  // namespace

class HttpServer::Impl {
 public:
  Impl(const HttpOptions& options, ReadModel& model, CoreConnection& core,
       ControlCounters& counters)
      : options_(options), model_(model), core_(core), listener_(Listener::kHttp, counters) {}

  bool Start() {
    ReadModel& model = model_;
    listener_.Route("/healthz/ready", [&model](const HttpRequest&, std::shared_ptr<HttpReply> r) {
      if (model.ready()) {
        r->Send({200, "ready\n"});
      } else {
        r->Send({503, "not ready\n"});
      }
    });
    Liveness* liveness = options_.liveness;
    listener_.Route("/healthz/live", [liveness](const HttpRequest&, std::shared_ptr<HttpReply> r) {
      // Never waits for the core: Check() answers from what is known (liveness.h).
      if (liveness == nullptr || liveness->Check()) {
        r->Send({200, "alive\n"});
      } else {
        r->Send({503, "the core is not answering\n"});
      }
    });
    if (options_.drain_enabled) {
      CoreConnection& core = core_;
      const std::string token = options_.token;
      listener_.Route(
          "/drain",
          [&model, &core, token](const HttpRequest& request, std::shared_ptr<HttpReply> r) {
            Drain(model, core, token, request, r);
          },
          /*allow_post=*/true);
    }
    if (Status s = listener_.Start(options_.address, options_.port); !s.ok()) {
      log::Event(log::Level::kError, "control_listen_failed", s.message(),
                 {{"listener", "HTTP port"},
                  {"address", options_.address + ":" + std::to_string(options_.port)}});
      return false;
    }
    return true;
  }

 private:
  HttpOptions options_;
  ReadModel& model_;
  CoreConnection& core_;
  HttpListener listener_;
};

HttpServer::HttpServer(const HttpOptions& options, ReadModel& model, CoreConnection& core,
                       ControlCounters& counters)
    : impl_(std::make_unique<Impl>(options, model, core, counters)) {}
HttpServer::~HttpServer() = default;
bool HttpServer::Start() {
  return impl_->Start();
}

}  // namespace vigil::control
