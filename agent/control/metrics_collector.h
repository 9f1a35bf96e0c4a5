// MetricsCollector: what vigil-control serves on /metrics (MetricsEndpoint's scrape thread calls
// Collect() once per collection).
//
// Every count is the core's: Collect() asks the core for its metric families over the control
// socketpair and waits for them (at most `wait`, which the scrapes bring: ScrapeCoreWait), so
// the counts are the core's own and survive restarts of vigil-control. It adds what
// vigil-control sees itself: build info, whether the core answered (vigil_core_metrics_up), and
// process metrics of both Vigil processes (the core is vigil-control's parent) read from /proc.
// A core that does not answer in time costs that scrape its core families, never a hang.
// Thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include <prometheus/metric_family.h>

#include "agent/control/control_counters.h"
#include "agent/control/core_connection.h"

namespace vigil::control {

// The core's families in prometheus-cpp's terms.
std::vector<prometheus::MetricFamily> ToPrometheus(
    const google::protobuf::RepeatedPtrField<internal::v1::MetricFamily>& families);

class MetricsCollector {
 public:
  // `counters` (may be null): vigil-control's own counts of its clients, added to each scrape.
  MetricsCollector(CoreConnection& core, pid_t core_pid, std::string version,
                   const ControlCounters* counters = nullptr)
      : core_(core), core_pid_(core_pid), version_(std::move(version)), counters_(counters) {}

  std::vector<prometheus::MetricFamily> Collect(std::chrono::milliseconds wait) const;

 private:
  CoreConnection& core_;
  const pid_t core_pid_;
  const std::string version_;
  const ControlCounters* const counters_;
};

}  // namespace vigil::control
