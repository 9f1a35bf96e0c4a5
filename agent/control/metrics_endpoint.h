// MetricsEndpoint: Prometheus GET /metrics on control.metrics_address (docs/metrics.md).
//
// Served by an HttpListener of its own (http_listener.h), so idle or slow clients are held to
// its header timeout and connection limit, and a slow scrape never holds up health (another
// listener, another thread). Scrapes run one at a time on the scrape thread, each waiting up to
// 2 s for the core (MetricsCollector); kMaxQueuedScrapes may wait their turn, more are answered
// 503 at once. Besides the collector's families, each scrape carries the exposer_* families
// prometheus-cpp's Exposer used to serve (bytes sent, scrapes, latencies in microseconds).
#pragma once

#include <memory>
#include <string>

#include <prometheus/collectable.h>

#include "agent/base/status.h"
#include "agent/control/control_counters.h"

namespace vigil::control {

class MetricsEndpoint {
 public:
  MetricsEndpoint(std::shared_ptr<prometheus::Collectable> collector, ControlCounters& counters);
  ~MetricsEndpoint();
  // Listens on "HOST:PORT" (or ":PORT") and starts serving.
  Status Start(const std::string& address);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::control
