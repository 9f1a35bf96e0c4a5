#include "agent/control/control_counters.h"

#include <string>

namespace vigil::control {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr Listener kGrpcListeners[] = {Listener::kUnix, Listener::kHealth, Listener::kApi};
constexpr Listener kHttpListeners[] = {Listener::kMetrics, Listener::kHttp};

MetricFamily Family(const char* name, MetricType type, const char* help) {
  MetricFamily f;
  f.name = name;
  f.type = type;
  f.help = help;
  return f;
}

void Sample(MetricFamily* f, std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric m;
  m.label = std::move(labels);
  if (f->type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f->metric.push_back(std::move(m));
}

const char* RefusedName(RefusedCall r) {
  return r == RefusedCall::kStreamLimit ? "streams" : "pending";
}

}  // namespace

const char* ListenerName(Listener l) {
  switch (l) {
    case Listener::kUnix:
      return "unix";
    case Listener::kHealth:
      return "health";
    case Listener::kApi:
      return "api";
    case Listener::kMetrics:
      return "metrics";
    case Listener::kHttp:
      return "http";
  }
  return "?";
}

const char* StreamMethod(StreamKind k) {
  switch (k) {
    case StreamKind::kWatch:
      return "/vigil.v1.Lifecycle/Watch";
    case StreamKind::kDrainStream:
      return "/vigil.v1.Lifecycle/DrainStream";
    case StreamKind::kHealthWatch:
      return "/grpc.health.v1.Health/Watch";
  }
  return "?";
}

const char* ConnCloseName(ConnClose c) {
  switch (c) {
    case ConnClose::kHeaderTimeout:
      return "header_timeout";
    case ConnClose::kHeaderTooLarge:
      return "header_too_large";
    case ConnClose::kBadRequest:
      return "bad_request";
    case ConnClose::kWriteTimeout:
      return "write_timeout";
    case ConnClose::kEvicted:
      return "evicted";
    case ConnClose::kRefused:
      return "refused";
  }
  return "?";
}

void ControlCounters::AddFamilies(std::vector<MetricFamily>* out) const {
  MetricFamily cut = Family("vigil_control_streams_cut_off_total", MetricType::Counter,
                            "Server streams ended RESOURCE_EXHAUSTED because their client fell "
                            "too far behind");
  for (int k = 0; k < kStreamKindCount; ++k) {
    Sample(&cut, {{"method", StreamMethod(static_cast<StreamKind>(k))}},
           static_cast<double>(cut_off_[k].load()));
  }
  MetricFamily refused = Family("vigil_control_calls_refused_total", MetricType::Counter,
                                "gRPC calls refused RESOURCE_EXHAUSTED at a listener's limit of "
                                "open streams or of calls waiting for the core");
  MetricFamily streams =
      Family("vigil_control_streams", MetricType::Gauge, "Server streams open, by gRPC listener");
  for (Listener l : kGrpcListeners) {
    for (int r = 0; r < kRefusedCallCount; ++r) {
      Sample(&refused,
             {{"listener", ListenerName(l)}, {"limit", RefusedName(static_cast<RefusedCall>(r))}},
             static_cast<double>(refused_[Index(l) * kRefusedCallCount + r].load()));
    }
    Sample(&streams, {{"listener", ListenerName(l)}}, static_cast<double>(streams_[Index(l)]));
  }
  MetricFamily closed = Family("vigil_http_connections_closed_total", MetricType::Counter,
                               "HTTP connections closed by vigil-control before or instead of "
                               "an answer, by cause");
  MetricFamily open =
      Family("vigil_http_connections", MetricType::Gauge, "HTTP connections open, by listener");
  for (Listener l : kHttpListeners) {
    for (int c = 0; c < kConnCloseCount; ++c) {
      Sample(&closed,
             {{"listener", ListenerName(l)}, {"cause", ConnCloseName(static_cast<ConnClose>(c))}},
             static_cast<double>(closed_[Index(l) * kConnCloseCount + c].load()));
    }
    Sample(&open, {{"listener", ListenerName(l)}}, static_cast<double>(connections_[Index(l)]));
  }
  for (MetricFamily* f : {&cut, &refused, &streams, &closed, &open})
    out->push_back(std::move(*f));
}

}  // namespace vigil::control
