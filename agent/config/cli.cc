#include "agent/config/cli.h"

#include <optional>

#include "agent/base/duration.h"
#include "agent/base/quote.h"
#include "agent/config/values.h"

namespace vigil {
namespace {

Status Prefixed(const std::string& name, const Status& s) {
  return Status::Error(name + ": " + s.message());
}

StatusOr<int> ParseExitCode(const std::string& name, std::string_view value) {
  StatusOr<int> code = ParseIntValue(value, 0, 255);
  if (!code.ok()) {
    return Status::Error(name + ": invalid exit code " + Quoted(value) + " (expected 0..255)");
  }
  return code;
}

// Applies the environment, before flags so that flags win.
Status ApplyEnvironment(const EnvLookup& env, CliOptions* out) {
  if (const char* v = env("VIGIL_PGROUP")) {
    auto b = ParseBoolValue(v);
    if (!b.ok()) return Prefixed("VIGIL_PGROUP", b.status());
    out->single.signal_process_group = *b;
  }
  if (const char* v = env("VIGIL_KILL_GRACE")) {
    auto d = ParseDuration(v);
    if (!d.ok()) return Prefixed("VIGIL_KILL_GRACE", d.status());
    out->single.kill_grace = *d;
  }
  if (const char* v = env("VIGIL_LOG_LEVEL")) {
    auto l = log::ParseLevel(v);
    if (!l.ok()) return Prefixed("VIGIL_LOG_LEVEL", l.status());
    out->log_level = *l;
    out->log_level_set = true;
  }
  if (const char* v = env("VIGIL_LOG_FORMAT")) {
    auto f = log::ParseFormat(v);
    if (!f.ok()) return Prefixed("VIGIL_LOG_FORMAT", f.status());
    out->log_format = *f;
    out->log_format_set = true;
  }
  if (const char* v = env("VIGIL_CONFIG")) out->config_path = v;
  return Status();
}

}  // namespace

std::string UsageHead();

StatusOr<CliOptions> ParseCommandLine(const std::vector<std::string>& args, const EnvLookup& env) {
  CliOptions out;
  // A bad variable is reported only when Vigil is to run: --help and --version still work.
  const Status env_status = ApplyEnvironment(env, &out);

  int verbosity = 0;
  size_t i = 1;  // args[0] is the program name.
  while (i < args.size()) {
    const std::string& arg = args[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.empty() || arg[0] != '-' || arg == "-") break;  // The command starts here.

    // "--name=value" or "--name value" / "-x value".
    std::string name = arg;
    std::optional<std::string> inline_value;
    if (arg.rfind("--", 0) == 0) {
      if (size_t eq = arg.find('='); eq != std::string::npos) {
        name = arg.substr(0, eq);
        inline_value = arg.substr(eq + 1);
      }
    }
    auto value = [&]() -> StatusOr<std::string> {
      if (inline_value) return *inline_value;
      if (i + 1 >= args.size()) return Status::Error(name + " needs a value");
      return args[++i];
    };
    auto no_value = [&]() -> Status {
      if (inline_value) return Status::Error(name + " takes no value");
      return Status();
    };

    if (name == "-h" || name == "--help") {
      if (Status s = no_value(); !s.ok()) return s;
      out.action = CliOptions::Action::kHelp;
      return out;
    } else if (name == "--version" || name == "-V") {
      if (Status s = no_value(); !s.ok()) return s;
      out.action = CliOptions::Action::kVersion;
      return out;
    } else if (name == "-g" || name == "--pgroup") {
      if (Status s = no_value(); !s.ok()) return s;
      out.single.signal_process_group = true;
      if (out.single_only_flag.empty()) out.single_only_flag = name;
    } else if (name == "-s" || name == "--subreaper") {
      // tini compatibility: Vigil always registers as a subreaper when it is not PID 1.
      if (Status s = no_value(); !s.ok()) return s;
    } else if (name == "-v" || name == "-vv" || name == "-vvv") {
      verbosity += static_cast<int>(name.size()) - 1;  // tini compatibility: more output.
    } else if (name == "-r" || name == "--rewrite") {
      auto v = value();
      if (!v.ok()) return v.status();
      // One rule, or several separated by commas (as VIGIL_REWRITE and the file's list).
      for (size_t start = 0; start <= v->size();) {
        size_t comma = v->find(',', start);
        if (comma == std::string::npos) comma = v->size();
        const std::string rule = v->substr(start, comma - start);
        if (Status s = out.single.rewrite.AddRule(rule); !s.ok()) return Prefixed(name, s);
        start = comma + 1;
      }
    } else if (name == "-e" || name == "--success-exit" || name == "--remap-exit") {
      auto v = value();
      if (!v.ok()) return v.status();
      auto code = ParseExitCode(name, *v);
      if (!code.ok()) return code.status();
      out.single.success_codes.set(static_cast<size_t>(*code));
      if (out.single_only_flag.empty()) out.single_only_flag = name;
    } else if (name == "--kill-grace") {
      auto v = value();
      if (!v.ok()) return v.status();
      auto d = ParseDuration(*v);
      if (!d.ok()) return Prefixed(name, d.status());
      out.single.kill_grace = *d;
      if (out.single_only_flag.empty()) out.single_only_flag = name;
    } else if (name == "--log-level") {
      auto v = value();
      if (!v.ok()) return v.status();
      auto l = log::ParseLevel(*v);
      if (!l.ok()) return Prefixed(name, l.status());
      out.log_level = *l;
      out.log_level_set = true;
    } else if (name == "--log-format") {
      auto v = value();
      if (!v.ok()) return v.status();
      auto f = log::ParseFormat(*v);
      if (!f.ok()) return Prefixed(name, f.status());
      out.log_format = *f;
      out.log_format_set = true;
    } else if (name == "--check") {
      if (Status s = no_value(); !s.ok()) return s;
      out.action = CliOptions::Action::kCheck;
    } else if (name == "-c" || name == "--config") {
      auto v = value();
      if (!v.ok()) return v.status();
      out.config_path = *v;
    } else if (name == "--name") {
      auto v = value();
      if (!v.ok()) return v.status();
      out.pool_name = *v;
    } else if (const AgentOption* agent_option = FindAgentOptionByFlag(name)) {
      if (agent_option->is_bool && !inline_value) {
        out.agent_flags.emplace_back(agent_option, "true");
      } else {
        auto v = value();
        if (!v.ok()) return v.status();
        out.agent_flags.emplace_back(agent_option, *v);
      }
    } else if (const PoolOption* option =
                   name.rfind("--", 0) == 0 ? FindPoolOptionByFlag(std::string_view(name).substr(2))
                                            : nullptr;
               option != nullptr && option->overridable) {
      if (option->kind == PoolOption::Kind::kBool && !inline_value) {
        out.pool_flags.emplace_back(option, "true");  // A lone boolean flag turns it on.
      } else {
        auto v = value();
        if (!v.ok()) return v.status();
        out.pool_flags.emplace_back(option, *v);
      }
    } else if (name == "--compat") {
      return Status::Error("--compat must be the first argument (vigil --compat tini ARGS)");
    } else {
      return Status::Error("unknown option " + Quoted(arg) + " (see vigil --help)");
    }
    ++i;
  }

  if (!env_status.ok()) return env_status;
  if (verbosity > 0) {
    const log::Level by_verbosity = verbosity == 1   ? log::Level::kInfo
                                    : verbosity == 2 ? log::Level::kDebug
                                                     : log::Level::kTrace;
    if (by_verbosity < out.log_level) out.log_level = by_verbosity;
    out.log_level_set = true;
  }
  out.single.command.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());

