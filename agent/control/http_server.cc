#include "agent/control/http_server.h"

#include <CivetServer.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>

#include "agent/base/duration.h"
#include "agent/control/lifecycle_service.h"
#include "agent/control/utf8.h"
#include "agent/log/log.h"

namespace vigil::control {
namespace {

void Reply(mg_connection* conn, int code, const char* reason, const std::string& body) {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n%s",
            code, reason, body.size(), body.c_str());
}

class ReadyHandler final : public CivetHandler {
 public:
  explicit ReadyHandler(ReadModel& model) : model_(model) {}
  bool handleGet(CivetServer*, mg_connection* conn) override {
    if (model_.ready()) {
      Reply(conn, 200, "OK", "ready\n");
    } else {
      Reply(conn, 503, "Service Unavailable", "not ready\n");
    }
    return true;
  }

 private:
  ReadModel& model_;
};

class LiveHandler final : public CivetHandler {
 public:
  explicit LiveHandler(Liveness* liveness) : liveness_(liveness) {}
  bool handleGet(CivetServer*, mg_connection* conn) override {
    if (liveness_ == nullptr || liveness_->Check()) {
      Reply(conn, 200, "OK", "alive\n");
    } else {
      Reply(conn, 503, "Service Unavailable", "the core is not answering\n");
    }
    return true;
  }

 private:
  Liveness* liveness_;
};

class DrainHandler final : public CivetHandler {
 public:
  DrainHandler(ReadModel& model, CoreConnection& core, std::string token)
      : model_(model), core_(core), token_(std::move(token)) {}
  bool handleGet(CivetServer*, mg_connection* conn) override { return Handle(conn); }
  bool handlePost(CivetServer*, mg_connection* conn) override { return Handle(conn); }

 private:
  bool Handle(mg_connection* conn) {
    if (!token_.empty()) {
      const char* header = mg_get_header(conn, "Authorization");
      if (!TokenMatches(header != nullptr ? header : "", token_)) {
        Reply(conn, 401, "Unauthorized", "missing or wrong bearer token\n");
        return true;
      }
    }
    Duration timeout = std::chrono::hours(1);
    const mg_request_info* info = mg_get_request_info(conn);
    char value[64];
    if (info->query_string != nullptr &&
        mg_get_var(info->query_string, std::strlen(info->query_string), "timeout", value,
                   sizeof value) > 0) {
      auto parsed = ParseDuration(value);
      if (!parsed.ok()) {
        Reply(conn, 400, "Bad Request", "timeout: " + parsed.status().message() + "\n");
        return true;
      }
      timeout = *parsed;
    }

    struct Wait {
      std::mutex mu;
      std::condition_variable cv;
      bool answered = false;
      int code = 0;
      std::string message;
      bool complete = false;
    };
    auto wait = std::make_shared<Wait>();
    const int sub = model_.Subscribe(
        [wait](const v1::Event& e) {
          if (e.kind() == v1::Event::DRAIN && e.drain().complete()) {
            std::lock_guard<std::mutex> lock(wait->mu);
            wait->complete = true;
            wait->cv.notify_all();
          }
        },
        false);
    internal::v1::Command command;
    command.mutable_drain()->set_reason("HTTP preStop");
    command.mutable_drain()->set_trigger("prestop");
    core_.Send(command, [wait](const internal::v1::Result& r) {
      std::lock_guard<std::mutex> lock(wait->mu);
      wait->answered = true;
      wait->code = r.code();
      wait->message = PublicText(r.message());
      wait->cv.notify_all();
    });
    v1::DrainProgress progress;
    bool done = false;
    {
      std::unique_lock<std::mutex> lock(wait->mu);
      done = wait->cv.wait_for(lock, timeout, [&] {
        return (wait->answered && wait->code != 0) || wait->complete ||
               (wait->answered && model_.DrainProgress(&progress) && progress.complete());
      });
    }
    model_.Unsubscribe(sub);
    if (!done) {
      Reply(conn, 504, "Gateway Timeout", "the drain did not complete in time\n");
    } else if (wait->code != 0) {
      Reply(conn, 503, "Service Unavailable", wait->message + "\n");
    } else {
      model_.DrainProgress(&progress);
      if (progress.graceful()) {
        Reply(conn, 200, "OK", "drained: every worker ended gracefully\n");
      } else {
        std::string stragglers;
        for (const auto& s : progress.stragglers())
          stragglers += " " + s;
        if (progress.stragglers_total() > progress.stragglers_size()) {
          stragglers += " and " +
                        std::to_string(progress.stragglers_total() - progress.stragglers_size()) +
                        " more";
        }
        Reply(conn, 500, "Internal Server Error",
              "drained with stragglers (signalled or killed at the deadline):" + stragglers + "\n");
      }
    }
    return true;
  }

  ReadModel& model_;
  CoreConnection& core_;
  std::string token_;
};

}  // namespace

class HttpServer::Impl {
 public:
  Impl(const HttpOptions& options, ReadModel& model, CoreConnection& core)
      : options_(options),
        ready_(model),
        live_(options.liveness),
        drain_(model, core, options.token) {}

  bool Start() {
    const std::string port = options_.address + ":" + std::to_string(options_.port);
    std::vector<std::string> civet_options = {"listening_ports",   port, "num_threads", "8",
                                              "enable_keep_alive", "no"};
    try {
      server_ = std::make_unique<CivetServer>(civet_options);
    } catch (const CivetException& e) {
      log::Error("cannot listen on HTTP port {}: {}", port, e.what());
      return false;
    }
    server_->addHandler("/healthz/ready", ready_);
    server_->addHandler("/healthz/live", live_);
    if (options_.drain_enabled) server_->addHandler("/drain", drain_);
    return true;
  }

 private:
  HttpOptions options_;
  ReadyHandler ready_;
  LiveHandler live_;
  DrainHandler drain_;
  std::unique_ptr<CivetServer> server_;
};

HttpServer::HttpServer(const HttpOptions& options, ReadModel& model, CoreConnection& core)
    : impl_(std::make_unique<Impl>(options, model, core)) {}
HttpServer::~HttpServer() = default;
bool HttpServer::Start() {
  return impl_->Start();
}

}  // namespace vigil::control
