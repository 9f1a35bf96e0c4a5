// Descriptor budget: how many file descriptors the core holds for pools of a given size, so
// that a configuration (at start) or a Scale (at run time) that cannot fit under RLIMIT_NOFILE
// is refused up front, naming the limit, instead of failing spawn after spawn.
//
// Per worker run the core holds its notify socket and pidfd, the read ends of its two relay
// pipes with log_prefix, and a probe's socket while it probes (counted for every probe mode).
// The base covers stdio, epoll, timerfd, signalfd, the control plane's socketpair, the spawn
// slots (4, agent/sys/spawn_slots.h), and what one spawn or /proc read holds for a moment (relay
// write ends, a probe's /dev/null). Measured: 13 + 4 per worker with log_prefix, idle
// (docs/reliability.md). Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/config/config.h"

namespace vigil {

inline constexpr int64_t kCoreBaseDescriptors = 20;
// Per pool: the notify socket opened ahead for its next restart (pool.h, spare_).
inline constexpr int64_t kDescriptorsPerPool = 1;

int64_t DescriptorsPerWorker(const PoolConfig& pool);

// One pool at a given number of replicas.
struct PoolSize {
  const PoolConfig* pool;
  int replicas;
};

// Nothing when `pools` fit under `limit` (the soft RLIMIT_NOFILE); otherwise what to tell the
// operator: the limit, the workers, what they need, and how to fix it.
std::optional<std::string> DescriptorShortfall(const std::vector<PoolSize>& pools, uint64_t limit);

}  // namespace vigil
