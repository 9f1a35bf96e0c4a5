// ChildEnvironment: the environment of every process Vigil starts for a pool or a drain:
// workers, exec readiness probes and stop hooks. One builder, so that the three cannot drift.
//
// A child gets Vigil's own environment (as it was at start-up) without the variables that
// describe Vigil's own supervisor (NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID, LISTEN_PID,
// LISTEN_FDS, LISTEN_FDNAMES: a child that answered them would speak for Vigil), then the pool's
// `env:` (a probe's and a worker's), then Vigil's own variables for that child (VIGIL_POOL,
// NOTIFY_SOCKET, VIGIL_HOOK, ...). Each later layer replaces an earlier entry of the same name,
// so every name appears once and means what the last layer says (a nested Vigil's VIGIL_POOL is
// its own, not its parent's). Entries without '=' are passed on as they are.
//
// Built once in main (FromProcess) and handed to pools and the supervisor through PoolServices;
// tests build one from a list. Immutable after construction: safe to share, no thread affinity.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vigil {

// One "NAME=value" a child is given on top of the inherited environment.
using EnvVar = std::pair<std::string, std::string>;

class ChildEnvironment {
 public:
  ChildEnvironment() = default;
  // `inherited`: "NAME=value" entries, as in environ.
  explicit ChildEnvironment(std::vector<std::string> inherited);
  // Vigil's environment now (environ). Read once, in main.
  static ChildEnvironment FromProcess();

  // Whether `entry` ("NAME=value") describes Vigil's own supervisor, and so is not inherited.
  static bool IsSupervisorVariable(std::string_view entry);

  // The environment for one child: the inherited entries less the supervisor's, then
  // `pool_env`, then `own`, each layer replacing names set before it.
  std::vector<std::string> Build(const std::map<std::string, std::string>& pool_env,
                                 const std::vector<EnvVar>& own) const;

  const std::vector<std::string>& inherited() const { return inherited_; }

 private:
  std::vector<std::string> inherited_;  // supervisor variables already left out
};

}  // namespace vigil
