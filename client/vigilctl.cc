// vigilctl: the command-line client of a running Vigil agent. main() parses, calls the client
// library, prints. See `vigilctl --help` and docs/control.md.
//
// Exit status: 0 success; 1 the answer is "no" (not ready, drain not graceful, not serving);
// 2 usage; 3 the agent could not be reached or refused the request.
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/util/json_util.h>

#include "agent/base/duration.h"
#include "agent/signal/exit_label.h"
#include "client/drain_text.h"
#include "client/socket_check.h"
#include "client/vigil_client.h"

namespace vigil::client {
namespace {

constexpr int kOk = 0;
constexpr int kNo = 1;
constexpr int kUsage = 2;
constexpr int kUnreachable = 3;

const char* kUsageText =
    R"(Usage: vigilctl [--socket PATH | --address HOST:PORT --token-file F] COMMAND

Commands:
  status [--json]                 The agent, its pools and workers.
  drain [--wait] [--timeout D] [--reason R] [--deadline D]
                                  Start the drain (or join it). With --wait, return when it is
                                  complete: exit 0 when every worker ended gracefully, 1 with the
                                  stragglers otherwise. The Kubernetes preStop hook:
                                  vigilctl drain --wait
  wait-ready [--timeout D]        Return once the agent is ready (exit 1 at the timeout).
  scale POOL N                    Set the pool's number of workers.
  restart POOL [--max-unavailable N]
                                  Rolling, readiness-gated restart of the pool's workers.
  signal POOL|POOL/SLOT SIGNAL    Send a signal to a pool's workers, or to one.
  health [--service S]            grpc.health.v1 check (default service: readiness).
  shutdown [--reason R]           Fast stop of the whole agent.

Options:
  --socket PATH       The agent's unix socket (default /run/vigil/control.sock; env VIGIL_SOCKET).
  --address HOST:PORT The agent's TCP API (needs --token-file; env VIGIL_ADDRESS).
  --token-file PATH   Bearer token for --address (env VIGIL_TOKEN_FILE).
  --timeout D         How long to wait for the agent (default 10s; drain --wait: the grace
                      period, VIGIL_GRACE_PERIOD, or 30s when it is not set).
)";

// drain --wait's bound when --timeout is not given: the pod's grace period, after which the
// kubelet kills the container anyway, as Vigil itself is told it; else Kubernetes' default.
constexpr const char* kGraceVariable = "VIGIL_GRACE_PERIOD";
constexpr Duration kDefaultGracePeriod = std::chrono::seconds(30);

struct Args {
  std::vector<std::string> positional;
  std::string socket;
  std::string address;
  std::string token_file;
  std::string reason;
  std::string service = "readiness";
  std::optional<Duration> timeout;
  Duration deadline{0};
  int max_unavailable = 1;
  bool wait = false;
  bool json = false;
};

int Usage(const std::string& error) {
  std::fprintf(stderr, "vigilctl: %s\n%s", error.c_str(), kUsageText);
  return kUsage;
}

bool ParseArgs(int argc, char** argv, Args* a, std::string* error) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) {
        *error = arg + " needs a value";
        return false;
      }
      *out = argv[++i];
      return true;
    };
    std::string v;
    if (arg == "--socket") {
      if (!value(&a->socket)) return false;
    } else if (arg == "--address") {
      if (!value(&a->address)) return false;
    } else if (arg == "--token-file") {
      if (!value(&a->token_file)) return false;
    } else if (arg == "--reason") {
      if (!value(&a->reason)) return false;
    } else if (arg == "--service") {
      if (!value(&a->service)) return false;
    } else if (arg == "--timeout" || arg == "--deadline") {
      if (!value(&v)) return false;
      auto d = ParseDuration(v);
      if (!d.ok()) {
        *error = arg + ": " + d.status().message();
        return false;
      }
      if (arg == "--timeout")
        a->timeout = *d;
      else
        a->deadline = *d;
    } else if (arg == "--max-unavailable") {
      if (!value(&v)) return false;
      char* end = nullptr;
      a->max_unavailable = static_cast<int>(std::strtol(v.c_str(), &end, 10));
      if (v.empty() || *end != '\0' || a->max_unavailable < 1) {
        *error = "--max-unavailable: expected a whole number >= 1, got '" + v + "'";
        return false;
      }
    } else if (arg == "--wait") {
      a->wait = true;
    } else if (arg == "--json") {
      a->json = true;
    } else if (arg == "-h" || arg == "--help") {
      a->positional = {"help"};
      return true;
    } else if (arg.size() > 1 && arg[0] == '-' && !(arg.size() > 1 && std::isdigit(arg[1]))) {
      *error = "unknown option '" + arg + "'";
      return false;
    } else {
      a->positional.push_back(arg);
    }
  }
  return true;
}

