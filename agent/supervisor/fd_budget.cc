#include "agent/supervisor/fd_budget.h"

namespace vigil {

int64_t DescriptorsPerWorker(const PoolConfig& pool) {
  const ReadinessMode m = pool.readiness.mode;
  const bool probes =
      m == ReadinessMode::kExec || m == ReadinessMode::kTcp || m == ReadinessMode::kHttp;
  return 2 + (pool.log_prefix ? 2 : 0) + (probes ? 1 : 0);
}

std::optional<std::string> DescriptorShortfall(const std::vector<PoolSize>& pools, uint64_t limit) {
  int64_t workers = 0;
  int64_t needed = kCoreBaseDescriptors;
  for (const PoolSize& p : pools) {
    // Replicas are bounded (100,000 by the API, the config's own check): no overflow.
    workers += p.replicas;
    needed +=
        kDescriptorsPerPool + static_cast<int64_t>(p.replicas) * DescriptorsPerWorker(*p.pool);
  }
  if (static_cast<uint64_t>(needed) <= limit) return std::nullopt;
  return "RLIMIT_NOFILE is " + std::to_string(limit) + ", but " + std::to_string(workers) +
         " workers need at least " + std::to_string(needed) +
         " file descriptors in vigil: raise it (e.g. docker run --ulimit nofile=" +
         std::to_string(needed * 2) + ") or run fewer replicas";
}

}  // namespace vigil
