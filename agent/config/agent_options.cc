#include "agent/config/agent_options.h"

#include <cctype>
#include <charconv>

#include "agent/base/duration.h"
#include "agent/base/quote.h"
#include "agent/config/values.h"

namespace vigil {
namespace {

Status Dur(const std::string& v, Duration* out) {
  auto d = ParseDuration(v);
  if (!d.ok()) return d.status();
  *out = *d;
  return Status();
}

Status Port(const std::string& v, int* out) {
  StatusOr<int> port = ParsePortValue(v, 0);  // 0: off
  if (!port.ok()) return port.status();
  *out = *port;
  return Status();
}

Status Bool(const std::string& v, bool* out) {
  StatusOr<bool> b = ParseBoolValue(v);
  if (!b.ok()) return b.status();
  *out = *b;
  return Status();
}

Status Mode(const std::string& v, int* out) {
  int mode = -1;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), mode, 8);
  if (ec != std::errc() || ptr != v.data() + v.size() || mode < 0 || mode > 0777) {
    return Status::Error("expected an octal file mode such as 0600, got " + Quoted(v));
  }
  *out = mode;
  return Status();
}

// "HOST:PORT" or ":PORT" (all addresses), with a numeric IPv4 host; "off" (or empty) turns it
// off.
Status MetricsAddress(const std::string& v, std::string* out) {
  if (v.empty() || v == "off" || v == "false" || v == "0") {
    out->clear();
    return Status();
  }
  const size_t colon = v.rfind(':');
  const std::string bad = "expected HOST:PORT, :PORT or off, got " + Quoted(v);
  if (colon == std::string::npos) return Status::Error(bad);
  std::string host = v.substr(0, colon);
  StatusOr<int> port = ParsePortValue(v.substr(colon + 1), 1);
  if (!port.ok()) return Status::Error(bad + " (the port must be 1..65535)");
  if (host.empty()) host = "0.0.0.0";
  // IPv4 only: the civetweb that prometheus-cpp is built with in Debian has no IPv6.
  for (char c : host) {
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.')) {
      return Status::Error(bad + " (the host must be a numeric IPv4 address)");
    }
  }
  *out = host + ":" + std::to_string(*port);  // ":09100" is port 9100, for the clash check
  return Status();
}