Endpoint ResolveEndpoint(const Args& a, std::string* error) {
  Endpoint e;
  std::string address = a.address;
  if (address.empty()) {
    if (const char* env = std::getenv("VIGIL_ADDRESS")) address = env;
  }
  std::string token_file = a.token_file;
  if (token_file.empty()) {
    if (const char* env = std::getenv("VIGIL_TOKEN_FILE")) token_file = env;
  }
  if (!address.empty() && a.socket.empty()) {
    e.target = address;
    if (!token_file.empty()) {
      std::ifstream in(token_file);
      if (!in) {
        *error = "cannot read token file '" + token_file + "'";
        return e;
      }
      std::getline(in, e.token);
      while (!e.token.empty() && (e.token.back() == '\r' || e.token.back() == ' '))
        e.token.pop_back();
    }
    return e;
  }
  std::string socket = a.socket;
  if (socket.empty()) {
    const char* env = std::getenv("VIGIL_SOCKET");
    socket = env != nullptr && *env != '\0' ? env : "/run/vigil/control.sock";
  }
  e.target = "unix:" + socket;
  return e;
}

int Failed(const VigilClient& client, const grpc::Status& s) {
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
    std::fprintf(stderr, "vigilctl: cannot reach the agent at %s: %s\n", client.target().c_str(),
                 s.error_message().c_str());
  } else if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    std::fprintf(stderr, "vigilctl: no answer from the agent at %s in time\n",
                 client.target().c_str());
  } else {
    std::fprintf(stderr, "vigilctl: %s\n", s.error_message().c_str());
  }
  return kUnreachable;
}

const char* PhaseName(v1::Phase phase) {
  switch (phase) {
    case v1::PHASE_STARTING:
      return "starting";
    case v1::PHASE_READY:
      return "ready";
    case v1::PHASE_DRAINING:
      return "draining";
    case v1::PHASE_DRAINED:
      return "drained";
    case v1::PHASE_EXITING:
      return "exiting";
    default:
      return "unknown";
  }
}

const char* StateName(v1::WorkerState state) {
  switch (state) {
    case v1::WORKER_STATE_BACKOFF:
      return "backoff";
    case v1::WORKER_STATE_STARTING:
      return "starting";
    case v1::WORKER_STATE_READY:
      return "ready";
    case v1::WORKER_STATE_STOPPING:
      return "stopping";
    case v1::WORKER_STATE_EXITED:
      return "exited";
    default:
      return "unknown";
  }
}

std::string Ago(int64_t unix_ms) {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  const int64_t now = static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
  const int64_t s = std::max<int64_t>(0, (now - unix_ms) / 1000);
  char buf[32];
  if (s < 120) {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  } else if (s < 7200) {
    std::snprintf(buf, sizeof buf, "%lldm", static_cast<long long>(s / 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lldh", static_cast<long long>(s / 3600));
  }
  return buf;
}

std::string LastExit(const v1::Worker& w) {
  if (!w.has_last_exit()) return "-";
  const auto& e = w.last_exit();
  return ExitLabel(e.reason(), e.code(), e.signal());
}

void PrintStatus(const v1::AgentStatus& s) {
  if (s.phase() == v1::PHASE_READY) {
    std::printf("agent: ready\n");
  } else {
    std::printf("agent: %s, not ready\n", PhaseName(s.phase()));
  }
  if (s.has_drain()) {
    const auto& d = s.drain();
    std::printf("drain: %s (trigger %s), %d worker(s) remaining\n",
                d.complete() ? (d.graceful() ? "complete, graceful" : "complete, with stragglers")
                             : "in progress",
                d.trigger().c_str(), d.workers_remaining());
  }
  for (const auto& p : s.pools()) {
    std::printf("\npool %s: %d/%d ready%s%s\n", p.name().c_str(), p.ready(), p.desired(),
                p.failed() ? ", FAILED (crash loop)" : "", p.pool_ready() ? "" : ", not ready");
    std::printf("  %-5s %-8s %-9s %-6s %-9s %-22s %s\n", "SLOT", "PID", "STATE", "SINCE",
                "RESTARTS", "LAST EXIT", "STATUS");
    for (const auto& w : p.workers()) {
      std::printf("  %-5d %-8s %-9s %-6s %-9d %-22s %s\n", w.slot(),
                  w.pid() > 0 ? std::to_string(w.pid()).c_str() : "-", StateName(w.state()),
                  Ago(w.since_unix_ms()).c_str(), w.restarts(), LastExit(w).c_str(),
                  w.status_text().c_str());
    }
  }
}

std::string ToJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, options);
  return out;
}

