// vigil-control: the control plane, a child of the PID-1 core (docs/control.md). main() reads
// its options, the first frame the core sends on fd 3 (options.h), then wires: the core
// connection on fd 3, the read model, the Lifecycle API and grpc.health.v1 on the unix
// socket, an optional health-only TCP listener for the kubelet's gRPC probe, and an optional
// TCP listener for the API, guarded by a bearer token, and Prometheus /metrics; every listener
// held to the limits of limits.h (docs/control.md, "Limits"), and the libraries' logs routed
// through Vigil's logger.
#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "agent/base/quote.h"
#include "agent/config/token_file.h"
#include "agent/control/call_gate.h"
#include "agent/control/control_counters.h"
#include "agent/control/core_connection.h"
#include "agent/control/grpc_front_door.h"
#include "agent/control/grpc_runtime.h"
#include "agent/control/health_service.h"
#include "agent/control/http_server.h"
#include "agent/control/library_log.h"
#include "agent/control/lifecycle_service.h"
#include "agent/control/limits.h"
#include "agent/control/liveness.h"
#include "agent/control/metrics_collector.h"
#include "agent/control/metrics_endpoint.h"
#include "agent/control/options.h"
#include "agent/control/reactors.h"
#include "agent/control/read_model.h"
#include "agent/control/stream_budget.h"
#include "agent/log/log.h"
#include "agent/sys/socket_path.h"

namespace vigil::control {
namespace {

// Descriptors are what connections cost first: the soft limit goes up to the hard one (at most
// 65536), so that the listeners' own limits (limits.h), not EMFILE, decide who is served.
void RaiseFdLimit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  const rlim_t want = std::min<rlim_t>(rl.rlim_max, 65536);
  if (rl.rlim_cur >= want) return;
  rl.rlim_cur = want;
  if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    log::Warn("cannot raise the descriptor limit to {}: {}", want, std::strerror(errno));
  }
}

