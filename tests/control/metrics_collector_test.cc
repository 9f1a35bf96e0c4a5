// ToPrometheus: the core's MetricFamily messages in prometheus-cpp's terms. Counters and gauges
// keep their value and labels; histograms keep their cumulative finite buckets and get the
// +Inf bucket appended, equal to the count.
#include "agent/control/metrics_collector.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace vigil::control {
namespace {

using Families = google::protobuf::RepeatedPtrField<internal::v1::MetricFamily>;
using prometheus::MetricType;

internal::v1::MetricFamily* AddFamily(Families* fs, const std::string& name,
                                      internal::v1::MetricType type, const std::string& help) {
  auto* f = fs->Add();
  f->set_name(name);
  f->set_type(type);
  f->set_help(help);
  return f;
}

internal::v1::Metric* AddMetric(internal::v1::MetricFamily* f,
                                std::vector<std::pair<std::string, std::string>> labels) {
  auto* m = f->add_metrics();
  for (const auto& [n, v] : labels) {
    auto* l = m->add_labels();
    l->set_name(n);
    l->set_value(v);
  }
  return m;
}

TEST(ToPrometheusTest, NoFamiliesNothing) {
  EXPECT_TRUE(ToPrometheus(Families()).empty());
}

TEST(ToPrometheusTest, CounterKeepsNameHelpLabelsAndValue) {
  Families fs;
  auto* f = AddFamily(&fs, "vigil_worker_starts_total", internal::v1::METRIC_TYPE_COUNTER,
                      "Worker processes started");
  AddMetric(f, {{"pool", "web"}})->set_value(3);
  AddMetric(f, {{"pool", "jobs"}})->set_value(0);
  const auto out = ToPrometheus(fs);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].name, "vigil_worker_starts_total");
  EXPECT_EQ(out[0].help, "Worker processes started");
  EXPECT_EQ(out[0].type, MetricType::Counter);
  ASSERT_EQ(out[0].metric.size(), 2u);
  ASSERT_EQ(out[0].metric[0].label.size(), 1u);
  EXPECT_EQ(out[0].metric[0].label[0].name, "pool");
  EXPECT_EQ(out[0].metric[0].label[0].value, "web");
  EXPECT_EQ(out[0].metric[0].counter.value, 3);
  EXPECT_EQ(out[0].metric[1].label[0].value, "jobs");
  EXPECT_EQ(out[0].metric[1].counter.value, 0);
}

TEST(ToPrometheusTest, GaugeKeepsItsValueAndLabelOrder) {
  Families fs;
  auto* f = AddFamily(&fs, "vigil_pool_workers", internal::v1::METRIC_TYPE_GAUGE, "Worker slots");
  AddMetric(f, {{"pool", "web"}, {"state", "ready"}})->set_value(2.5);
  const auto out = ToPrometheus(fs);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].type, MetricType::Gauge);
  ASSERT_EQ(out[0].metric.size(), 1u);
  EXPECT_EQ(out[0].metric[0].gauge.value, 2.5);
  ASSERT_EQ(out[0].metric[0].label.size(), 2u);
  EXPECT_EQ(out[0].metric[0].label[0].name, "pool");
  EXPECT_EQ(out[0].metric[0].label[1].name, "state");
  EXPECT_EQ(out[0].metric[0].label[1].value, "ready");
}

TEST(ToPrometheusTest, AnUnknownTypeIsAGauge) {
  Families fs;
  AddMetric(AddFamily(&fs, "x", static_cast<internal::v1::MetricType>(7), "h"), {})->set_value(1);
  const auto out = ToPrometheus(fs);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].type, MetricType::Gauge);
  EXPECT_EQ(out[0].metric[0].gauge.value, 1);
}

