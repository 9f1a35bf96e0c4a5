// CheckConfig: what every Config that LoadConfig accepts must satisfy, whichever source set
// it (the YAML file, VIGIL_* variables, flags): each value within the bound its setter
// documents (agent/config/pool_options.cc, agent_options.cc), and the cross-field rules of
// ValidateConfig, evaluated here without any arithmetic that could overflow. Shared by the
// cli and config_yaml fuzz targets.
#pragma once

#include <string>

#include "agent/base/duration.h"
#include "agent/config/config.h"
#include "tests/fuzz/fuzz_check.h"

namespace vigil::fuzz {

inline void CheckDuration(Duration d, const std::string& what, bool positive = false) {
  FUZZ_CHECK(d >= Duration::zero() && d <= kMaxDuration,
             what + " = " + std::to_string(d.count()) + "ns is out of range");
  FUZZ_CHECK(!positive || d > Duration::zero(), what + " must be more than 0");
}

inline void CheckRange(long long value, long long min, long long max, const std::string& what) {
  FUZZ_CHECK(value >= min && value <= max, what + " = " + std::to_string(value) + " is outside " +
                                               std::to_string(min) + ".." + std::to_string(max));
}

inline void CheckPool(const PoolConfig& p) {
  const std::string at = "pool '" + p.name + "': ";
  FUZZ_CHECK(!p.name.empty() && p.name.size() <= 63, at + "name length");
  for (char c : p.name) {
    FUZZ_CHECK((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_',
               at + "name character");
  }
  FUZZ_CHECK(!p.command.empty() && !p.command.front().empty(), at + "empty command");
  CheckRange(p.replicas, 0, 100000, at + "replicas");
  CheckRange(p.min_ready, 0, 100000, at + "min_ready");
  CheckRange(p.stop_signal, 1, 64, at + "stop_signal");
  CheckRange(p.fast_stop_signal, 1, 64, at + "fast_stop_signal");
  CheckDuration(p.stop_timeout, at + "stop_timeout");
  CheckDuration(p.boot_timeout, at + "boot_timeout");
  CheckDuration(p.watchdog, at + "watchdog");
  CheckDuration(p.max_lifetime, at + "max_lifetime");
  CheckDuration(p.max_lifetime_jitter, at + "max_lifetime_jitter");
  FUZZ_CHECK(p.max_lifetime_jitter == Duration::zero() || p.max_lifetime_jitter < p.max_lifetime,
             at + "max_lifetime_jitter must be less than max_lifetime");

  const ReadinessConfig& r = p.readiness;
  CheckDuration(r.period, at + "readiness.period", /*positive=*/true);
  CheckDuration(r.timeout, at + "readiness.timeout", /*positive=*/true);
  CheckRange(r.failure_threshold, 1, 1000, at + "readiness.failure_threshold");
  CheckRange(r.port, 0, 65535, at + "readiness.port");
  if (r.mode == ReadinessMode::kTcp || r.mode == ReadinessMode::kHttp) {
    FUZZ_CHECK(r.port > 0, at + "tcp/http readiness without a port");
  }
  if (r.mode == ReadinessMode::kHttp) {
    FUZZ_CHECK(!r.path.empty() && r.path.front() == '/', at + "http path");
  }
  if (r.mode == ReadinessMode::kExec) FUZZ_CHECK(!r.command.empty(), at + "exec without command");

  const BackoffConfig& b = p.backoff;
  CheckDuration(b.initial, at + "backoff.initial");
  CheckDuration(b.max, at + "backoff.max");
  CheckDuration(b.reset_after, at + "backoff.reset_after");
  FUZZ_CHECK(b.max >= b.initial, at + "backoff.max < backoff.initial");
  FUZZ_CHECK(b.multiplier >= 1.0 && b.multiplier <= 100.0,
             at + "backoff.multiplier " + std::to_string(b.multiplier));
  FUZZ_CHECK(b.jitter >= 0.0 && b.jitter <= 1.0, at + "backoff.jitter " + std::to_string(b.jitter));
  CheckRange(p.crash_loop.max_restarts, 0, 1000000, at + "crash_loop.max_restarts");
  CheckDuration(p.crash_loop.period, at + "crash_loop.period", /*positive=*/true);

  for (int signo = 1; signo <= 64; ++signo) {
    CheckRange(p.forward_rewrite.Apply(signo), 0, 64, at + "rewrite of " + std::to_string(signo));
  }
  for (const auto& [name, value] : p.env) {
    FUZZ_CHECK(!name.empty() && name.find('=') == std::string::npos, at + "env name " + name);
  }
}

inline void CheckConfig(const Config& c) {
  FUZZ_CHECK(!c.pools.empty(), "a config without pools");
  for (const PoolConfig& p : c.pools)
    CheckPool(p);
  const DrainConfig& d = c.drain;
  CheckDuration(d.grace_period, "drain.grace_period");
  CheckDuration(d.safety_margin, "drain.safety_margin");
  CheckDuration(d.propagation_delay, "drain.propagation_delay");
  // grace_period > safety_margin + propagation_delay, in 128 bits: the sum of two accepted
  // durations does not fit in a Duration.
  FUZZ_CHECK(static_cast<__int128>(d.grace_period.count()) >
                 static_cast<__int128>(d.safety_margin.count()) + d.propagation_delay.count(),
             "drain.grace_period (" + FormatDuration(d.grace_period) +
                 ") is not longer than drain.safety_margin (" + FormatDuration(d.safety_margin) +
                 ") plus drain.propagation_delay (" + FormatDuration(d.propagation_delay) + ")");
  const ControlConfig& k = c.control;
  CheckRange(k.health_port, 0, 65535, "control.health_port");
  CheckRange(k.api_port, 0, 65535, "control.api_port");
  CheckRange(k.http_port, 0, 65535, "control.http_port");
  CheckRange(k.socket_mode, 0, 0777, "control.socket_mode");
  FUZZ_CHECK(!k.socket.empty() && k.socket.front() == '/', "control.socket is not absolute");
  FUZZ_CHECK(k.api_port == 0 || !k.token_file.empty(), "control.api_port without a token");
  FUZZ_CHECK(!k.http_drain || k.http_port != 0, "control.http_drain without http_port");
  FUZZ_CHECK(k.api_port == 0 || k.api_port != k.health_port, "api_port == health_port");
  for (const HookConfig& h : c.hooks) {
    FUZZ_CHECK(!h.command.empty() && !h.command.front().empty(), "hook without a command");
    CheckDuration(h.timeout, "hook " + h.name + " timeout");
  }
}

}  // namespace vigil::fuzz
