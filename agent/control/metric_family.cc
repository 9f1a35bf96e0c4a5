#include "agent/control/metric_family.h"

#include <utility>

namespace vigil::control {

prometheus::MetricFamily Family(const char* name, prometheus::MetricType type, const char* help) {
  prometheus::MetricFamily f;
  f.name = name;
  f.type = type;
  f.help = help;
  return f;
}

void AddSample(prometheus::MetricFamily* family,
               std::vector<prometheus::ClientMetric::Label> labels, double value) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  if (family->type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  family->metric.push_back(std::move(m));
}

}  // namespace vigil::control
