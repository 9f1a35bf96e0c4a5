// MetricsEndpoint: Prometheus GET /metrics on control.metrics_address (docs/metrics.md).
//
// Served by an HttpListener of its own (http_listener.h), so idle or slow clients are held to
// its header timeout and connection limit, and a slow scrape never holds up health (another
// listener, another thread). Collections run one at a time on the scrape thread; the scrapes
// waiting when one starts (at most kMaxQueuedScrapes, more are answered 503 at once) are all
// answered by it: the core is asked once for all of them. A collection waits for the core as
// long as its most impatient scrape allows (ScrapeCoreWait). Besides the collector's families,
// each scrape carries the exposer_* families prometheus-cpp's Exposer used to serve (bytes
// sent, scrapes, latencies in microseconds).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "agent/base/status.h"
#include "agent/control/control_counters.h"
#include "agent/control/metrics_collector.h"

namespace vigil::control {

// How long a scrape may wait for the core, from the scraper's X-Prometheus-Scrape-Timeout-Seconds
// header ("" when absent): three quarters of it (the rest is for building and sending the
// answer), within [kMinScrapeCoreWait, kMaxScrapeCoreWait]; kScrapeCoreWait when the header is
// absent or not a positive number of seconds.
std::chrono::milliseconds ScrapeCoreWait(std::string_view scraper_timeout);

class MetricsEndpoint {
 public:
  MetricsEndpoint(std::shared_ptr<const MetricsCollector> collector, ControlCounters& counters);
  ~MetricsEndpoint();
  // Listens on "HOST:PORT" (or ":PORT") and starts serving.
  Status Start(const std::string& address);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::control
