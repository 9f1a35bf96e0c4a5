// Config: the validated, immutable description of what the agent runs in pool mode.
//
// Built once at start-up by LoadConfig() (config_loader.h) from the YAML file, the VIGIL_*
// environment and the flags (precedence: flag > env > file > default), and never changed after:
// runtime changes (scale) live in the supervisor's state, not here. Plain data.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "agent/base/clock.h"
#include "agent/log/log.h"
#include "agent/signal/exit_status.h"
#include "agent/signal/rewrite.h"

namespace vigil {

using namespace std::chrono_literals;

enum class RestartPolicy { kAlways, kOnFailure, kNever };
enum class ReadinessMode { kStarted, kNotify, kExec, kTcp, kHttp };
enum class PoolFailureAction { kExit, kKeepOthers };

const char* RestartPolicyName(RestartPolicy policy);
const char* ReadinessModeName(ReadinessMode mode);

struct ReadinessConfig {
  ReadinessMode mode = ReadinessMode::kStarted;
  std::vector<std::string> command;  // exec
  std::string host = "127.0.0.1";    // tcp, http
  int port = 0;                      // tcp, http
  std::string path = "/";            // http
  Duration period = 1s;              // probes: time between probes
  Duration timeout = 1s;             // probes: time one probe may take
  int failure_threshold = 3;  // probes: consecutive failures that make a ready worker unready
};

struct BackoffConfig {
  Duration initial = 1s;  // 0: restart at once
  Duration max = 30s;
  double multiplier = 2.0;
  double jitter = 0.2;         // +-20% of each delay, so replicas do not restart in lockstep
  Duration reset_after = 60s;  // ready this long: the next failure starts from `initial` again
};

// The crash-loop verdict (agent/supervisor/crash_loop.h): more than `max_restarts` unstable runs
// in a row, or failure restarts within `period`, and the pool has failed.
struct CrashLoopConfig {
  int max_restarts = 5;
  Duration period = 60s;
  // A run that ends before the worker has been ready (or running, in readiness mode started)
  // this long is unstable. Longer than the loops seen in practice (init hooks that fail within
  // seconds, a slow boot then a crash), short enough that a run under it is no service.
  Duration stability_period = 10s;
};

// The most workers a pool may have (`replicas`, and what Scale accepts): every bound that
// depends on a pool's size is sized from this one (vigil-control's checks and read model too).
inline constexpr int kMaxReplicas = 100000;

struct PoolConfig {
  std::string name;
  std::vector<std::string> command;
  std::map<std::string, std::string> env;  // added to (or replacing) Vigil's environment
  std::string working_dir;
  std::string user;   // name or uid; privileges are dropped only when Vigil runs as root
  std::string group;  // name or gid; default: the user's primary group
  int replicas = 1;
  RestartPolicy restart = RestartPolicy::kAlways;
  ExitCodeSet success_exit_codes = ExitCodeSet().set(0);
  ExitCodeSet no_restart_exit_codes;
  int stop_signal = 15;      // SIGTERM: graceful
  int fast_stop_signal = 2;  // SIGINT: fast
  Duration stop_timeout = 10s;
  ReadinessConfig readiness;
  Duration boot_timeout = 60s;  // starting longer than this: stopped, reason boot_timeout
  Duration watchdog = 0s;       // 0: off; else WATCHDOG=1 is expected at least this often
  BackoffConfig backoff;
  CrashLoopConfig crash_loop;
  Duration max_lifetime = 0s;  // 0: never recycled
  Duration max_lifetime_jitter = 0s;
  int min_ready = 1;  // ready workers for the pool to be ready (at most replicas)
  bool log_prefix = false;
  SignalRewrite forward_rewrite;  // applied to signals forwarded to the pool's workers
  // The TCP ports the drain watches for traffic (propagation_delay: auto); empty: the ports
  // the pool's processes listen on when the drain starts.
  std::vector<int> ports;

