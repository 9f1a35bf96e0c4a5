#include "agent/config/pool_options.h"

#include <cmath>
#include <cstdlib>

#include "agent/base/duration.h"
#include "agent/base/quote.h"
#include "agent/config/values.h"
#include "agent/signal/signals.h"

namespace vigil {
namespace {

using Values = std::vector<std::string>;

Status One(const Values& v, std::string* out) {
  if (v.size() != 1) return Status::Error("expected a single value");
  *out = v[0];
  return Status();
}

Status Int(const Values& v, int min, int max, int* out) {
  std::string s;
  if (Status st = One(v, &s); !st.ok()) return st;
  StatusOr<int> value = ParseIntValue(s, min, max);
  if (!value.ok()) return value.status();
  *out = *value;
  return Status();
}

Status Port(const Values& v, int* out) {
  std::string s;
  if (Status st = One(v, &s); !st.ok()) return st;
  StatusOr<int> port = ParsePortValue(s, 1);
  if (!port.ok()) return port.status();
  *out = *port;
  return Status();
}

Status Real(const Values& v, double min, double max, double* out) {
  std::string s;
  if (Status st = One(v, &s); !st.ok()) return st;
  char* end = nullptr;
  double value = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(value)) {
    return Status::Error("expected a number, got " + Quoted(s));
  }
  if (value < min || value > max) {
    return Status::Error("must be between " + std::to_string(min).substr(0, 4) + " and " +
                         std::to_string(max).substr(0, 4) + ", got " +
                         (s.size() <= 32 ? s : Quoted(s)));
  }
  *out = value;
  return Status();
}

Status Dur(const Values& v, Duration* out) {
  std::string s;
  if (Status st = One(v, &s); !st.ok()) return st;
  auto d = ParseDuration(s);
  if (!d.ok()) return d.status();
  *out = *d;
  return Status();
}

Status Bool(const Values& v, bool* out) {
  std::string s;
  if (Status st = One(v, &s); !st.ok()) return st;
  StatusOr<bool> b = ParseBoolValue(s);
  if (!b.ok()) return b.status();
  *out = *b;
  return Status();
}

Status Signal(const Values& v, int* out) {
  std::string s;
  if (Status st = One(v, &s); !st.ok()) return st;
  auto sig = ParseSignal(s);
  if (!sig.ok()) return sig.status();
  *out = *sig;
  return Status();
}

Status Command(const Values& v, std::vector<std::string>* out) {
  if (v.empty() || v.front().empty()) {
    return Status::Error("must not be empty (a list: the program, then its arguments)");
  }
  *out = v;
  return Status();
}

Status Codes(const Values& v, ExitCodeSet* out) {
  ExitCodeSet codes;
  for (const auto& s : v) {
    int code = 0;
    if (Status st = Int({s}, 0, 255, &code); !st.ok()) return st;
    codes.set(static_cast<size_t>(code));
  }
  *out = codes;
  return Status();
}

Status Text(const Values& v, std::string* out) {
  return One(v, out);
}

// The most ports a pool's `ports:` may list: the watch compares every connection with each.
constexpr size_t kMaxPoolPorts = 64;

Status Ports(PoolConfig* p, const Values& v) {
  if (v.size() > kMaxPoolPorts) {
    return Status::Error("at most " + std::to_string(kMaxPoolPorts) + " ports, got " +
                         std::to_string(v.size()));
  }
  std::vector<int> ports;
  for (const auto& s : v) {
    int port = 0;
    if (Status st = Port({s}, &port); !st.ok()) return st;
    ports.push_back(port);
  }
  p->ports = std::move(ports);
  return Status();
}

// Pool names appear in metrics labels, log prefixes and socket names: keep them simple.
Status Name(PoolConfig* p, const Values& v) {
  std::string s;
  if (Status st = One(v, &s); !st.ok()) return st;
  if (s.empty() || s.size() > 63) return Status::Error("must be 1 to 63 characters");
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) {
      return Status::Error(Quoted(s) + " may only hold lower-case letters, digits, '-' and '_'");
    }
  }
  p->name = s;
  return Status();
}