const std::vector<AgentOption> kOptions = {
    {"on_pool_failure", "--on-pool-failure", "VIGIL_ON_POOL_FAILURE", false,
     [](Config* c, const std::string& v) -> Status {
       if (v == "exit") {
         c->on_pool_failure = PoolFailureAction::kExit;
       } else if (v == "keep") {
         c->on_pool_failure = PoolFailureAction::kKeepOthers;
       } else {
         return Status::Error("expected exit or keep, got " + Quoted(v));
       }
       return Status();
     }},
    {"termination_message_path", "--termination-message-path", "VIGIL_TERMINATION_MESSAGE_PATH",
     false,
     [](Config* c, const std::string& v) -> Status {
       c->termination_message_path = v;
       return Status();
     }},
    {"drain.grace_period", "--grace-period", "VIGIL_GRACE_PERIOD", false,
     [](Config* c, const std::string& v) { return Dur(v, &c->drain.grace_period); }},
    {"drain.safety_margin", "--drain-safety-margin", "VIGIL_DRAIN_SAFETY_MARGIN", false,
     [](Config* c, const std::string& v) { return Dur(v, &c->drain.safety_margin); }},
    {"drain.propagation_delay", "--drain-propagation-delay", "VIGIL_DRAIN_PROPAGATION_DELAY", false,
     [](Config* c, const std::string& v) -> Status {
       if (v == "auto") {
         c->drain.propagation_auto = true;
         c->drain.propagation_delay = Duration::zero();
         return Status();
       }
       if (Status s = Dur(v, &c->drain.propagation_delay); !s.ok()) {
         return Status::Error("expected auto or a duration: " + s.message());
       }
       c->drain.propagation_auto = false;
       return Status();
     }},
    {"drain.quiet_period", "--drain-quiet-period", "VIGIL_DRAIN_QUIET_PERIOD", false,
     [](Config* c, const std::string& v) -> Status {
       // Not below one sample: a shorter period would end at the first sample, quiet or not.
       StatusOr<Duration> d =
           ParseDurationValue(v, std::chrono::milliseconds(100), std::chrono::hours(1));
       if (!d.ok()) return d.status();
       c->drain.quiet_period = *d;
       return Status();
     }},
    {"drain.min_delay", "--drain-min-delay", "VIGIL_DRAIN_MIN_DELAY", false,
     [](Config* c, const std::string& v) { return Dur(v, &c->drain.min_delay); }},
    {"drain.max_delay", "--drain-max-delay", "VIGIL_DRAIN_MAX_DELAY", false,
     [](Config* c, const std::string& v) { return Dur(v, &c->drain.max_delay); }},
    {"drain.hold_connections", "--drain-hold-connections", "VIGIL_DRAIN_HOLD_CONNECTIONS", true,
     [](Config* c, const std::string& v) { return Bool(v, &c->drain.hold_connections); }},
    {"control.enabled", "--control", "VIGIL_CONTROL", true,
     [](Config* c, const std::string& v) { return Bool(v, &c->control.enabled); }},
    {"control.binary", "--control-binary", "VIGIL_CONTROL_BINARY", false,
     [](Config* c, const std::string& v) -> Status {
       c->control.binary = v;
       return Status();
     }},
    {"control.socket", "--socket", "VIGIL_SOCKET", false,
     [](Config* c, const std::string& v) -> Status {
       if (v.empty() || v.front() != '/') return Status::Error("must be an absolute path");
       c->control.socket = v;
       return Status();
     }},
    {"control.socket_mode", "--socket-mode", "VIGIL_SOCKET_MODE", false,
     [](Config* c, const std::string& v) { return Mode(v, &c->control.socket_mode); }},
    {"control.health_port", "--health-port", "VIGIL_HEALTH_PORT", false,
     [](Config* c, const std::string& v) { return Port(v, &c->control.health_port); }},
    {"control.api_port", "--api-port", "VIGIL_API_PORT", false,
     [](Config* c, const std::string& v) { return Port(v, &c->control.api_port); }},
    {"control.api_address", "--api-address", "VIGIL_API_ADDRESS", false,
     [](Config* c, const std::string& v) -> Status {
       c->control.api_address = v;
       return Status();
     }},
    {"control.http_port", "--http-port", "VIGIL_HTTP_PORT", false,
     [](Config* c, const std::string& v) { return Port(v, &c->control.http_port); }},
    {"control.http_drain", "--http-drain", "VIGIL_HTTP_DRAIN", true,
     [](Config* c, const std::string& v) { return Bool(v, &c->control.http_drain); }},
    {"control.metrics_address", "--metrics-address", "VIGIL_METRICS_ADDRESS", false,
     [](Config* c, const std::string& v) {
       return MetricsAddress(v, &c->control.metrics_address);
     }},
    {"control.backoff_reset_after", "--control-backoff-reset-after",
     "VIGIL_CONTROL_BACKOFF_RESET_AFTER", false,
     [](Config* c, const std::string& v) -> Status {
       // Not shorter: a vigil-control that dies at start-up would be restarted without a pause.
       StatusOr<Duration> d =
           ParseDurationValue(v, std::chrono::seconds(1), std::chrono::hours(24));
       if (!d.ok()) return d.status();
       c->control.backoff_reset_after = *d;
       return Status();
     }},
    {"control.grpc_idle_linger", "--control-grpc-idle-linger", "VIGIL_CONTROL_GRPC_IDLE_LINGER",
     false,
     [](Config* c, const std::string& v) -> Status {
       StatusOr<Duration> d =
           ParseDurationValue(v, std::chrono::milliseconds(100), std::chrono::hours(24));
       if (!d.ok()) return d.status();
       c->control.grpc_idle_linger = *d;
       return Status();
     }},
    {"control.token_file", "--token-file", "VIGIL_TOKEN_FILE", false,
     [](Config* c, const std::string& v) -> Status {
       c->control.token_file = v;
       return Status();
     }},
    {"notify.directory", "--notify-dir", "VIGIL_NOTIFY_DIR", false,
     [](Config* c, const std::string& v) -> Status {
       if (v.empty() || v.front() != '/') return Status::Error("must be an absolute path");
       c->notify.directory = v;
       return Status();
     }},
    {"notify.credentials", "--notify-credentials", "VIGIL_NOTIFY_CREDENTIALS", false,
     [](Config* c, const std::string& v) -> Status {
       if (v == "auto") {
         c->notify.credentials = NotifyCredentials::kAuto;
       } else if (v == "pidfd") {
         c->notify.credentials = NotifyCredentials::kPidfd;
       } else if (v == "ucred") {
         c->notify.credentials = NotifyCredentials::kUcred;
       } else {
         return Status::Error("expected auto, pidfd or ucred, got '" + v + "'");
       }
       return Status();
     }},
};

}  // namespace

const std::vector<AgentOption>& AgentOptions() {
  return kOptions;
}

const AgentOption* FindAgentOption(std::string_view key) {
  for (const auto& o : kOptions) {
    if (key == o.key) return &o;
  }
  return nullptr;
}

const AgentOption* FindAgentOptionByFlag(std::string_view flag) {
  for (const auto& o : kOptions) {
    if (flag == o.flag) return &o;
  }
  return nullptr;
}

}  // namespace vigil