  // Where the pool and each of its set options came from ("vigil.yaml:12", "--user",
  // "VIGIL_STOP_TIMEOUT"), so that checks made after parsing still name the source.
  std::string location = "command line";
  std::string label;  // "pools[0] (web)" for a pool from the file
  std::map<std::string, std::string> origin;
};

// A command run by the agent at the end of a drain (stop hooks run in reverse order of their
// registration), bounded by its timeout; it runs even when workers had to be SIGKILLed.
struct HookConfig {
  std::string name;
  std::vector<std::string> command;
  Duration timeout = 10s;
};

struct DrainConfig {
  // The pod's terminationGracePeriodSeconds: told, never guessed (the Helm chart passes it).
  Duration grace_period = 30s;
  // Kept free at the end of the grace period for SIGKILLing stragglers, stop hooks and the
  // termination message, before the kubelet's own SIGKILL.
  Duration safety_margin = 3s;
  // After readiness turns NOT_SERVING, how long to wait before stopping workers, so that load
  // balancers stop sending traffic first: `auto` (the default) waits until the TCP connections
  // to the workers' ports have gone quiet (lifecycle/traffic_watch.h); otherwise the fixed
  // `propagation_delay`.
  bool propagation_auto = true;
  Duration propagation_delay = 0s;  // the fixed delay, when !propagation_auto
  // auto: no new connection for this long ends the delay...
  Duration quiet_period = 1s;
  Duration min_delay = 0s;        // ...but never sooner (and this long when no port has a listener)
  Duration max_delay = 10s;       // ...nor later (never more than half the time to the deadline)
  bool hold_connections = false;  // ...and only once no connection to them is still open
};

struct ControlConfig {
  bool enabled = true;  // spawn vigil-control
  std::string binary;   // default: vigil-control next to vigil
  std::string socket = "/run/vigil/control.sock";
  int socket_mode = 0600;
  int health_port = 0;     // TCP port serving grpc.health.v1 only (the kubelet's probe); 0: off
  int api_port = 0;        // TCP port serving the Lifecycle API too; 0: off
  std::string token_file;  // bearer token required on the TCP API port
  std::string api_address = "0.0.0.0";
  int http_port = 0;        // plain HTTP: /healthz/ready, /healthz/live, /drain; 0: off
  bool http_drain = false;  // serve the /drain preStop endpoint on http_port
  // Prometheus /metrics (served by vigil-control): "HOST:PORT", or empty for off.
  std::string metrics_address = "0.0.0.0:9180";
  // A vigil-control that has run this long is healthy: its restart backoff starts over and the
  // next restart is immediate (agent/ipc/control_backoff.h).
  Duration backoff_reset_after = 60s;
  // vigil-control runs gRPC only while clients need it: it goes down once no call has been in
  // flight this long (agent/control/grpc_runtime.h).
  Duration grpc_idle_linger = 30s;
};

// How the senders of sd_notify datagrams are read (docs/pools.md): SCM_PIDFD where the kernel
// has it (auto), always (pidfd: start-up fails without it), or SCM_CREDENTIALS (ucred).
enum class NotifyCredentials { kAuto, kPidfd, kUcred };

struct NotifyConfig {
  // The directory of the workers' notify sockets; empty until loaded: then `notify` next to the
  // control socket (/run/vigil/notify by default).
  std::string directory;
  NotifyCredentials credentials = NotifyCredentials::kAuto;
};

struct Config {
  std::string source;  // the config file, or "command line"
  std::vector<PoolConfig> pools;
  PoolFailureAction on_pool_failure = PoolFailureAction::kExit;
  log::Level log_level = log::Level::kWarn;
  log::Format log_format = log::Format::kText;
  DrainConfig drain;
  ControlConfig control;
  NotifyConfig notify;
  // Where the summary of how Vigil ended goes (Kubernetes' terminationMessagePath); written
  // only if the file exists. Empty: nowhere.
  std::string termination_message_path = "/dev/termination-log";
  std::vector<HookConfig> hooks;
  // Where each agent-wide option set was last set ("vigil.yaml:3", "VIGIL_GRACE_PERIOD",
  // "--grace-period"), by its key ("drain.grace_period"), so that checks across options name it.
  std::map<std::string, std::string> origin;
};

}  // namespace vigil