Status Restart(PoolConfig* p, const Values& v) {
  std::string s;
  if (Status st = One(v, &s); !st.ok()) return st;
  if (s == "always") {
    p->restart = RestartPolicy::kAlways;
  } else if (s == "on-failure") {
    p->restart = RestartPolicy::kOnFailure;
  } else if (s == "never") {
    p->restart = RestartPolicy::kNever;
  } else {
    return Status::Error("expected always, on-failure or never, got " + Quoted(s));
  }
  return Status();
}

Status Readiness(PoolConfig* p, const Values& v) {
  std::string s;
  if (Status st = One(v, &s); !st.ok()) return st;
  static const std::pair<const char*, ReadinessMode> kModes[] = {
      {"started", ReadinessMode::kStarted},
      {"notify", ReadinessMode::kNotify},
      {"exec", ReadinessMode::kExec},
      {"tcp", ReadinessMode::kTcp},
      {"http", ReadinessMode::kHttp}};
  for (const auto& [name, mode] : kModes) {
    if (s == name) {
      p->readiness.mode = mode;
      return Status();
    }
  }
  return Status::Error("expected started, notify, exec, tcp or http, got " + Quoted(s));
}

Status Env(PoolConfig* p, const Values& v) {
  for (const auto& pair : v) {
    size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::Error("expected NAME=VALUE, got " + Quoted(pair));
    }
    p->env[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
  return Status();
}

Status Rewrite(PoolConfig* p, const Values& v) {
  for (const auto& rule : v) {
    if (Status st = p->forward_rewrite.AddRule(rule); !st.ok()) return st;
  }
  return Status();
}

using K = PoolOption::Kind;

const std::vector<PoolOption> kOptions = {
    {"name", K::kScalar, false, Name},
    {"command", K::kList, false,
     [](PoolConfig* p, const Values& v) { return Command(v, &p->command); }},
    {"env", K::kMap, true, Env},
    {"working_dir", K::kScalar, true,
     [](PoolConfig* p, const Values& v) { return Text(v, &p->working_dir); }},
    {"user", K::kScalar, true, [](PoolConfig* p, const Values& v) { return Text(v, &p->user); }},
    {"group", K::kScalar, true, [](PoolConfig* p, const Values& v) { return Text(v, &p->group); }},
    {"replicas", K::kScalar, true,
     [](PoolConfig* p, const Values& v) { return Int(v, 0, kMaxReplicas, &p->replicas); }},
    {"restart", K::kScalar, true, Restart},
    {"success_exit_codes", K::kList, true,
     [](PoolConfig* p, const Values& v) { return Codes(v, &p->success_exit_codes); }},
    {"no_restart_exit_codes", K::kList, true,
     [](PoolConfig* p, const Values& v) { return Codes(v, &p->no_restart_exit_codes); }},
    {"stop_signal", K::kScalar, true,
     [](PoolConfig* p, const Values& v) { return Signal(v, &p->stop_signal); }},
    {"fast_stop_signal", K::kScalar, true,
     [](PoolConfig* p, const Values& v) { return Signal(v, &p->fast_stop_signal); }},
    {"stop_timeout", K::kScalar, true,
     [](PoolConfig* p, const Values& v) { return Dur(v, &p->stop_timeout); }},
    {"readiness.mode", K::kScalar, true, Readiness},
    {"readiness.command", K::kList, true,
     [](PoolConfig* p, const Values& v) { return Command(v, &p->readiness.command); }},
    {"readiness.host", K::kScalar, true,
     [](PoolConfig* p, const Values& v) { return Text(v, &p->readiness.host); }},
    {"readiness.port", K::kScalar, true,
     [](PoolConfig* p, const Values& v) { return Port(v, &p->readiness.port); }},
    {"readiness.path", K::kScalar, true,
     [](PoolConfig* p, const Values& v) { return Text(v, &p->readiness.path); }},
    {"readiness.period", K::kScalar, true,
     [](PoolConfig* p, const Values& v) { return Dur(v, &p->readiness.period); }},
    {"readiness.timeout", K::kScalar, true,
     [](PoolConfig* p, const Values& v) { return Dur(v, &p->readiness.timeout); }},
    {"readiness.failure_threshold", K::kScalar, true,
     [](PoolConfig* p, const Values& v) {
       return Int(v, 1, 1000, &p->readiness.failure_threshold);
     }},
    {"boot_timeout", K::kScalar, true,
     [](PoolConfig* p, const Values& v) { return Dur(v, &p->boot_timeout); }},
    {"watchdog", K::kScalar, true,
     [](PoolConfig* p, const Values& v) { return Dur(v, &p->watchdog); }},
    {"backoff.initial", K::kScalar, true,
     [](PoolConfig* p, const Values& v) { return Dur(v, &p->backoff.initial); }},
    {"backoff.max", K::kScalar, true,
     [](PoolConfig* p, const Values& v) { return Dur(v, &p->backoff.max); }},
    {"backoff.multiplier", K::kScalar, true,
     [](PoolConfig* p, const Values& v) { return Real(v, 1.0, 100.0, &p->backoff.multiplier); }},
    {"backoff.jitter", K::kScalar, true,
     [](PoolConfig* p, const Values& v) { return Real(v, 0.0, 1.0, &p->backoff.jitter); }},
    {"backoff.reset_after", K::kScalar, true,
     [](PoolConfig* p, const Values& v) { return Dur(v, &p->backoff.reset_after); }},
    {"crash_loop.max_restarts", K::kScalar, true,
     [](PoolConfig* p, const Values& v) {
       return Int(v, 0, 1000000, &p->crash_loop.max_restarts);
     }},
    {"crash_loop.period", K::kScalar, true,
     [](PoolConfig* p, const Values& v) { return Dur(v, &p->crash_loop.period); }},
    {"crash_loop.stability_period", K::kScalar, true,
     [](PoolConfig* p, const Values& v) { return Dur(v, &p->crash_loop.stability_period); }},
    {"max_lifetime", K::kScalar, true,
     [](PoolConfig* p, const Values& v) { return Dur(v, &p->max_lifetime); }},
    {"max_lifetime_jitter", K::kScalar, true,
     [](PoolConfig* p, const Values& v) { return Dur(v, &p->max_lifetime_jitter); }},
    {"min_ready", K::kScalar, true,
     [](PoolConfig* p, const Values& v) { return Int(v, 0, kMaxReplicas, &p->min_ready); }},
    {"log_prefix", K::kBool, true,
     [](PoolConfig* p, const Values& v) { return Bool(v, &p->log_prefix); }},
    {"rewrite", K::kList, true, Rewrite},
    {"ports", K::kList, true, Ports},
};

std::string Transform(std::string_view key, char dot_to, char underscore_to, bool upper) {
  std::string out;
  for (char c : key) {
    if (c == '.') {
      out += dot_to;
    } else if (c == '_') {
      out += underscore_to;
    } else {
      out += upper && c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
    }
  }
  return out;
}

}  // namespace

