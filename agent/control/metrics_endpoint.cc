#include "agent/control/metrics_endpoint.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <prometheus/summary.h>
#include <prometheus/text_serializer.h>

#include "agent/control/http_listener.h"
#include "agent/control/limits.h"
#include "agent/log/log.h"

namespace vigil::control {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds ScrapeCoreWait(std::string_view scraper_timeout) {
  double seconds = 0;
  const char* end = scraper_timeout.data() + scraper_timeout.size();
  auto [ptr, ec] = std::from_chars(scraper_timeout.data(), end, seconds);
  // from_chars takes no sign, spaces or hex prefix: "nan" and "inf" are all it could let by.
  if (ec != std::errc() || ptr != end || !std::isfinite(seconds) || seconds <= 0) {
    return limits::kScrapeCoreWait;
  }
  // Compared as doubles first: a huge value must not overflow the cast.
  const double ms = std::min(seconds * 750.0, double(limits::kMaxScrapeCoreWait.count()));
  return std::max(std::chrono::milliseconds(static_cast<int64_t>(ms)), limits::kMinScrapeCoreWait);
}

class MetricsEndpoint::Impl {
 public:
  Impl(std::shared_ptr<const MetricsCollector> collector, ControlCounters& counters)
      : collector_(std::move(collector)),
        registry_(std::make_shared<prometheus::Registry>()),
        bytes_(prometheus::BuildCounter()
                   .Name("exposer_transferred_bytes_total")
                   .Help("Transferred bytes to metrics services")
                   .Register(*registry_)
                   .Add({})),
        scrapes_(prometheus::BuildCounter()
                     .Name("exposer_scrapes_total")
                     .Help("Number of times metrics were scraped")
                     .Register(*registry_)
                     .Add({})),
        latencies_(
            prometheus::BuildSummary()
                .Name("exposer_request_latencies")
                .Help("Latencies of serving scrape requests, in microseconds")
                .Register(*registry_)
                .Add({}, prometheus::Summary::Quantiles{{0.5, 0.05}, {0.9, 0.01}, {0.99, 0.001}})),
        listener_(Listener::kMetrics, counters) {}

  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  Status Start(const std::string& address) {
    std::string host;
    int port = 0;
    if (!SplitHostPort(address, &host, &port)) {
      return Status::Error("cannot serve metrics on '" + address + "': not HOST:PORT");
    }
    listener_.Route("/metrics",
                    [this](const HttpRequest& request, std::shared_ptr<HttpReply> reply) {
                      Enqueue(request, std::move(reply));
                    });
    thread_ = std::thread([this] { Run(); });
    return listener_.Start(host, port);
  }

 private:
  struct Scrape {
    std::shared_ptr<HttpReply> reply;
    Clock::time_point arrived;
    Clock::time_point core_deadline;  // the most it may wait for the core
  };

  // On the listener's loop: queue the scrape, or refuse it when too many wait.
  void Enqueue(const HttpRequest& request, std::shared_ptr<HttpReply> reply) {
    const Clock::time_point now = Clock::now();
    const auto wait = ScrapeCoreWait(request.Header("X-Prometheus-Scrape-Timeout-Seconds"));
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (queue_.size() < limits::kMaxQueuedScrapes) {
        reply->SetTimeout(limits::kScrapeReplyTimeout, {503, "the scrape timed out\n"});
        queue_.push_back({std::move(reply), now, now + wait});
        cv_.notify_one();
        return;
      }
    }
    reply->Send({503, "too many scrapes in progress (limit " +
                          std::to_string(limits::kMaxQueuedScrapes) + "); retry later\n"});
  }

  void Run() {
    for (;;) {
      std::deque<Scrape> batch;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        if (stop_) return;
        batch.swap(queue_);
      }
      // One collection for every scrape that waited: the core is asked once, and waited for
      // as long as the most impatient of them allows (at least kMinScrapeCoreWait: one that
      // waited out its own budget in the queue still gets a chance at the core's answer).
      Clock::time_point deadline = batch.front().core_deadline;
      for (const Scrape& s : batch)
        deadline = std::min(deadline, s.core_deadline);
      const auto wait =
          std::max(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()),
                   limits::kMinScrapeCoreWait);
      HttpResponse response;
      response.content_type = "text/plain; version=0.0.4; charset=utf-8";
      try {
        auto families = collector_->Collect(wait);
        for (auto& f : registry_->Collect())
          families.push_back(std::move(f));
        response.body = prometheus::TextSerializer().Serialize(families);
      } catch (const std::exception& e) {
        log::Error("metrics scrape failed: {}", e.what());
        response = {500, "the scrape failed\n"};
      }
      const size_t size = response.body.size();
      for (Scrape& s : batch) {
        s.reply->Send(response);
        // Counted after the answer, as prometheus-cpp's Exposer did; latency from arrival.
        bytes_.Increment(static_cast<double>(size));
        scrapes_.Increment();
        latencies_.Observe(static_cast<double>(
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - s.arrived)
                .count()));
      }
    }
  }

  std::shared_ptr<const MetricsCollector> collector_;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Counter& bytes_;
  prometheus::Counter& scrapes_;
  prometheus::Summary& latencies_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Scrape> queue_;
  bool stop_ = false;
  std::thread thread_;
  HttpListener listener_;  // Last: destroyed (its loop stopped) first.
};

MetricsEndpoint::MetricsEndpoint(std::shared_ptr<const MetricsCollector> collector,
                                 ControlCounters& counters)
    : impl_(std::make_unique<Impl>(std::move(collector), counters)) {}
MetricsEndpoint::~MetricsEndpoint() = default;
Status MetricsEndpoint::Start(const std::string& address) {
  return impl_->Start(address);
}

}  // namespace vigil::control