// How long `drain --wait` waits, and what said so (for the messages).
struct DrainBound {
  Duration timeout = kDefaultGracePeriod;
  std::string source;
};

bool ResolveDrainBound(const Args& a, DrainBound* bound, std::string* error) {
  if (a.timeout) {
    *bound = {*a.timeout, "--timeout"};
    return true;
  }
  const char* env = std::getenv(kGraceVariable);
  if (env == nullptr || *env == '\0') {
    *bound = {kDefaultGracePeriod, std::string(kGraceVariable) + " not set: Kubernetes' default"};
    return true;
  }
  auto d = ParseDuration(env);
  if (!d.ok()) {
    *error = std::string(kGraceVariable) + ": " + d.status().message();
    return false;
  }
  *bound = {*d, kGraceVariable};
  return true;
}

// Before any call on a unix socket: what is wrong with its path is said at once, by name. Only
// the commands that wait for the agent keep trying while the socket may yet appear (wait-ready
// from the container's first instant; drain --wait across a restart of vigil-control), and say
// so. Returns the exit status, or -1 to go on.
int CheckSocket(const Endpoint& endpoint, bool wait_ready, bool drain_wait,
                const std::string& bound) {
  static constexpr std::string_view kUnix = "unix:";
  if (endpoint.target.compare(0, kUnix.size(), kUnix) != 0) return -1;
  const SocketCheck check = CheckSocketPath(endpoint.target.substr(kUnix.size()));
  const bool keep_trying = (check.state == SocketCheck::kMissing && (wait_ready || drain_wait)) ||
                           (check.state == SocketCheck::kNoDirectory && wait_ready);
  if (check.state == SocketCheck::kPresent) return -1;
  if (keep_trying) {
    std::fprintf(stderr, "vigilctl: %s; trying for up to %s\n", check.message.c_str(),
                 bound.c_str());
    std::fflush(stderr);
    return -1;
  }
  std::fprintf(stderr, "vigilctl: cannot reach the agent: %s\n", check.message.c_str());
  return kUnreachable;
}

