// vigil-control: the control plane, a child of the PID-1 core (docs/control.md). main() wires:
// the core connection on fd 3, the read model, the Lifecycle API and grpc.health.v1 on the unix
// socket, an optional health-only TCP listener for the kubelet's gRPC probe, and an optional
// TCP listener for the API, guarded by a bearer token, and Prometheus /metrics.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <prometheus/exposer.h>

#include "agent/config/token_file.h"
#include "agent/control/core_connection.h"
#include "agent/control/health_service.h"
#include "agent/control/http_server.h"
#include "agent/control/lifecycle_service.h"
#include "agent/control/liveness.h"
#include "agent/control/metrics_collector.h"
#include "agent/control/read_model.h"
#include "agent/log/log.h"
#include "agent/sys/socket_path.h"

namespace vigil::control {
namespace {

struct Options {
  int fd = 3;
  std::string socket = "/run/vigil/control.sock";
  int socket_mode = 0600;
  int health_port = 0;
  int api_port = 0;
  std::string api_address = "0.0.0.0";
  std::string token_file;
  int http_port = 0;
  bool http_drain = false;
  std::string metrics_address;  // empty: no /metrics
  log::Level log_level = log::Level::kWarn;
  log::Format log_format = log::Format::kText;
};

bool ParseArgs(int argc, char** argv, Options* o, std::string* error) {
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      *error = flag + " needs a value";
      return false;
    }
    const std::string value = argv[++i];
    if (flag == "--fd") {
      o->fd = std::stoi(value);
    } else if (flag == "--socket") {
      o->socket = value;
    } else if (flag == "--socket-mode") {
      o->socket_mode = std::stoi(value);
    } else if (flag == "--health-port") {
      o->health_port = std::stoi(value);
    } else if (flag == "--api-port") {
      o->api_port = std::stoi(value);
    } else if (flag == "--api-address") {
      o->api_address = value;
    } else if (flag == "--token-file") {
      o->token_file = value;
    } else if (flag == "--http-port") {
      o->http_port = std::stoi(value);
    } else if (flag == "--metrics-address") {
      o->metrics_address = value;
    } else if (flag == "--http-drain") {
      o->http_drain = value == "1";
    } else if (flag == "--log-level") {
      auto l = log::ParseLevel(value);
      if (l.ok()) o->log_level = *l;
    } else if (flag == "--log-format") {
      auto f = log::ParseFormat(value);
      if (f.ok()) o->log_format = *f;
    } else {
      *error = "unknown option " + flag;
      return false;
    }
  }
  return true;
}