const std::vector<PoolOption>& PoolOptions() {
  return kOptions;
}

const PoolOption* FindPoolOption(std::string_view key) {
  for (const auto& option : kOptions) {
    if (key == option.key) return &option;
  }
  return nullptr;
}

const PoolOption* FindPoolOptionByFlag(std::string_view flag) {
  if (flag == "readiness") return FindPoolOption("readiness.mode");
  for (const auto& option : kOptions) {
    if (flag == Transform(option.key, '-', '-', false)) return &option;
  }
  return nullptr;
}

std::string PoolOptionFlag(const PoolOption& option) {
  return "--" + Transform(option.key, '-', '-', false);
}

std::string PoolOptionEnv(const PoolOption& option) {
  return "VIGIL_" + Transform(option.key, '_', '_', true);
}

std::vector<std::string> SplitOptionValue(const PoolOption& option, std::string_view text) {
  if (option.kind == PoolOption::Kind::kScalar || option.kind == PoolOption::Kind::kBool) {
    return {std::string(text)};
  }
  const bool is_command = std::string_view(option.key).ends_with("command");
  const char separator = is_command ? ' ' : ',';
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find(separator, pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view part = text.substr(pos, end - pos);
    while (!part.empty() && part.front() == ' ')
      part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ')
      part.remove_suffix(1);
    if (!part.empty()) out.emplace_back(part);
    pos = end + 1;
  }
  return out;
}

}  // namespace vigil