int Run(const Args& a) {
  const std::string& command = a.positional.front();
  std::string error;
  const Endpoint endpoint = ResolveEndpoint(a, &error);
  if (!error.empty()) return Usage(error);
  const bool drain_wait = command == "drain" && a.wait;
  DrainBound drain_bound;
  if (drain_wait && !ResolveDrainBound(a, &drain_bound, &error)) return Usage(error);
  const std::string bound =
      drain_wait ? FormatDuration(drain_bound.timeout) + " (" + drain_bound.source + ")"
                 : FormatDuration(a.timeout.value_or(std::chrono::seconds(10))) + " (--timeout)";
  if (int code = CheckSocket(endpoint, command == "wait-ready", drain_wait, bound); code >= 0) {
    return code;
  }
  // Never destroyed: the process exits right after the command (main's _Exit), and tearing
  // gRPC's channel and threads down took ~8 ms that a preStop hook would wait for.
  VigilClient& client = *new VigilClient(endpoint);
  const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
      a.timeout.value_or(std::chrono::seconds(10)));
  const size_t nargs = a.positional.size() - 1;

  if (command == "status") {
    if (nargs != 0) return Usage("status takes no arguments");
    v1::AgentStatus status;
    if (grpc::Status s = client.GetStatus(&status, timeout); !s.ok()) return Failed(client, s);
    if (a.json) {
      std::printf("%s\n", ToJson(status).c_str());
    } else {
      PrintStatus(status);
    }
    return kOk;
  }
  if (command == "drain") {
    if (nargs != 0) return Usage("drain takes no arguments");
    v1::DrainRequest request;
    request.set_reason(a.reason.empty() ? "vigilctl drain" : a.reason);
    request.set_wait(a.wait);
    request.set_trigger(a.wait ? "prestop" : "api");
    request.set_deadline_ms(
        std::chrono::duration_cast<std::chrono::milliseconds>(a.deadline).count());
    v1::DrainProgress progress;
    const auto drain_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
        drain_wait ? drain_bound.timeout : a.timeout.value_or(std::chrono::seconds(10)));
    if (grpc::Status s = client.Drain(request, &progress, drain_timeout); !s.ok()) {
      if (drain_wait && s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
        std::fprintf(stderr, "vigilctl: no answer from the agent at %s within %s\n",
                     client.target().c_str(), bound.c_str());
        return kUnreachable;
      }
      return Failed(client, s);
    }
    if (!a.wait) {
      std::printf("drain started (trigger %s)\n", progress.trigger().c_str());
      return kOk;
    }
    if (progress.graceful()) {
      std::printf("drained: every worker ended gracefully\n");
      return kOk;
    }
    const std::string stragglers = StragglerList(progress);
    std::printf("drained with stragglers (signalled or killed at the deadline):%s\n",
                stragglers.empty() ? " none recorded" : stragglers.c_str());
    return kNo;
  }
  if (command == "wait-ready") {
    if (nargs != 0) return Usage("wait-ready takes no arguments");
    bool ready = false;
    bool reached = false;
    grpc::Status s = client.Watch(
        [&](const v1::Event& e) {
          reached = true;
          if (e.kind() == v1::Event::SNAPSHOT) ready = e.status().ready();
          if (e.kind() == v1::Event::READINESS || e.kind() == v1::Event::DRAIN) ready = e.ready();
          return !ready;
        },
        timeout);
    if (ready) return kOk;
    if (!reached || (!s.ok() && s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED)) {
      return Failed(client, s);
    }
    std::fprintf(stderr, "vigilctl: the agent is not ready\n");
    return kNo;
  }
  if (command == "scale") {
    if (nargs != 2) return Usage("usage: vigilctl scale POOL N");
    char* end = nullptr;
    const long n = std::strtol(a.positional[2].c_str(), &end, 10);
    if (a.positional[2].empty() || *end != '\0') return Usage("N must be a whole number");
    v1::Pool pool;
    if (grpc::Status s = client.Scale(a.positional[1], static_cast<int>(n), &pool, timeout);
        !s.ok()) {
      return Failed(client, s);
    }
    std::printf("pool %s scaled to %ld\n", a.positional[1].c_str(), n);
    return kOk;
  }
  if (command == "restart") {
    if (nargs != 1) return Usage("usage: vigilctl restart POOL");
    if (grpc::Status s = client.Restart(a.positional[1], a.max_unavailable, timeout); !s.ok()) {
      return Failed(client, s);
    }
    std::printf("rolling restart of pool %s started\n", a.positional[1].c_str());
    return kOk;
  }
  if (command == "signal") {
    if (nargs != 2) return Usage("usage: vigilctl signal POOL|POOL/SLOT SIGNAL");
    std::string pool = a.positional[1];
    int slot = -1;
    if (size_t slash = pool.find('/'); slash != std::string::npos) {
      char* end = nullptr;
      slot = static_cast<int>(std::strtol(pool.c_str() + slash + 1, &end, 10));
      if (*end != '\0' || slash + 1 == pool.size()) return Usage("bad worker '" + pool + "'");
      pool = pool.substr(0, slash);
    }
    int count = 0;
    if (grpc::Status s = client.Signal(pool, slot, a.positional[2], &count, timeout); !s.ok()) {
      return Failed(client, s);
    }
    std::printf("signalled %d worker(s)\n", count);
    return kOk;
  }
  if (command == "health") {
    if (nargs != 0) return Usage("health takes no arguments");
    bool serving = false;
    if (grpc::Status s = client.Health(a.service, &serving, timeout); !s.ok())
      return Failed(client, s);
    std::printf("%s: %s\n", a.service.empty() ? "\"\"" : a.service.c_str(),
                serving ? "SERVING" : "NOT_SERVING");
    return serving ? kOk : kNo;
  }
  if (command == "shutdown") {
    if (nargs != 0) return Usage("shutdown takes no arguments");
    if (grpc::Status s = client.Shutdown(a.reason, timeout); !s.ok()) return Failed(client, s);
    std::printf("shutdown started\n");
    return kOk;
  }
  return Usage("unknown command '" + command + "'");
}

}  // namespace
}  // namespace vigil::client

int main(int argc, char** argv) {
  vigil::client::Args args;
  std::string error;
  if (!vigil::client::ParseArgs(argc, argv, &args, &error)) return vigil::client::Usage(error);
  if (args.positional.empty()) return vigil::client::Usage("no command given");
  if (args.positional.front() == "help") {
    std::fputs(vigil::client::kUsageText, stdout);
    return 0;
  }
  const int code = vigil::client::Run(args);
  // Skip gRPC's teardown (see Run): the answer is printed, the OS reclaims the rest.
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(code);
}
