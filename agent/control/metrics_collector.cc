#include "agent/control/metrics_collector.h"

#include <unistd.h>

#include <condition_variable>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>

#include <grpcpp/support/status.h>

#include "agent/control/metric_family.h"
#include "agent/control/process_stats.h"
#include "agent/control/utf8.h"

namespace vigil::control {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// One scrape's wait for the core's answer; shared with the callback, which may run after the
// scrape gave up waiting.
struct Waiter {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<internal::v1::Result> result;
};

void AddProcessFamilies(pid_t core_pid, std::vector<MetricFamily>* out) {
  MetricFamily rss = Family("vigil_process_resident_memory_bytes", MetricType::Gauge,
                            "Resident memory of each Vigil process (core, control)");
  MetricFamily cpu = Family("vigil_process_cpu_seconds_total", MetricType::Counter,
                            "User and system CPU time of each Vigil process");
  MetricFamily fds = Family("vigil_process_open_fds", MetricType::Gauge,
                            "Open file descriptors of each Vigil process");
  MetricFamily start = Family("vigil_process_start_time_seconds", MetricType::Gauge,
                              "Start time of each Vigil process, in seconds since the epoch");
  const std::pair<const char*, pid_t> processes[] = {{"core", core_pid}, {"control", ::getpid()}};
  for (const auto& [name, pid] : processes) {
    const std::optional<ProcessStats> s = ReadProcessStats(pid);
    if (!s) continue;
    const std::vector<ClientMetric::Label> labels = {{"process", name}};
    AddSample(&rss, labels, static_cast<double>(s->resident_bytes));
    AddSample(&cpu, labels, s->cpu_seconds);
    if (s->open_fds >= 0) AddSample(&fds, labels, static_cast<double>(s->open_fds));
    AddSample(&start, labels, s->start_time_seconds);
  }
  for (MetricFamily* f : {&rss, &cpu, &fds, &start})
    out->push_back(std::move(*f));
}

}  // namespace

std::vector<MetricFamily> ToPrometheus(
    const google::protobuf::RepeatedPtrField<internal::v1::MetricFamily>& families) {
  std::vector<MetricFamily> out;
  out.reserve(static_cast<size_t>(families.size()));
  for (const auto& in : families) {
    MetricFamily f;
    f.name = PublicText(in.name());
    f.help = PublicText(in.help());
    switch (in.type()) {
      case internal::v1::METRIC_TYPE_COUNTER:
        f.type = MetricType::Counter;
        break;
      case internal::v1::METRIC_TYPE_HISTOGRAM:
        f.type = MetricType::Histogram;
        break;
      default:  // A gauge, or a type this build does not know: its values as they are.
        f.type = MetricType::Gauge;
    }
    for (const auto& m : in.metrics()) {
      ClientMetric c;
      for (const auto& l : m.labels())
        c.label.push_back({PublicText(l.name()), PublicText(l.value())});
      if (f.type == MetricType::Counter) {
        c.counter.value = m.value();
      } else if (f.type == MetricType::Gauge) {
        c.gauge.value = m.value();
      } else {
        const int n = std::min(m.bucket_bounds_size(), m.bucket_counts_size());
        for (int i = 0; i < n; ++i)
          c.histogram.bucket.push_back({m.bucket_counts(i), m.bucket_bounds(i)});
        c.histogram.bucket.push_back({m.count(), std::numeric_limits<double>::infinity()});
        c.histogram.sample_count = m.count();
        c.histogram.sample_sum = m.sum();
      }
      f.metric.push_back(std::move(c));
    }
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<MetricFamily> MetricsCollector::Collect(std::chrono::milliseconds wait) const {
  auto waiter = std::make_shared<Waiter>();
  internal::v1::Command command;
  command.mutable_metrics();
  core_.Send(std::move(command), [waiter](const internal::v1::Result& r) {
    std::lock_guard<std::mutex> lock(waiter->mu);
    waiter->result = r;
    waiter->cv.notify_all();
  });
  std::optional<internal::v1::Result> result;
  {
    std::unique_lock<std::mutex> lock(waiter->mu);
    waiter->cv.wait_for(lock, wait, [&] { return waiter->result.has_value(); });
    result = waiter->result;
  }
  const bool answered = result && result->code() == grpc::StatusCode::OK;

  std::vector<MetricFamily> out;
  if (answered) out = ToPrometheus(result->metrics());
  MetricFamily up = Family("vigil_core_metrics_up", MetricType::Gauge,
                           "1 when the core answered this scrape (its families are present)");
  AddSample(&up, {}, answered ? 1 : 0);
  out.push_back(std::move(up));
  MetricFamily build =
      Family("vigil_build_info", MetricType::Gauge, "Always 1; the version of Vigil in a label");
  AddSample(&build, {{"version", version_}}, 1);
  out.push_back(std::move(build));
  AddProcessFamilies(core_pid_, &out);
  if (counters_ != nullptr) counters_->AddFamilies(&out);
  return out;
}

}  // namespace vigil::control
