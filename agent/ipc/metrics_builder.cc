#include "agent/ipc/metrics_builder.h"

#include <initializer_list>
#include <string>
#include <utility>

#include "agent/signal/signals.h"

namespace vigil {
namespace {

using internal::v1::Metric;
using internal::v1::MetricFamily;
using Labels = std::initializer_list<std::pair<const char*, std::string>>;

class Family {
 public:
  Family(MetricFamilies* out, const char* name, internal::v1::MetricType type, const char* help)
      : family_(out->Add()) {
    family_->set_name(name);
    family_->set_type(type);
    family_->set_help(help);
  }

  void Add(Labels labels, double value) { New(labels)->set_value(value); }

  void AddHistogram(Labels labels, const Histogram& h) {
    Metric* m = New(labels);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h.bounds().size(); ++i) {
      cumulative += h.counts()[i];
      m->add_bucket_bounds(h.bounds()[i]);
      m->add_bucket_counts(cumulative);
    }
    m->set_count(h.count());
    m->set_sum(h.sum());
  }

 private:
  Metric* New(Labels labels) {
    Metric* m = family_->add_metrics();
    for (const auto& [name, value] : labels) {
      auto* l = m->add_labels();
      l->set_name(name);
      l->set_value(value);
    }
    return m;
  }