  bool replicas_given = env("VIGIL_REPLICAS") != nullptr;
  for (const auto& [option, value] : out.pool_flags) {
    if (std::string_view(option->key) == "replicas") replicas_given = true;
  }
  if (!out.config_path.empty() || replicas_given) {
    out.mode = CliOptions::Mode::kPools;
    if (!out.config_path.empty() && !out.single.command.empty()) {
      return Status::Error(
          "a command after the options is not allowed with --config: the file "
          "describes the pools' commands");
    }
    if (out.config_path.empty() && out.single.command.empty()) {
      return Status::Error(
          "no command given (usage: vigil --replicas N [OPTIONS] -- CMD [ARGS...])");
    }
    if (!out.single_only_flag.empty()) {
      return Status::Error(out.single_only_flag +
                           " applies to single-command mode only, not to pools");
    }
    return out;
  }
  if (!out.agent_flags.empty()) {
    return Status::Error(std::string(out.agent_flags.front().first->flag) +
                         " is a pool-mode option: give --replicas N or --config FILE to run pools");
  }
  if (!out.pool_flags.empty()) {
    return Status::Error(PoolOptionFlag(*out.pool_flags.front().first) +
                         " is a pool option: give --replicas N or --config FILE to run pools");
  }
  if (out.single.command.empty()) {
    return Status::Error("no command given (usage: vigil [OPTIONS] -- CMD [ARGS...])");
  }
  return out;
}