int Run(const Options& options) {
  RaiseFdLimit();
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
  CoreConnection core(kCoreFd, model, [] { ::kill(::getpid(), SIGTERM); });
  // Liveness pings the core when a check wants a fresh answer; any frame is an answer too.
  liveness.set_ping([&core, &liveness] {
    internal::v1::Command ping;
    ping.mutable_ping();
    core.Send(std::move(ping), [&liveness](const internal::v1::Result& r) {
      if (r.code() == grpc::StatusCode::OK) liveness.OnAnswer();
    });
  });
  core.set_on_frame([&liveness] { liveness.OnAnswer(); });
  ControlCounters counters;
  StreamBudget stream_budget(limits::kStreamQueueBytes, limits::kAllStreamsQueueBytes);
  const StreamEnv streams{stream_budget, counters};
  // One gate per listener, so that the clients of one cannot crowd out another's.
  CallGate unix_gate(Listener::kUnix, limits::kUnixSocket, counters);
  CallGate health_gate(Listener::kHealth, limits::kHealthPort, counters);
  CallGate api_gate(Listener::kApi, limits::kApiPort, counters);
  LifecycleService local_api(model, core, "", unix_gate, streams);
  LifecycleService remote_api(model, core, token, api_gate, streams);
  HealthService local_health(model, liveness, "", unix_gate, streams);
  HealthService port_health(model, liveness, "", health_gate, streams);
  HealthService remote_health(model, liveness, token, api_gate, streams);

  // Every grpc++ object of the process, up only while clients need it (grpc_runtime.h).
  std::vector<GrpcRuntime::ServerSpec> specs;
  specs.push_back({Listener::kUnix, {&local_api, &local_health}, "grpc-unix"});
  if (options.health_port != 0) {  // Health alone: the Lifecycle API is not on this port.
    specs.push_back({Listener::kHealth, {&port_health}, "grpc-health", limits::kHealthPortMemory});
  }
  if (options.api_port != 0) {
    specs.push_back(
        {Listener::kApi, {&remote_api, &remote_health}, "grpc-api", limits::kApiPortMemory});
  }
  GrpcRuntime grpc(std::move(specs), options.grpc_idle_linger);
  auto hand_over = [&grpc](Listener which) {
    return GrpcFrontDoor::HandOver{[&grpc, which](int fd) { grpc.HandOver(which, fd); },
                                   [&grpc] { grpc.Ended(); }};
  };

  // The unix socket: the Lifecycle API and health, for vigilctl and exec probes. Every listener
  // accepts through a front door that turns away clients not speaking gRPC (grpc_front_door.h).
  if (Status s = PrepareSocketPath(options.socket); !s.ok()) {
    log::Error("{}", s.message());
    return 2;
  }
  auto unix_door = std::make_unique<GrpcFrontDoor>(Listener::kUnix, counters);
  if (Status s =
          unix_door->StartUnix(options.socket, options.socket_mode, hand_over(Listener::kUnix));
      !s.ok()) {
    log::Event(log::Level::kError, "control_listen_failed", s.message(),
               {{"listener", "unix socket"}, {"address", options.socket}});
    return 1;
  }

  // The kubelet's gRPC probe: grpc.health.v1 only, nothing else on this port.
  std::unique_ptr<GrpcFrontDoor> health_door;
  if (options.health_port != 0) {
    health_door = std::make_unique<GrpcFrontDoor>(Listener::kHealth, counters);
    const Status s = health_door->Start("", options.health_port, hand_over(Listener::kHealth));
    if (!s.ok()) {
      log::Event(log::Level::kError, "control_listen_failed",
                 "cannot listen on health port " + std::to_string(options.health_port) + ": " +
                     s.message(),
                 {{"listener", "health port"},
                  {"address", "0.0.0.0:" + std::to_string(options.health_port)}});
      health_door.reset();
    }
  }
  // The API on TCP, only when asked for, only with a token.
  std::unique_ptr<GrpcFrontDoor> api_door;
  if (options.api_port != 0) {
    api_door = std::make_unique<GrpcFrontDoor>(Listener::kApi, counters);
    const Status s =
        api_door->Start(options.api_address, options.api_port, hand_over(Listener::kApi));
    if (!s.ok()) {
      log::Event(
          log::Level::kError, "control_listen_failed",
          "cannot listen on API port " + std::to_string(options.api_port) + ": " + s.message(),
          {{"listener", "API port"},
           {"address", options.api_address + ":" + std::to_string(options.api_port)}});
      api_door.reset();
    }
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
    http = std::make_unique<HttpServer>(http_options, model, core, counters);
    if (!http->Start()) http.reset();
  }

  core.Start();
  log::Info("vigil-control serving on unix:{} (gRPC up on demand, down after {} ms idle)",
            options.socket, options.grpc_idle_linger.count());

  // Prometheus /metrics: every count is the core's, fetched on each scrape.
  std::unique_ptr<MetricsEndpoint> metrics;
  if (!options.metrics_address.empty()) {
    auto collector =
        std::make_shared<MetricsCollector>(core, ::getppid(), VIGIL_VERSION, &counters);
    metrics = std::make_unique<MetricsEndpoint>(collector, counters);
    if (Status s = metrics->Start(options.metrics_address); s.ok()) {
      log::Info("metrics on http://{}/metrics", options.metrics_address);
    } else {
      // Not fatal: the API and health go on; a restart would only fail the same way.
      log::Event(log::Level::kError, "control_listen_failed",
                 "cannot serve metrics on " + options.metrics_address + ": " + s.message(),
                 {{"listener", "metrics"}, {"address", options.metrics_address}});
      metrics.reset();
    }
  }

  int signo = 0;
  ::sigwait(&stop_signals, &signo);
  const auto deadline = std::chrono::system_clock::now() + std::chrono::milliseconds(500);
  metrics.reset();
  http.reset();
  health_door.reset();
  api_door.reset();
  unix_door.reset();
  // Every call is gone: nothing refers to the services any more.
  grpc.Stop(deadline);
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
  namespace control = vigil::control;
  // Before any thread exists: glibc gives each thread that allocates its own arena (up to 8 per
  // CPU of the host, not of the pod), each keeping freed memory of its own. vigil-control's
  // threads allocate little and seldom; two arenas bound that waste (issue 13).
  ::mallopt(M_ARENA_MAX, 2);
  // Until the options say otherwise (they carry the log level and format).
  vigil::log::Setup(vigil::log::Level::kWarn, vigil::log::Format::kText);
  control::RouteLibraryLogs();
  if (argc > 1) {
    vigil::log::Error(
        "vigil-control takes no arguments (got {}): vigil starts it and sends its options over "
        "fd {} (docs/control.md)",
        vigil::Quoted(argv[1]), control::kCoreFd);
    return 2;
  }
  // The core writes the options before anything else: 10 s is only for a vigil-control
  // started some other way, on a socket that never speaks.
  auto frame = control::ReadFirstFrame(control::kCoreFd, std::chrono::seconds(10));
  auto options = frame.ok() ? control::OptionsFromFrame(*frame)
                            : vigil::StatusOr<control::Options>(frame.status());
  if (!options.ok()) {
    vigil::log::Error("vigil-control: {}", options.status().message());
    return 2;
  }
  vigil::log::Setup(options->log_level, options->log_format);
  return control::Run(*options);
}