  MetricFamily* family_;
};

constexpr auto kCounter = internal::v1::METRIC_TYPE_COUNTER;
constexpr auto kGauge = internal::v1::METRIC_TYPE_GAUGE;
constexpr auto kHistogram = internal::v1::METRIC_TYPE_HISTOGRAM;

constexpr WorkerState kStates[] = {WorkerState::kBackoff, WorkerState::kStarting,
                                   WorkerState::kReady, WorkerState::kStopping,
                                   WorkerState::kExited};
constexpr AgentPhase kPhases[] = {AgentPhase::kStarting, AgentPhase::kReady, AgentPhase::kStopping,
                                  AgentPhase::kDrained, AgentPhase::kDone};

void AgentFamilies(const Supervisor& s, MetricFamilies* out) {
  Family(out, "vigil_agent_ready", kGauge,
         "1 when every pool is ready (what the readiness probe reports), else 0")
      .Add({}, s.ready() ? 1 : 0);
  Family phase(out, "vigil_agent_phase", kGauge,
               "1 for the agent's current phase: starting, ready, draining, drained, exiting");
  for (AgentPhase p : kPhases)
    phase.Add({{"phase", AgentPhaseName(p)}}, s.phase() == p ? 1 : 0);
  Family(out, "vigil_agent_draining", kGauge, "1 from the start of a drain until Vigil exits")
      .Add({}, s.drain().started ? 1 : 0);
}

void PoolFamilies(const Supervisor& s, MetricFamilies* out) {
  const auto& pools = s.pools();
  Family workers(out, "vigil_pool_workers", kGauge, "Worker slots of the pool in each state");
  for (const auto& p : pools) {
    for (WorkerState st : kStates)
      workers.Add({{"pool", p->name()}, {"state", WorkerStateName(st)}}, p->CountIn(st));
  }
  Family desired(out, "vigil_pool_desired_workers", kGauge,
                 "Workers the pool should run (replicas, as scaled)");
  Family ready(out, "vigil_pool_ready", kGauge, "1 when the pool has its minimum of ready workers");
  Family failed(out, "vigil_pool_failed", kGauge,
                "1 once the pool has reached its crash-loop verdict");
  for (const auto& p : pools) {
    desired.Add({{"pool", p->name()}}, p->desired());
    ready.Add({{"pool", p->name()}}, p->ready() ? 1 : 0);
    failed.Add({{"pool", p->name()}}, p->failed() ? 1 : 0);
  }

  Family starts(out, "vigil_worker_starts_total", kCounter, "Worker processes started");
  for (const auto& p : pools)
    starts.Add({{"pool", p->name()}}, static_cast<double>(p->counters().starts));
  Family restarts(out, "vigil_worker_restarts_total", kCounter,
                  "Workers started again, by why the run before ended");
  for (const auto& p : pools) {
    for (int r = 0; r < kExitReasonCount; ++r) {
      restarts.Add({{"pool", p->name()}, {"reason", ExitReasonName(static_cast<ExitReason>(r))}},
                   static_cast<double>(p->counters().restarts_by_reason[r]));
    }
  }
  Family exits(out, "vigil_worker_exits_total", kCounter,
               "Worker runs ended, by reason, exit code (empty when killed by a signal) and signal "
               "(empty when it exited)");
  for (const auto& p : pools) {
    for (const auto& [key, n] : p->counters().exits) {
      exits.Add({{"pool", p->name()},
                 {"reason", ExitReasonName(key.reason)},
                 {"code", key.code >= 0 ? std::to_string(key.code) : ""},
                 {"signal", key.signal > 0 ? SignalName(key.signal) : ""}},
                static_cast<double>(n));
    }
  }
  Family boot(out, "vigil_worker_boot_duration_seconds", kHistogram,
              "Time from a worker's spawn to its first readiness");
  for (const auto& p : pools)
    boot.AddHistogram({{"pool", p->name()}}, p->counters().boot_seconds);

  Family notify(out, "vigil_notify_messages_total", kCounter,
                "sd_notify keys received in accepted datagrams (other: ignored keys)");
  Family rejected(out, "vigil_notify_rejected_total", kCounter,
                  "sd_notify datagrams rejected, by cause");
  for (const auto& p : pools) {
    for (int k = 0; k < kNotifyKeyCount; ++k) {
      notify.Add({{"pool", p->name()}, {"key", NotifyKeyName(static_cast<NotifyKey>(k))}},
                 static_cast<double>(p->counters().notify_by_key[k]));
    }
    for (int c = 1; c < kNotifyRejectionCount; ++c) {  // 0 is kNone
      rejected.Add(
          {{"pool", p->name()}, {"cause", NotifyRejectionName(static_cast<NotifyRejection>(c))}},
          static_cast<double>(p->counters().notify_rejected_by_cause[c]));
    }
  }
}

void DrainFamilies(const Supervisor& s, const Config& config, MetricFamilies* out) {
  const AgentCounters& c = s.counters();
  Family drains(out, "vigil_drains_total", kCounter, "Drains started, by what started them");
  for (int t = 0; t < kDrainTriggerCount; ++t) {
    drains.Add({{"trigger", DrainTriggerName(static_cast<DrainTrigger>(t))}},
               static_cast<double>(c.drains_by_trigger[t]));
  }
  Family(out, "vigil_drain_duration_seconds", kHistogram,
         "Time from the start of a drain to its completion (workers down, hooks run)")
      .AddHistogram({}, c.drain_seconds);
  Family(out, "vigil_prestop_hold_duration_seconds", kHistogram,
         "Time a preStop hook or API drain request was held until the drain completed")
      .AddHistogram({}, c.prestop_hold_seconds);
  Family(out, "vigil_drain_propagation_seconds", kHistogram,
         "Time from readiness going off to the first stop signal (the propagation delay)")
      .AddHistogram({}, c.propagation_seconds);
  Family(out, "vigil_drain_propagation_connections_total", kCounter,
         "New connections to the workers' ports seen while the drain waited for traffic to stop")
      .Add({}, static_cast<double>(c.propagation_connections));
  Family ends(out, "vigil_drain_propagation_ends_total", kCounter,
              "Propagation delays ended, by why (quiet, max_delay, no_listener, fixed, cut_short)");
  for (int r = 0; r < kPropagationEndCount; ++r) {
    ends.Add({{"reason", PropagationEndName(static_cast<PropagationEnd>(r))}},
             static_cast<double>(c.propagation_ends[r]));
  }
  Family killed(out, "vigil_drain_workers_killed_total", kCounter,
                "Workers SIGKILLed during a drain because they had not exited in time");
  for (const auto& p : s.pools()) {
    auto it = c.killed_in_drain.find(p->name());
    killed.Add({{"pool", p->name()}},
               it == c.killed_in_drain.end() ? 0 : static_cast<double>(it->second));
  }
  Family hooks(out, "vigil_stop_hooks_total", kCounter, "Stop hooks run, by result");
  for (const HookConfig& hook : config.hooks) {
    for (int r = 0; r < kHookResultCount; ++r) {
      auto it = c.hooks.find({hook.name, r});
      hooks.Add({{"hook", hook.name}, {"result", HookResultName(static_cast<HookResult>(r))}},
                it == c.hooks.end() ? 0 : static_cast<double>(it->second));
    }
  }
}

void ProcessFamilies(const Supervisor& s, const CoreProcessCounts& process, MetricFamilies* out) {
  const AgentCounters& c = s.counters();
  Family signals(out, "vigil_signals_received_total", kCounter,
                 "Signals received by the core, by signal");
  for (int n = 1; n <= kMaxSignal; ++n) {
    if (c.signals_received[n] > 0) {
      signals.Add({{"signal", SignalName(n)}}, static_cast<double>(c.signals_received[n]));
    }
  }
  Family(out, "vigil_zombies_reaped_total", kCounter,
         "Processes reaped by the core: workers, probes, hooks, the control plane and orphans")
      .Add({}, static_cast<double>(c.reaped));
  Family(out, "vigil_orphans_reaped_total", kCounter,
         "Reaped processes Vigil did not start (orphans reparented to it)")
      .Add({}, static_cast<double>(c.orphans_reaped));
  Family(out, "vigil_control_restarts_total", kCounter,
         "Times vigil-control was started again after it died")
      .Add({}, static_cast<double>(process.control_restarts));
  Family(out, "vigil_control_events_dropped_total", kCounter,
         "Events not sent to vigil-control because it had fallen behind (it got a fresh "
         "snapshot instead)")
      .Add({}, static_cast<double>(process.control_events_dropped));
  Family dropped(out, "vigil_output_dropped_lines_total", kCounter,
                 "Lines of Vigil's own stdout and stderr (its log, workers' prefixed lines) "
                 "dropped because nobody read them in time");
  dropped.Add({{"stream", "stdout"}}, static_cast<double>(process.output_dropped_stdout));
  dropped.Add({{"stream", "stderr"}}, static_cast<double>(process.output_dropped_stderr));
}

}  // namespace

void BuildMetrics(const Supervisor& supervisor, const CoreProcessCounts& process,
                  MetricFamilies* out) {
  AgentFamilies(supervisor, out);
  PoolFamilies(supervisor, out);
  DrainFamilies(supervisor, supervisor.config(), out);
  ProcessFamilies(supervisor, process, out);
}

}  // namespace vigil
