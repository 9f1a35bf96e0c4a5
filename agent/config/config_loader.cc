#include "agent/config/config_loader.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <initializer_list>

#include "agent/base/duration.h"
#include "agent/base/quote.h"
#include "agent/base/unique_fd.h"
#include "agent/config/agent_options.h"
#include "agent/config/pool_options.h"
#include "agent/signal/signals.h"
#include "agent/sys/socket_address.h"
#include "agent/sys/user_db.h"

namespace vigil {
namespace {

Status ApplyEverywhere(Config* config, const PoolOption& option, const std::string& text,
                       const std::string& origin) {
  const std::vector<std::string> values = SplitOptionValue(option, text);
  for (PoolConfig& pool : config->pools) {
    if (Status s = option.set(&pool, values); !s.ok()) {
      return Status::Error(origin + ": " + s.message());
    }
    pool.origin[option.key] = origin;
  }
  return Status();
}

bool IsNumber(const std::string& s) {
  unsigned value;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  return !s.empty() && ec == std::errc() && ptr == s.data() + s.size();
}

// "vigil.yaml:14: pool 'web': user: no such user 'x'", or "--user: no such user 'x'": the
// error names where the offending value was set.
Status FieldError(const PoolConfig& pool, const std::string& key, const std::string& what) {
  auto it = pool.origin.find(key);
  if (it != pool.origin.end() &&
      (it->second.rfind("--", 0) == 0 || it->second.rfind("VIGIL_", 0) == 0)) {
    return Status::Error(it->second + ": " + what);
  }
  const std::string& where = it != pool.origin.end() ? it->second : pool.location;
  const std::string label = pool.label.empty() ? "pool " + Quoted(pool.name) : pool.label;
  return Status::Error(where + ": " + label + "." + key + ": " + what);
}

// Names are looked up in /etc/passwd and /etc/group (user_db.h: no NSS, the core is static);
// the error says which file, and which of its lines when one is malformed.
Status CheckUserAndGroup(const PoolConfig& pool) {
  const UserDb users;
  if (!pool.user.empty() && !IsNumber(pool.user)) {
    if (StatusOr<UserEntry> user = users.FindUser(pool.user); !user.ok()) {
      return FieldError(pool, "user", user.status().message());
    }
  }
  if (!pool.group.empty() && !IsNumber(pool.group)) {
    if (StatusOr<GroupEntry> group = users.FindGroup(pool.group); !group.ok()) {
      return FieldError(pool, "group", group.status().message());
    }
  }
  return Status();
}

bool FromFlagOrEnv(const std::string& origin) {
  return origin.rfind("--", 0) == 0 || origin.rfind("VIGIL_", 0) == 0;
}

// An error about agent-wide options that only make sense together: it names the one of `keys`
// set by the strongest source (a flag or variable, else the file's line), or the first key and
// the config's source when none was set.
Status AgentFieldError(const Config& config, std::initializer_list<const char*> keys,
                       const std::string& what) {
  const char* key = *keys.begin();
  const std::string* origin = nullptr;
  for (const char* k : keys) {
    auto it = config.origin.find(k);
    if (it == config.origin.end()) continue;
    if (origin == nullptr || (FromFlagOrEnv(it->second) && !FromFlagOrEnv(*origin))) {
      key = k;
      origin = &it->second;
    }
  }
  return Status::Error((origin != nullptr ? *origin : config.source) + ": " + key + ": " + what);
}

}  // namespace

Status ValidateConfig(Config* config) {
  for (PoolConfig& pool : config->pools) {
    if (pool.command.empty() || pool.command.front().empty()) {
      return FieldError(pool, "command", "must not be empty");
    }
    const ReadinessConfig& r = pool.readiness;
    if (r.mode == ReadinessMode::kExec && r.command.empty()) {
      return FieldError(pool, "readiness.mode", "mode exec needs readiness.command");
    }
    if ((r.mode == ReadinessMode::kTcp || r.mode == ReadinessMode::kHttp) && r.port == 0) {
      return FieldError(pool, "readiness.mode",
                        std::string("mode ") + ReadinessModeName(r.mode) + " needs readiness.port");
    }
    if (r.mode == ReadinessMode::kTcp || r.mode == ReadinessMode::kHttp) {
      auto address = ParseSocketAddress(r.host, r.port);
      if (!address.ok()) return FieldError(pool, "readiness.host", address.status().message());
    }
    if (r.mode == ReadinessMode::kHttp && (r.path.empty() || r.path.front() != '/')) {
      return FieldError(pool, "readiness.path", "must start with '/'");
    }
    if (r.period <= Duration::zero())
      return FieldError(pool, "readiness.period", "must be more than 0");
    if (r.timeout <= Duration::zero())
      return FieldError(pool, "readiness.timeout", "must be more than 0");
    if (pool.backoff.max < pool.backoff.initial) {
      return FieldError(pool, pool.origin.count("backoff.max") ? "backoff.max" : "backoff.initial",
                        "backoff.max must not be less than backoff.initial");
    }
    if (pool.crash_loop.period <= Duration::zero()) {
      return FieldError(pool, "crash_loop.period", "must be more than 0");
    }
    if (pool.max_lifetime_jitter > Duration::zero() && pool.max_lifetime == Duration::zero()) {
      return FieldError(pool, "max_lifetime_jitter", "needs max_lifetime");
    }
    if (pool.max_lifetime > Duration::zero() && pool.max_lifetime_jitter >= pool.max_lifetime) {
      return FieldError(pool, "max_lifetime_jitter", "must be less than max_lifetime");
    }
    if (Status s = CheckUserAndGroup(pool); !s.ok()) return s;
  }
  const DrainConfig& d = config->drain;
  // grace_period > safety_margin + the delay the drain always waits (the fixed delay, or auto's
  // min_delay), without computing the sum: two accepted durations can add up past the range of
  // a Duration (and wrap negative).
  const char* delay_key = d.propagation_auto ? "drain.min_delay" : "drain.propagation_delay";
  const Duration delay = d.propagation_auto ? d.min_delay : d.propagation_delay;
  if (d.safety_margin >= d.grace_period || delay >= d.grace_period - d.safety_margin) {
    return AgentFieldError(*config, {"drain.grace_period", "drain.safety_margin", delay_key},
                           "drain.grace_period (" + FormatDuration(d.grace_period) +
                               ") must be longer than drain.safety_margin (" +
                               FormatDuration(d.safety_margin) + ") plus " + delay_key + " (" +
                               FormatDuration(delay) + ")");
  }
  if (d.min_delay > d.max_delay) {
    return AgentFieldError(*config, {"drain.min_delay", "drain.max_delay"},
                           "drain.min_delay (" + FormatDuration(d.min_delay) +
                               ") must not be longer than drain.max_delay (" +
                               FormatDuration(d.max_delay) + ")");
  }
  if (config->control.api_port != 0 && config->control.token_file.empty()) {
    return AgentFieldError(*config, {"control.api_port"},
                           "needs control.token_file: the Lifecycle API is never served on TCP "
                           "without a token");
  }
  if (config->control.http_drain && config->control.http_port == 0) {
    return AgentFieldError(*config, {"control.http_drain"}, "needs control.http_port");
  }
  if (config->control.api_port != 0 && config->control.api_port == config->control.health_port) {
    return AgentFieldError(*config, {"control.api_port", "control.health_port"},
                           "control.api_port and control.health_port must differ");
  }
  if (const std::string& m = config->control.metrics_address; !m.empty()) {
    const std::string port = m.substr(m.rfind(':') + 1);
    for (int other :
         {config->control.health_port, config->control.api_port, config->control.http_port}) {
      if (other != 0 && std::to_string(other) == port) {
        return Status::Error(config->source + ": control.metrics_address port " + port +
                             " is already used by another control listener");
      }
    }
  }
  if (config->notify.directory.empty()) {
    // Next to the control socket: one writable directory (an emptyDir at /run/vigil) for both.
    const std::string& socket = config->control.socket;
    const size_t slash = socket.rfind('/');
    config->notify.directory = (slash == 0 ? "" : socket.substr(0, slash)) + "/notify";
  }
  for (const HookConfig& hook : config->hooks) {
    if (hook.command.empty() || hook.command.front().empty()) {
      return Status::Error(config->source + ": hook '" + hook.name +
                           "': command must not be empty");
    }
  }
  return Status();
}

StatusOr<Config> LoadConfig(const CliOptions& cli, const EnvLookup& env, const FileReader& read) {
  Config config;
  if (!cli.config_path.empty()) {
    auto text = read(cli.config_path);
    if (!text.ok()) return text.status();
    auto parsed = ParseConfigYaml(*text, cli.config_path);
    if (!parsed.ok()) return parsed.status();
    config = std::move(*parsed);
  } else {
    config.source = "command line";
    PoolConfig pool;
    if (Status s = FindPoolOption("name")->set(&pool, {cli.pool_name}); !s.ok()) {
      return Status::Error("--name: " + s.message());
    }
    pool.command = cli.single.command;
    config.pools.push_back(std::move(pool));
  }

  // Environment, then flags: each later source wins.
  for (const PoolOption& option : PoolOptions()) {
    if (!option.overridable) continue;
    const std::string name = PoolOptionEnv(option);
    if (const char* value = env(name.c_str())) {
      if (Status s = ApplyEverywhere(&config, option, value, name); !s.ok()) return s;
    }
  }
  for (const auto& [option, value] : cli.pool_flags) {
    if (Status s = ApplyEverywhere(&config, *option, value, PoolOptionFlag(*option)); !s.ok()) {
      return s;
    }
  }
  // -r rules from the command line come after each pool's own.
  for (int signo = 1; signo <= kMaxSignal; ++signo) {
    const int to = cli.single.rewrite.Apply(signo);
    if (to == signo) continue;
    for (PoolConfig& pool : config.pools)
      pool.forward_rewrite.Set(signo, to);
  }

  for (const AgentOption& option : AgentOptions()) {
    if (const char* value = env(option.env)) {
      if (Status s = option.set(&config, value); !s.ok()) {
        return Status::Error(std::string(option.env) + ": " + s.message());
      }
      config.origin[option.key] = option.env;
    }
  }
  for (const auto& [option, value] : cli.agent_flags) {
    if (Status s = option->set(&config, value); !s.ok()) {
      return Status::Error(std::string(option->flag) + ": " + s.message());
    }
    config.origin[option->key] = option->flag;
  }
  if (cli.log_level_set) config.log_level = cli.log_level;
  if (cli.log_format_set) config.log_format = cli.log_format;

  if (Status s = ValidateConfig(&config); !s.ok()) return s;
  return config;
}

}  // namespace vigil