int Run(const Options& options) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  // Blocked before any thread exists, so only the main thread's sigwait receives them.
  ::pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::string token;
  if (options.api_port != 0 || !options.token_file.empty()) {
    auto read = ReadTokenFromDisk(options.token_file);
    if (!read.ok()) {
      log::Error("{}", read.status().message());
      return 2;
    }
    token = std::move(*read);
  }

  ReadModel model;
  const MonotonicClock clock;
  Liveness liveness(clock);  // Before the connection, whose reader thread reports to it.
  CoreConnection core(options.fd, model, [] { ::kill(::getpid(), SIGTERM); });
  // Liveness pings the core when a check wants a fresh answer; any frame is an answer too.
  liveness.set_ping([&core, &liveness] {
    internal::v1::Command ping;
    ping.mutable_ping();
    core.Send(std::move(ping), [&liveness](const internal::v1::Result& r) {
      if (r.code() == 0) liveness.OnAnswer();
    });
  });
  core.set_on_frame([&liveness] { liveness.OnAnswer(); });
  LifecycleService local_api(model, core, "");
  LifecycleService remote_api(model, core, token);
  HealthService local_health(model, liveness, "");
  HealthService remote_health(model, liveness, token);

  // The unix socket: the Lifecycle API and health, for vigilctl and exec probes.
  if (Status s = PrepareSocketPath(options.socket); !s.ok()) {
    log::Error("{}", s.message());
    return 2;
  }
  const mode_t old_umask = ::umask(0077);  // Born private; widened below only if configured.
  grpc::ServerBuilder local_builder;
  local_builder.AddListeningPort("unix:" + options.socket, grpc::InsecureServerCredentials());
  local_builder.RegisterService(&local_api);
  local_builder.RegisterService(&local_health);
  std::unique_ptr<grpc::Server> local = local_builder.BuildAndStart();
  ::umask(old_umask);
  if (!local) {
    log::Error("cannot listen on unix socket {}", options.socket);
    return 1;
  }
  if (::chmod(options.socket.c_str(), static_cast<mode_t>(options.socket_mode)) != 0) {
    log::Warn("chmod {}: {}", options.socket, std::strerror(errno));
  }

  // The kubelet's gRPC probe: grpc.health.v1 only, nothing else on this port.
  std::unique_ptr<grpc::Server> health_only;
  if (options.health_port != 0) {
    grpc::ServerBuilder b;
    b.AddListeningPort("0.0.0.0:" + std::to_string(options.health_port),
                       grpc::InsecureServerCredentials());
    b.RegisterService(&local_health);  // Health alone: the Lifecycle API is not on this port.
    health_only = b.BuildAndStart();
    if (!health_only) log::Error("cannot listen on health port {}", options.health_port);
  }
  // The API on TCP, only when asked for, only with a token.
  std::unique_ptr<grpc::Server> remote;
  if (options.api_port != 0) {
    grpc::ServerBuilder b;
    b.AddListeningPort(options.api_address + ":" + std::to_string(options.api_port),
                       grpc::InsecureServerCredentials());
    b.RegisterService(&remote_api);
    b.RegisterService(&remote_health);
    remote = b.BuildAndStart();
    if (!remote) log::Error("cannot listen on API port {}", options.api_port);
  }

  std::unique_ptr<HttpServer> http;
  if (options.http_port != 0) {
    HttpOptions http_options;
    http_options.address = options.api_address;
    http_options.port = options.http_port;
    http_options.drain_enabled = options.http_drain;
    http_options.token = token;
    http_options.liveness = &liveness;
    if (options.http_drain && token.empty()) {
      log::Warn("HTTP /drain without a token: anyone who can reach port {} can drain this pod",
                options.http_port);
    }
    http = std::make_unique<HttpServer>(http_options, model, core);
    if (!http->Start()) http.reset();
  }

  core.Start();
  log::Info("vigil-control serving on unix:{}", options.socket);

  // Prometheus /metrics: every count is the core's, fetched on each scrape.
  std::unique_ptr<prometheus::Exposer> exposer;
  auto collector = std::make_shared<MetricsCollector>(core, ::getppid(), VIGIL_VERSION);
  if (!options.metrics_address.empty()) {
    try {
      exposer = std::make_unique<prometheus::Exposer>(options.metrics_address, 2);
      exposer->RegisterCollectable(collector);
      log::Info("metrics on http://{}/metrics", options.metrics_address);
    } catch (const std::exception& e) {
      // Not fatal: the API and health go on; a restart would only fail the same way.
      log::Error("cannot serve metrics on {}: {}", options.metrics_address, e.what());
    }
  }

  int signo = 0;
  ::sigwait(&stop_signals, &signo);
  const auto deadline = std::chrono::system_clock::now() + std::chrono::milliseconds(500);
  exposer.reset();
  for (auto* server : {local.get(), health_only.get(), remote.get()}) {
    if (server != nullptr) server->Shutdown(deadline);
  }
  liveness.Stop();  // No ping to a connection about to close.
  // Ours to remove only while it is still a socket (see PrepareSocketPath).
  struct stat st;
  if (::lstat(options.socket.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
    ::unlink(options.socket.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace vigil::control

int main(int argc, char** argv) {
  vigil::control::Options options;
  std::string error;
  if (!vigil::control::ParseArgs(argc, argv, &options, &error)) {
    std::fprintf(stderr, "vigil-control: %s\n", error.c_str());
    return 2;
  }
  vigil::log::Setup(options.log_level, options.log_format);
  return vigil::control::Run(options);
}