TEST(ToPrometheusTest, HistogramGetsTheInfBucketEqualToTheCount) {
  Families fs;
  auto* f = AddFamily(&fs, "vigil_worker_boot_duration_seconds",
                      internal::v1::METRIC_TYPE_HISTOGRAM, "Boot");
  auto* m = AddMetric(f, {{"pool", "web"}});
  for (double b : {0.1, 1.0, 10.0})
    m->add_bucket_bounds(b);
  for (uint64_t c : {1u, 3u, 4u})
    m->add_bucket_counts(c);
  m->set_count(6);
  m->set_sum(123.5);
  const auto out = ToPrometheus(fs);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].type, MetricType::Histogram);
  ASSERT_EQ(out[0].metric.size(), 1u);
  const auto& h = out[0].metric[0].histogram;
  EXPECT_EQ(h.sample_count, 6u);
  EXPECT_EQ(h.sample_sum, 123.5);
  ASSERT_EQ(h.bucket.size(), 4u);
  EXPECT_EQ(h.bucket[0].upper_bound, 0.1);
  EXPECT_EQ(h.bucket[0].cumulative_count, 1u);
  EXPECT_EQ(h.bucket[1].upper_bound, 1.0);
  EXPECT_EQ(h.bucket[1].cumulative_count, 3u);
  EXPECT_EQ(h.bucket[2].upper_bound, 10.0);
  EXPECT_EQ(h.bucket[2].cumulative_count, 4u);
  EXPECT_TRUE(std::isinf(h.bucket[3].upper_bound));
  EXPECT_GT(h.bucket[3].upper_bound, 0);
  EXPECT_EQ(h.bucket[3].cumulative_count, 6u);
  EXPECT_EQ(out[0].metric[0].label[0].value, "web");
}

TEST(ToPrometheusTest, AnEmptyHistogramHasOnlyTheInfBucketAtZero) {
  Families fs;
  AddMetric(
      AddFamily(&fs, "vigil_drain_duration_seconds", internal::v1::METRIC_TYPE_HISTOGRAM, "Drain"),
      {});
  const auto out = ToPrometheus(fs);
  ASSERT_EQ(out[0].metric.size(), 1u);
  const auto& h = out[0].metric[0].histogram;
  ASSERT_EQ(h.bucket.size(), 1u);
  EXPECT_EQ(h.bucket[0].upper_bound, std::numeric_limits<double>::infinity());
  EXPECT_EQ(h.bucket[0].cumulative_count, 0u);
  EXPECT_EQ(h.sample_count, 0u);
}

TEST(ToPrometheusTest, MismatchedBoundsAndCountsKeepOnlyThePairs) {
  Families fs;
  auto* m = AddMetric(AddFamily(&fs, "h", internal::v1::METRIC_TYPE_HISTOGRAM, "h"), {});
  m->add_bucket_bounds(1);
  m->add_bucket_bounds(2);
  m->add_bucket_counts(5);
  m->set_count(5);
  const auto out = ToPrometheus(fs);
  const auto& h = out[0].metric[0].histogram;
  ASSERT_EQ(h.bucket.size(), 2u);
  EXPECT_EQ(h.bucket[0].upper_bound, 1);
  EXPECT_EQ(h.bucket[0].cumulative_count, 5u);
  EXPECT_TRUE(std::isinf(h.bucket[1].upper_bound));
}

TEST(ToPrometheusTest, FamiliesKeepTheirOrderAndAFamilyWithoutSeriesStays) {
  Families fs;
  AddFamily(&fs, "a_total", internal::v1::METRIC_TYPE_COUNTER, "a");
  AddMetric(AddFamily(&fs, "b", internal::v1::METRIC_TYPE_GAUGE, "b"), {})->set_value(1);
  AddFamily(&fs, "c_seconds", internal::v1::METRIC_TYPE_HISTOGRAM, "c");
  const auto out = ToPrometheus(fs);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].name, "a_total");
  EXPECT_TRUE(out[0].metric.empty());
  EXPECT_EQ(out[1].name, "b");
  EXPECT_EQ(out[2].name, "c_seconds");
  EXPECT_EQ(out[2].type, MetricType::Histogram);
}

}  // namespace
}  // namespace vigil::control
