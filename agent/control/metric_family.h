// Building prometheus-cpp metric families by hand (vigil-control's own families and the ones it
// adds to the core's): a family with its name, type and help, and a counter or gauge sample in
// it. Pure.
#pragma once

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>

#include <vector>

namespace vigil::control {

prometheus::MetricFamily Family(const char* name, prometheus::MetricType type, const char* help);

// A sample of `value` with `labels`: a counter's or a gauge's, by the family's type.
void AddSample(prometheus::MetricFamily* family,
               std::vector<prometheus::ClientMetric::Label> labels, double value);

}  // namespace vigil::control
