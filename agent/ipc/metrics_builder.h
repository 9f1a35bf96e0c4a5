// Builds the Prometheus metrics of the core (every count Vigil keeps: agent, pools, workers,
// notify, drain, hooks, the control plane's restarts) as the control protocol's MetricFamily
// messages. vigil-control asks for them on each scrape and adds only what it can see itself
// (build info, process metrics); docs/metrics.md lists them all.
//
// Label sets are bounded: pools and hooks come from the configuration, reasons, states, keys,
// causes and triggers are closed enums, exit codes 0..255 and signals 1..64; no pid label.
// Counters whose labels are known in advance are emitted at 0 too, so that rate() and
// increase() see a series from the first scrape. Read-only; called on the core loop.
#pragma once

#include <google/protobuf/repeated_ptr_field.h>

#include "agent/supervisor/supervisor.h"
#include "vigil/internal/v1/ipc.pb.h"

namespace vigil {

using MetricFamilies = google::protobuf::RepeatedPtrField<internal::v1::MetricFamily>;

// What the core process counts outside the supervisor: the control link and the output
// channels.
struct CoreProcessCounts {
  uint64_t control_restarts = 0;        // vigil-control started again after it died
  uint64_t control_events_dropped = 0;  // events not sent to a control plane that fell behind
  // Lines of Vigil's own stdout and stderr dropped because nobody read them in time.
  uint64_t output_dropped_stdout = 0;
  uint64_t output_dropped_stderr = 0;
};

void BuildMetrics(const Supervisor& supervisor, const CoreProcessCounts& process,
                  MetricFamilies* out);

}  // namespace vigil