std::string UsageText() {
  std::string pool_flags;
  for (const PoolOption& option : PoolOptions()) {
    // `rewrite` is -r/--rewrite above, which applies to pools too.
    if (!option.overridable || std::string_view(option.key) == "rewrite") continue;
    std::string line = "  " + PoolOptionFlag(option);
    line.resize(std::max<size_t>(line.size() + 1, 34), ' ');
    pool_flags += line + PoolOptionEnv(option) + "\n";
  }
  return UsageHead() + pool_flags;
}

std::string UsageHead() {
  return R"(Usage: vigil [OPTIONS] [--] CMD [ARGS...]
       vigil --config FILE [OPTIONS]
       vigil --replicas N [POOL OPTIONS] -- CMD [ARGS...]

Vigil runs CMD as the container's init (PID 1): it forwards signals to CMD, reaps every
zombie, and exits with CMD's status (128+N when CMD was killed by signal N, 127 when CMD is
not found, 126 when it cannot be executed, 2 on a usage error).
Run as `tini` or `dumb-init` (a symlink), or as `vigil --compat tini|dumb-init ARGS`, Vigil
takes that tool's command line instead (docs/compat.md).

Options:
  -g, --pgroup            Forward signals to CMD's process group instead of CMD alone
                          (env VIGIL_PGROUP=1).
  -r, --rewrite FROM:TO   Rewrite signal FROM to TO before forwarding; TO=0 drops it.
                          Names or numbers: TERM:QUIT, 15:3, RTMIN+1:USR1. Repeatable.
  -e, --success-exit CODE Report CMD's exit status CODE as 0 (like tini -e). Repeatable.
      --kill-grace DUR    When CMD exits, how long the processes it left behind get after
                          SIGTERM before SIGKILL (default 5s; env VIGIL_KILL_GRACE).
      --log-level LEVEL   trace, debug, info, warn (default), error, off (env VIGIL_LOG_LEVEL).
      --log-format FMT    text (default) or json (env VIGIL_LOG_FORMAT).
  -v                      More output (repeat for more); same as --log-level info/debug/trace.
  -s, --subreaper         Accepted for tini compatibility: Vigil is always a subreaper when it
                          is not PID 1.
  -h, --help              Show this help.
  -V, --version           Show the version.

Pool mode (docs/pools.md), selected by a config file or --replicas:
  -c, --config FILE       YAML file of pools (env VIGIL_CONFIG).
      --check             Validate the configuration, print a summary, and exit (0 or 2).
      --name NAME         The one pool's name with --replicas (default main).
      --on-pool-failure exit|keep
                          A crash-loop verdict stops everything and exits 3 (exit, default),
                          or leaves the other pools running (keep).
      --grace-period DUR  The pod's termination grace period (default 30s).
      --drain-safety-margin DUR
      --drain-propagation-delay auto|DUR
                          Readiness off -> first stop signal: auto (default) waits until
                          no new connection reaches the workers' ports for
                          --drain-quiet-period (1s), within --drain-min-delay (0s) and
                          --drain-max-delay (10s); --drain-hold-connections also waits for
                          open connections to close (docs/drain.md).
      --control, --control-binary PATH, --socket PATH, --socket-mode MODE,
      --health-port PORT, --api-port PORT, --api-address ADDR, --token-file PATH,
      --control-backoff-reset-after DUR
                          The control plane (docs/control.md); each also VIGIL_<NAME>.
      --notify-dir DIR    Where the workers' notify sockets live (default: notify next to
                          the control socket, /run/vigil/notify; env VIGIL_NOTIFY_DIR).
      --notify-credentials auto|pidfd|ucred
                          How senders of sd_notify datagrams are checked (default auto:
                          SCM_PIDFD where the kernel has it; docs/pools.md).
      --metrics-address HOST:PORT|off
                          Prometheus /metrics, served by vigil-control (default
                          0.0.0.0:9180; env VIGIL_METRICS_ADDRESS; docs/metrics.md).
Pool options apply to every pool (flag > env > file > default):
)";
}

}  // namespace vigil
