// BuildMetrics over a Supervisor driven with the fakes (FakeOs, FakeScheduler, FakeClock,
// FakeFdWatcher, FakeNotifyTransport, FakeRandom): every family's name, type and help, exact
// label sets, and the values after scripted scenarios. Histogram buckets on the wire are
// cumulative, +Inf is `count`.
#include "agent/ipc/metrics_builder.h"

#include <signal.h>
#include <sys/wait.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/metrics/histogram.h"
#include "tests/fakes/supervisor_harness.h"

namespace vigil {
namespace {

using namespace std::chrono_literals;
using internal::v1::Metric;
using internal::v1::MetricFamily;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAreArray;
using ::vigil::testing::ExitedWith;
using ::vigil::testing::FakeClock;
using ::vigil::testing::FakeFdWatcher;
using ::vigil::testing::FakeNotifyTransport;
using ::vigil::testing::FakeOs;
using ::vigil::testing::FakeRandom;
using ::vigil::testing::FakeScheduler;
using ::vigil::testing::KilledBy;
using ::vigil::testing::kShell;
using ::vigil::testing::MakePool;
using ::vigil::testing::SupervisorHarness;

using LabelSet = std::map<std::string, std::string>;

constexpr auto kCounter = internal::v1::METRIC_TYPE_COUNTER;
constexpr auto kGauge = internal::v1::METRIC_TYPE_GAUGE;
constexpr auto kHistogram = internal::v1::METRIC_TYPE_HISTOGRAM;

LabelSet LabelsOf(const Metric& m) {
  LabelSet out;
  for (const auto& l : m.labels())
    out[l.name()] = l.value();
  return out;
}

class MetricsBuilderTest : public SupervisorHarness {
 protected:
  const MetricFamilies& Build(uint64_t control_restarts = 0, uint64_t events_dropped = 0) {
    CoreProcessCounts process;
    process.control_restarts = control_restarts;
    process.control_events_dropped = events_dropped;
    return Build(process);
  }
  const MetricFamilies& Build(const CoreProcessCounts& process) {
    families_.Clear();
    BuildMetrics(sup(), process, &families_);
    return families_;
  }
  const MetricFamily* Family(const std::string& name) {
    for (const MetricFamily& f : families_) {
      if (f.name() == name) return &f;
    }
    return nullptr;
  }
  // The label sets of a family's series, in order.
  std::vector<LabelSet> Series(const std::string& name) {
    std::vector<LabelSet> out;
    if (const MetricFamily* f = Family(name)) {
      for (const Metric& m : f->metrics())
        out.push_back(LabelsOf(m));
    }
    return out;
  }
  // The one series with exactly these labels; nullptr (and a failure) when none or several.
  const Metric* Find(const std::string& name, const LabelSet& labels) {
    const MetricFamily* f = Family(name);
    if (f == nullptr) {
      ADD_FAILURE() << "no family " << name;
      return nullptr;
    }
    const Metric* found = nullptr;
    for (const Metric& m : f->metrics()) {
      if (LabelsOf(m) != labels) continue;
      if (found != nullptr) ADD_FAILURE() << name << ": two series with the same labels";
      found = &m;
    }
    if (found == nullptr) ADD_FAILURE() << name << ": no series with the labels asked for";
    return found;
  }
  double Value(const std::string& name, const LabelSet& labels = {}) {
    const Metric* m = Find(name, labels);
    return m == nullptr ? -1 : m->value();
  }
  // The sum of a family's values over series whose labels include `match`.
  double Total(const std::string& name, const LabelSet& match = {}) {
    double total = 0;
    if (const MetricFamily* f = Family(name)) {
      for (const Metric& m : f->metrics()) {
        const LabelSet labels = LabelsOf(m);
        bool all = true;
        for (const auto& [k, v] : match)
          all = all && labels.count(k) != 0 && labels.at(k) == v;
        if (all) total += m.value();
      }
    }
    return total;
  }
  std::vector<uint64_t> Buckets(const Metric& m) {
    return std::vector<uint64_t>(m.bucket_counts().begin(), m.bucket_counts().end());
  }
  std::vector<double> Bounds(const Metric& m) {
    return std::vector<double>(m.bucket_bounds().begin(), m.bucket_bounds().end());
  }
  // Cumulative counts for `bounds` of observations made only at `value` (n times).
  static std::vector<uint64_t> CumulativeAt(const std::vector<double>& bounds, double value,
                                            uint64_t n = 1) {
    std::vector<uint64_t> out;
    for (double b : bounds)
      out.push_back(value <= b ? n : 0);
    return out;
  }

  MetricFamilies families_;
};

// ---------------------------------------------------------------------------------------------
// The families
// ---------------------------------------------------------------------------------------------

TEST_F(MetricsBuilderTest, EveryFamilyHasAUniqueNameATypeAndHelp) {
  Start();
  Build();
  const std::map<std::string, internal::v1::MetricType> expected = {
      {"vigil_agent_ready", kGauge},
      {"vigil_agent_phase", kGauge},
      {"vigil_agent_draining", kGauge},
      {"vigil_pool_workers", kGauge},
      {"vigil_pool_desired_workers", kGauge},
      {"vigil_pool_ready", kGauge},
      {"vigil_pool_failed", kGauge},
      {"vigil_worker_starts_total", kCounter},
      {"vigil_worker_restarts_total", kCounter},
      {"vigil_worker_exits_total", kCounter},
      {"vigil_worker_boot_duration_seconds", kHistogram},
      {"vigil_notify_messages_total", kCounter},
      {"vigil_notify_rejected_total", kCounter},
      {"vigil_drains_total", kCounter},
      {"vigil_drain_duration_seconds", kHistogram},
      {"vigil_prestop_hold_duration_seconds", kHistogram},
      {"vigil_drain_propagation_seconds", kHistogram},
      {"vigil_drain_propagation_connections_total", kCounter},
      {"vigil_drain_propagation_ends_total", kCounter},
      {"vigil_drain_workers_killed_total", kCounter},
      {"vigil_stop_hooks_total", kCounter},
      {"vigil_signals_received_total", kCounter},
      {"vigil_zombies_reaped_total", kCounter},
      {"vigil_orphans_reaped_total", kCounter},
      {"vigil_control_restarts_total", kCounter},
      {"vigil_output_dropped_lines_total", kCounter},
      {"vigil_control_events_dropped_total", kCounter},
  };
  std::map<std::string, internal::v1::MetricType> got;
  for (const MetricFamily& f : families_) {
    EXPECT_TRUE(got.emplace(f.name(), f.type()).second) << "twice: " << f.name();
    EXPECT_FALSE(f.help().empty()) << f.name();
    EXPECT_EQ(f.name().rfind("vigil_", 0), 0u) << f.name();
    const bool total = f.name().size() > 6 && f.name().substr(f.name().size() - 6) == "_total";
    EXPECT_EQ(total, f.type() == kCounter) << f.name();
  }
  EXPECT_EQ(got, expected);
}

TEST_F(MetricsBuilderTest, NoSeriesCarriesAPidOrAnEmptyLabelName) {
  Start();
  Reap(100, ExitedWith(1));
  Build();
  for (const MetricFamily& f : families_) {
    for (const Metric& m : f.metrics()) {
      for (const auto& l : m.labels()) {
        EXPECT_FALSE(l.name().empty()) << f.name();
        EXPECT_NE(l.name(), "pid") << f.name();
        EXPECT_NE(l.name(), "slot") << f.name();
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Agent and pool gauges
// ---------------------------------------------------------------------------------------------

TEST_F(MetricsBuilderTest, AgentGaugesWhenReady) {
  Start();
  Build();
  EXPECT_EQ(Value("vigil_agent_ready"), 1);
  EXPECT_EQ(Value("vigil_agent_draining"), 0);
  EXPECT_THAT(Series("vigil_agent_phase"),
              ElementsAre(LabelSet{{"phase", "starting"}}, LabelSet{{"phase", "ready"}},
                          LabelSet{{"phase", "draining"}}, LabelSet{{"phase", "drained"}},
                          LabelSet{{"phase", "exiting"}}));
  EXPECT_EQ(Value("vigil_agent_phase", {{"phase", "ready"}}), 1);
  EXPECT_EQ(Total("vigil_agent_phase"), 1);
}

TEST_F(MetricsBuilderTest, AgentGaugesWhileStartingAndDraining) {
  config_.pools[1].readiness.mode = ReadinessMode::kNotify;
  Start();
  Build();
  EXPECT_EQ(Value("vigil_agent_ready"), 0);
  EXPECT_EQ(Value("vigil_agent_phase", {{"phase", "starting"}}), 1);
  EXPECT_EQ(Total("vigil_agent_phase"), 1);
  sup().Drain(DrainTrigger::kPreStop);
  Build();
  EXPECT_EQ(Value("vigil_agent_draining"), 1);
  EXPECT_EQ(Value("vigil_agent_phase", {{"phase", "draining"}}), 1);
  EXPECT_EQ(Total("vigil_agent_phase"), 1);
}

TEST_F(MetricsBuilderTest, PoolGaugesPerPoolAndState) {
  config_.pools[0].replicas = 3;
  config_.pools[1].readiness.mode = ReadinessMode::kNotify;
  Start();
  Build();
  std::vector<LabelSet> expected;
  for (const char* pool : {"a", "b"}) {
    for (const char* state : {"backoff", "starting", "ready", "stopping", "exited"})
      expected.push_back({{"pool", pool}, {"state", state}});
  }
  EXPECT_EQ(Series("vigil_pool_workers"), expected);
  EXPECT_EQ(Value("vigil_pool_workers", {{"pool", "a"}, {"state", "ready"}}), 3);
  EXPECT_EQ(Total("vigil_pool_workers", {{"pool", "a"}}), 3);
  EXPECT_EQ(Value("vigil_pool_workers", {{"pool", "b"}, {"state", "starting"}}), 1);
  EXPECT_EQ(Total("vigil_pool_workers", {{"pool", "b"}}), 1);
  EXPECT_EQ(Value("vigil_pool_desired_workers", {{"pool", "a"}}), 3);
  EXPECT_EQ(Value("vigil_pool_desired_workers", {{"pool", "b"}}), 1);
  EXPECT_EQ(Value("vigil_pool_ready", {{"pool", "a"}}), 1);
  EXPECT_EQ(Value("vigil_pool_ready", {{"pool", "b"}}), 0);
  EXPECT_EQ(Value("vigil_pool_failed", {{"pool", "a"}}), 0);
  EXPECT_EQ(Value("vigil_pool_failed", {{"pool", "b"}}), 0);
}

TEST_F(MetricsBuilderTest, AWorkerInBackoffIsCountedThere) {
  Start();
  Reap(101, ExitedWith(1));
  Build();
  EXPECT_EQ(Value("vigil_pool_workers", {{"pool", "b"}, {"state", "backoff"}}), 1);
  EXPECT_EQ(Value("vigil_pool_workers", {{"pool", "b"}, {"state", "ready"}}), 0);
  EXPECT_EQ(Value("vigil_pool_ready", {{"pool", "b"}}), 0);
  EXPECT_EQ(Value("vigil_agent_ready"), 0);
}

TEST_F(MetricsBuilderTest, ACrashLoopVerdictSetsPoolFailed) {
  config_.on_pool_failure = PoolFailureAction::kKeepOthers;
  config_.pools[1].crash_loop.max_restarts = 0;
  config_.pools[1].backoff.initial = 0s;
  Start();
  Reap(101, ExitedWith(1));
  scheduler_.RunDue();
  ASSERT_TRUE(sup().pools()[1]->failed());
  Build();
  EXPECT_EQ(Value("vigil_pool_failed", {{"pool", "b"}}), 1);
  EXPECT_EQ(Value("vigil_pool_failed", {{"pool", "a"}}), 0);
}

// ---------------------------------------------------------------------------------------------
// Starts, restarts, exits
// ---------------------------------------------------------------------------------------------

TEST_F(MetricsBuilderTest, StartsAreCountedPerPool) {
  config_.pools[0].replicas = 2;
  Start();
  Build();
  EXPECT_THAT(Series("vigil_worker_starts_total"),
              ElementsAre(LabelSet{{"pool", "a"}}, LabelSet{{"pool", "b"}}));
  EXPECT_EQ(Value("vigil_worker_starts_total", {{"pool", "a"}}), 2);
  EXPECT_EQ(Value("vigil_worker_starts_total", {{"pool", "b"}}), 1);
}

TEST_F(MetricsBuilderTest, RestartsAreEmittedAtZeroForEveryReasonFromTheStart) {
  Start();
  Build();
  std::vector<LabelSet> expected;
  for (const char* pool : {"a", "b"}) {
    for (int r = 0; r < kExitReasonCount; ++r)
      expected.push_back({{"pool", pool}, {"reason", ExitReasonName(static_cast<ExitReason>(r))}});
  }
  EXPECT_EQ(Series("vigil_worker_restarts_total"), expected);
  EXPECT_EQ(Total("vigil_worker_restarts_total"), 0);
}

TEST_F(MetricsBuilderTest, ARestartAfterACrashIsCountedByTheReasonOfTheRunBefore) {
  Start();
  Reap(100, ExitedWith(1));
  Build();
  // Not restarted yet (backoff): not a restart yet.
  EXPECT_EQ(Total("vigil_worker_restarts_total"), 0);
  EXPECT_EQ(Value("vigil_worker_starts_total", {{"pool", "a"}}), 1);
  scheduler_.AdvanceBy(1s);
  Build();
  EXPECT_EQ(Value("vigil_worker_starts_total", {{"pool", "a"}}), 2);
  EXPECT_EQ(Value("vigil_worker_restarts_total", {{"pool", "a"}, {"reason", "exited"}}), 1);
  EXPECT_EQ(Total("vigil_worker_restarts_total"), 1);
  // The new worker (pid 102) is killed by a signal: the next restart is "signaled".
  Reap(102, KilledBy(SIGSEGV));
  scheduler_.AdvanceBy(10s);
  Build();
  EXPECT_EQ(Value("vigil_worker_starts_total", {{"pool", "a"}}), 3);
  EXPECT_EQ(Value("vigil_worker_restarts_total", {{"pool", "a"}, {"reason", "exited"}}), 1);
  EXPECT_EQ(Value("vigil_worker_restarts_total", {{"pool", "a"}, {"reason", "signaled"}}), 1);
  EXPECT_EQ(Total("vigil_worker_restarts_total", {{"pool", "b"}}), 0);
}

TEST_F(MetricsBuilderTest, ExitsAreCountedByReasonCodeAndSignal) {
  Start();
  Build();
  EXPECT_THAT(Series("vigil_worker_exits_total"), IsEmpty());
  Reap(100, ExitedWith(1));
  scheduler_.AdvanceBy(1s);  // pid 102
  Reap(102, ExitedWith(1));
  scheduler_.AdvanceBy(10s);  // pid 103
  Reap(103, KilledBy(SIGSEGV));
  scheduler_.AdvanceBy(10s);  // pid 104
  Reap(101, ExitedWith(0));
  Build();
  EXPECT_THAT(Series("vigil_worker_exits_total"),
              UnorderedElementsAreArray(std::vector<LabelSet>{
                  {{"pool", "a"}, {"reason", "exited"}, {"code", "1"}, {"signal", ""}},
                  {{"pool", "a"}, {"reason", "signaled"}, {"code", ""}, {"signal", "SIGSEGV"}},
                  {{"pool", "b"}, {"reason", "exited"}, {"code", "0"}, {"signal", ""}},
              }));
  EXPECT_EQ(Value("vigil_worker_exits_total",
                  {{"pool", "a"}, {"reason", "exited"}, {"code", "1"}, {"signal", ""}}),
            2);
  EXPECT_EQ(Value("vigil_worker_exits_total",
                  {{"pool", "a"}, {"reason", "signaled"}, {"code", ""}, {"signal", "SIGSEGV"}}),
            1);
  EXPECT_EQ(Value("vigil_worker_exits_total",
                  {{"pool", "b"}, {"reason", "exited"}, {"code", "0"}, {"signal", ""}}),
            1);
}

TEST_F(MetricsBuilderTest, ABootFailureIsItsOwnReason) {
  config_.pools[0].readiness.mode = ReadinessMode::kNotify;
  Start();
  Reap(100, ExitedWith(3));  // Never ready.
  Build();
  EXPECT_EQ(Value("vigil_worker_exits_total",
                  {{"pool", "a"}, {"reason", "boot_failure"}, {"code", "3"}, {"signal", ""}}),
            1);
}

// ---------------------------------------------------------------------------------------------
// OOM kills
// ---------------------------------------------------------------------------------------------

TEST_F(MetricsBuilderTest, ASigkillWhileTheOomCounterRoseIsOomKilled) {
  os_.oom_kill_count = 5;  // Kills from before Vigil: never counted.
  Start();
  os_.oom_kill_count = 6;
  Reap(100, KilledBy(SIGKILL));
  scheduler_.AdvanceBy(1s);
  Build();
  EXPECT_EQ(Value("vigil_worker_exits_total",
                  {{"pool", "a"}, {"reason", "oom_killed"}, {"code", ""}, {"signal", "SIGKILL"}}),
            1);
  EXPECT_EQ(Total("vigil_worker_exits_total"), 1);
  EXPECT_EQ(Value("vigil_worker_restarts_total", {{"pool", "a"}, {"reason", "oom_killed"}}), 1);
}

TEST_F(MetricsBuilderTest, ASigkillWithoutARiseIsSignaled) {
  os_.oom_kill_count = 5;
  Start();
  Reap(100, KilledBy(SIGKILL));
  Build();
  EXPECT_EQ(Value("vigil_worker_exits_total",
                  {{"pool", "a"}, {"reason", "signaled"}, {"code", ""}, {"signal", "SIGKILL"}}),
            1);
  EXPECT_EQ(Total("vigil_worker_exits_total"), 1);
}

TEST_F(MetricsBuilderTest, WithoutAnOomCounterASigkillIsSignaled) {
  Start();  // os_.oom_kill_count is nullopt.
  Reap(100, KilledBy(SIGKILL));
  Build();
  EXPECT_EQ(Value("vigil_worker_exits_total",
                  {{"pool", "a"}, {"reason", "signaled"}, {"code", ""}, {"signal", "SIGKILL"}}),
            1);
}

TEST_F(MetricsBuilderTest, ARiseOfOneMarksOnlyOneOfTwoSigkilledWorkers) {
  os_.oom_kill_count = 0;
  Start();
  os_.oom_kill_count = 1;
  Reap(100, KilledBy(SIGKILL));
  Reap(101, KilledBy(SIGKILL));
  Build();
  EXPECT_EQ(Value("vigil_worker_exits_total",
                  {{"pool", "a"}, {"reason", "oom_killed"}, {"code", ""}, {"signal", "SIGKILL"}}),
            1);
  EXPECT_EQ(Value("vigil_worker_exits_total",
                  {{"pool", "b"}, {"reason", "signaled"}, {"code", ""}, {"signal", "SIGKILL"}}),
            1);
}

TEST_F(MetricsBuilderTest, ARiseDoesNotMakeOtherSignalsOomKilled) {
  os_.oom_kill_count = 0;
  Start();
  os_.oom_kill_count = 1;
  Reap(100, KilledBy(SIGTERM));
  Reap(101, KilledBy(SIGKILL));  // Still takes the kill.
  Build();
  EXPECT_EQ(Value("vigil_worker_exits_total",
                  {{"pool", "a"}, {"reason", "signaled"}, {"code", ""}, {"signal", "SIGTERM"}}),
            1);
  EXPECT_EQ(Value("vigil_worker_exits_total",
                  {{"pool", "b"}, {"reason", "oom_killed"}, {"code", ""}, {"signal", "SIGKILL"}}),
            1);
}

TEST_F(MetricsBuilderTest, ASigkillVigilSentAtADeadlineNeverConsumesAnOomKill) {
  config_.pools[1].stop_timeout = 5s;
  os_.oom_kill_count = 0;
  Start();
  sup().Drain(DrainTrigger::kPreStop);
  scheduler_.AdvanceBy(5s);  // b's stop timeout: Vigil SIGKILLs it.
  os_.oom_kill_count = 1;    // Meanwhile the OOM killer killed something.
  Reap(101, KilledBy(SIGKILL));
  Build();
  EXPECT_EQ(
      Value(
          "vigil_worker_exits_total",
          {{"pool", "b"}, {"reason", "stop_timeout_killed"}, {"code", ""}, {"signal", "SIGKILL"}}),
      1);
  // The kill is still there for a worker that dies of SIGKILL on its own.
  Reap(100, KilledBy(SIGKILL));
  Build();
  EXPECT_EQ(Value("vigil_worker_exits_total",
                  {{"pool", "a"}, {"reason", "oom_killed"}, {"code", ""}, {"signal", "SIGKILL"}}),
            1);
}

// ---------------------------------------------------------------------------------------------
// Boot histogram
// ---------------------------------------------------------------------------------------------

TEST_F(MetricsBuilderTest, BootTimeIsObservedOnceFromSpawnToTheFirstReady) {
  config_.pools[0].readiness.mode = ReadinessMode::kNotify;
  Start();
  Build();
  const Metric* m = Find("vigil_worker_boot_duration_seconds", {{"pool", "a"}});
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->count(), 0u);
  EXPECT_THAT(Bounds(*m), ElementsAreArray(BootBuckets()));
  EXPECT_EQ(Buckets(*m), std::vector<uint64_t>(BootBuckets().size(), 0));

  clock_.Advance(300ms);
  Send("a", 0, "READY=1", 100);
  Send("a", 0, "READY=1", 100);  // Again: not a second boot.
  Build();
  m = Find("vigil_worker_boot_duration_seconds", {{"pool", "a"}});
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->count(), 1u);
  EXPECT_NEAR(m->sum(), 0.3, 1e-9);
  // Cumulative: 0 up to le=0.25, 1 from le=0.5.
  EXPECT_EQ(Buckets(*m), CumulativeAt(BootBuckets(), 0.3));
  EXPECT_THAT(Buckets(*m), ElementsAre(0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
}

TEST_F(MetricsBuilderTest, BootTimeAtABoundIsInThatBucket) {
  config_.pools[0].readiness.mode = ReadinessMode::kNotify;
  Start();
  clock_.Advance(1s);
  Send("a", 0, "READY=1", 100);
  Build();
  const Metric* m = Find("vigil_worker_boot_duration_seconds", {{"pool", "a"}});
  ASSERT_NE(m, nullptr);
  EXPECT_THAT(Buckets(*m), ElementsAre(0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1));  // le=1
}

TEST_F(MetricsBuilderTest, EachRunsBootIsObservedAndBucketsAreCumulative) {
  config_.pools[0].readiness.mode = ReadinessMode::kNotify;
  Start();
  clock_.Advance(20ms);
  Send("a", 0, "READY=1", 100);
  Reap(100, ExitedWith(1));
  scheduler_.AdvanceBy(1s);  // pid 102
  clock_.Advance(200s);      // Beyond the last bound: +Inf only.
  Send("a", 0, "READY=1", 102);
  Build();
  const Metric* m = Find("vigil_worker_boot_duration_seconds", {{"pool", "a"}});
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->count(), 2u);
  EXPECT_NEAR(m->sum(), 200.02, 1e-6);
  EXPECT_THAT(Buckets(*m), ElementsAre(0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1));
  // Pool b (readiness started): ready at spawn, boot 0.
  const Metric* b = Find("vigil_worker_boot_duration_seconds", {{"pool", "b"}});
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->count(), 1u);
  EXPECT_EQ(b->sum(), 0);
  EXPECT_EQ(Buckets(*b), std::vector<uint64_t>(BootBuckets().size(), 1));
}

// ---------------------------------------------------------------------------------------------
// Drains
// ---------------------------------------------------------------------------------------------

TEST_F(MetricsBuilderTest, DrainsAreEmittedAtZeroForEveryTrigger) {
  Start();
  Build();
  EXPECT_THAT(Series("vigil_drains_total"),
              ElementsAre(LabelSet{{"trigger", "signal"}}, LabelSet{{"trigger", "prestop"}},
                          LabelSet{{"trigger", "api"}}, LabelSet{{"trigger", "worker"}},
                          LabelSet{{"trigger", "crash_loop"}}, LabelSet{{"trigger", "fast_stop"}}));
  EXPECT_EQ(Total("vigil_drains_total"), 0);
}

TEST_F(MetricsBuilderTest, ADrainIsCountedOnceByWhatStartedIt) {
  Start();
  sup().Drain(DrainTrigger::kPreStop);
  sup().Drain(DrainTrigger::kApi);  // Joins: not a second drain.
  Signal(SIGTERM);                  // Joins too.
  Build();
  EXPECT_EQ(Value("vigil_drains_total", {{"trigger", "prestop"}}), 1);
  EXPECT_EQ(Total("vigil_drains_total"), 1);
}

TEST_F(MetricsBuilderTest, ASigtermDrainIsTriggerSignal) {
  Start();
  Signal(SIGTERM);
  Build();
  EXPECT_EQ(Value("vigil_drains_total", {{"trigger", "signal"}}), 1);
  EXPECT_EQ(Total("vigil_drains_total"), 1);
}

TEST_F(MetricsBuilderTest, DrainAndPrestopHoldDurations) {
  Start();
  Build();
  for (const char* name : {"vigil_drain_duration_seconds", "vigil_prestop_hold_duration_seconds"}) {
    const Metric* m = Find(name, {});
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->count(), 0u);
    EXPECT_THAT(Bounds(*m), ElementsAreArray(DrainBuckets()));
  }
  sup().Drain(DrainTrigger::kPreStop);
  clock_.Advance(2s);
  Reap(101, ExitedWith(0));  // Pools stop in reverse order: b first.
  clock_.Advance(1s);
  Reap(100, ExitedWith(0));
  ASSERT_TRUE(sup().drain().complete);
  Build();
  const Metric* drain = Find("vigil_drain_duration_seconds", {});
  ASSERT_NE(drain, nullptr);
  EXPECT_EQ(drain->count(), 1u);
  EXPECT_DOUBLE_EQ(drain->sum(), 3.0);
  EXPECT_EQ(Buckets(*drain), CumulativeAt(DrainBuckets(), 3.0));
  const Metric* hold = Find("vigil_prestop_hold_duration_seconds", {});
  ASSERT_NE(hold, nullptr);
  EXPECT_EQ(hold->count(), 1u);
  EXPECT_DOUBLE_EQ(hold->sum(), 3.0);
  EXPECT_EQ(Buckets(*hold), CumulativeAt(DrainBuckets(), 3.0));
  EXPECT_EQ(Value("vigil_agent_phase", {{"phase", "drained"}}), 1);
}

TEST_F(MetricsBuilderTest, APrestopAfterTheDrainCompletedIsHeldForZero) {
  Start();
  sup().Drain(DrainTrigger::kPreStop);
  clock_.Advance(2s);
  Reap(101, ExitedWith(0));
  Reap(100, ExitedWith(0));
  ASSERT_TRUE(sup().drain().complete);
  clock_.Advance(5s);
  sup().Drain(DrainTrigger::kPreStop);  // A retry from the kubelet: answered at once.
  Build();
  const Metric* hold = Find("vigil_prestop_hold_duration_seconds", {});
  ASSERT_NE(hold, nullptr);
  EXPECT_EQ(hold->count(), 2u);
  EXPECT_DOUBLE_EQ(hold->sum(), 2.0);
  // 0 and 2: le=0.01 holds one, le=2.5 both.
  EXPECT_THAT(Buckets(*hold), ElementsAre(1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2));
  EXPECT_EQ(Find("vigil_drain_duration_seconds", {})->count(), 1u);
  EXPECT_EQ(Total("vigil_drains_total"), 1);
}

TEST_F(MetricsBuilderTest, APrestopJoiningASignalDrainIsHeldFromWhenItCame) {
  Start();
  Signal(SIGTERM);
  clock_.Advance(1s);
  sup().Drain(DrainTrigger::kPreStop);
  clock_.Advance(4s);
  Reap(101, ExitedWith(0));
  Reap(100, ExitedWith(0));
  Build();
  EXPECT_DOUBLE_EQ(Find("vigil_drain_duration_seconds", {})->sum(), 5.0);
  const Metric* hold = Find("vigil_prestop_hold_duration_seconds", {});
  ASSERT_NE(hold, nullptr);
  EXPECT_EQ(hold->count(), 1u);
  EXPECT_DOUBLE_EQ(hold->sum(), 4.0);
}

TEST_F(MetricsBuilderTest, ASignalDrainHoldsNoPrestop) {
  Start();
  Signal(SIGTERM);
  clock_.Advance(1s);
  Reap(101, ExitedWith(0));
  Reap(100, ExitedWith(0));
  Build();
  EXPECT_EQ(Find("vigil_drain_duration_seconds", {})->count(), 1u);
  EXPECT_EQ(Find("vigil_prestop_hold_duration_seconds", {})->count(), 0u);
}

TEST_F(MetricsBuilderTest, WorkersSigkilledAtTheDrainDeadlineAreCountedPerPool) {
  config_.pools[1].stop_timeout = 5s;
  Start();
  Build();
  EXPECT_THAT(Series("vigil_drain_workers_killed_total"),
              ElementsAre(LabelSet{{"pool", "a"}}, LabelSet{{"pool", "b"}}));
  EXPECT_EQ(Total("vigil_drain_workers_killed_total"), 0);
  sup().Drain(DrainTrigger::kPreStop);
  scheduler_.AdvanceBy(5s);  // b's stop timeout: SIGKILL.
  ASSERT_FALSE(os_.SignalsTo(::vigil::testing::SignalCall::Target::kGroup, 101).empty());
  Reap(101, KilledBy(SIGKILL));
  Build();
  EXPECT_EQ(Value("vigil_drain_workers_killed_total", {{"pool", "b"}}), 1);
  EXPECT_EQ(Value("vigil_drain_workers_killed_total", {{"pool", "a"}}), 0);
  EXPECT_EQ(
      Value(
          "vigil_worker_exits_total",
          {{"pool", "b"}, {"reason", "stop_timeout_killed"}, {"code", ""}, {"signal", "SIGKILL"}}),
      1);
}

TEST_F(MetricsBuilderTest, AWorkerThatExitsOnTheStopSignalIsNotKilledInDrain) {
  Start();
  Signal(SIGTERM);
  Reap(101, KilledBy(SIGTERM));
  Reap(100, ExitedWith(0));
  Build();
  EXPECT_EQ(Total("vigil_drain_workers_killed_total"), 0);
}

// ---------------------------------------------------------------------------------------------
// Stop hooks
// ---------------------------------------------------------------------------------------------

TEST_F(MetricsBuilderTest, StopHooksAreCountedByResult) {
  config_.pools = {MakePool("a")};
  // Run last to first: broken, slow, failing, ok.
  config_.hooks = {{"ok", {"ok-cmd"}, 10s},
                   {"failing", {"fail-cmd"}, 10s},
                   {"slow", {"slow-cmd"}, 1s},
                   {"broken", {"missing-cmd"}, 10s}};
  Start();
  Build();
  std::vector<LabelSet> expected;
  for (const char* hook : {"ok", "failing", "slow", "broken"}) {
    for (const char* result : {"success", "failure", "timeout", "spawn_failed"})
      expected.push_back({{"hook", hook}, {"result", result}});
  }
  EXPECT_EQ(Series("vigil_stop_hooks_total"), expected);
  EXPECT_EQ(Total("vigil_stop_hooks_total"), 0);

  os_.ScriptSpawnExecFailure(ENOENT);  // broken
  os_.ScriptSpawnSuccess(300);         // slow
  os_.ScriptSpawnSuccess(301);         // failing
  os_.ScriptSpawnSuccess(302);         // ok
  sup().Drain(DrainTrigger::kPreStop);
  Reap(100, ExitedWith(0));  // The worker is down: the hooks run.
  scheduler_.AdvanceBy(1s);  // slow times out: SIGKILL.
  ASSERT_FALSE(os_.SignalsTo(::vigil::testing::SignalCall::Target::kGroup, 300).empty());
  Reap(300, KilledBy(SIGKILL));
  Reap(301, ExitedWith(1));
  Reap(302, ExitedWith(0));
  ASSERT_TRUE(sup().drain().complete);
  Build();
  EXPECT_EQ(Value("vigil_stop_hooks_total", {{"hook", "broken"}, {"result", "spawn_failed"}}), 1);
  EXPECT_EQ(Value("vigil_stop_hooks_total", {{"hook", "slow"}, {"result", "timeout"}}), 1);
  EXPECT_EQ(Value("vigil_stop_hooks_total", {{"hook", "failing"}, {"result", "failure"}}), 1);
  EXPECT_EQ(Value("vigil_stop_hooks_total", {{"hook", "ok"}, {"result", "success"}}), 1);
  EXPECT_EQ(Total("vigil_stop_hooks_total"), 4);
  // Hooks are reaped children of Vigil's, not orphans.
  EXPECT_EQ(Value("vigil_zombies_reaped_total"), 4);
  EXPECT_EQ(Value("vigil_orphans_reaped_total"), 0);
}

TEST_F(MetricsBuilderTest, AHookKilledByASignalItDidNotTimeOutIsAFailure) {
  config_.pools = {MakePool("a")};
  config_.hooks = {{"h", {"h-cmd"}, 10s}};
  Start();
  os_.ScriptSpawnSuccess(300);
  sup().Drain(DrainTrigger::kPreStop);
  Reap(100, ExitedWith(0));
  Reap(300, KilledBy(SIGKILL));
  Build();
  EXPECT_EQ(Value("vigil_stop_hooks_total", {{"hook", "h"}, {"result", "failure"}}), 1);
  EXPECT_EQ(Total("vigil_stop_hooks_total"), 1);
}

TEST_F(MetricsBuilderTest, NoHooksNoHookSeries) {
  Start();
  Build();
  ASSERT_NE(Family("vigil_stop_hooks_total"), nullptr);
  EXPECT_THAT(Series("vigil_stop_hooks_total"), IsEmpty());
}

// ---------------------------------------------------------------------------------------------
// Signals and reaping
// ---------------------------------------------------------------------------------------------

TEST_F(MetricsBuilderTest, SignalsReceivedOnlyThoseThatCame) {
  Start();
  Build();
  EXPECT_THAT(Series("vigil_signals_received_total"), IsEmpty());
  Signal(SIGHUP);
  Signal(SIGHUP);
  Signal(SIGUSR1);
  Reap(100, ExitedWith(1));  // One SIGCHLD.
  Build();
  EXPECT_THAT(Series("vigil_signals_received_total"),
              UnorderedElementsAreArray(std::vector<LabelSet>{
                  {{"signal", "SIGHUP"}}, {{"signal", "SIGUSR1"}}, {{"signal", "SIGCHLD"}}}));
  EXPECT_EQ(Value("vigil_signals_received_total", {{"signal", "SIGHUP"}}), 2);
  EXPECT_EQ(Value("vigil_signals_received_total", {{"signal", "SIGUSR1"}}), 1);
  EXPECT_EQ(Value("vigil_signals_received_total", {{"signal", "SIGCHLD"}}), 1);
}

TEST_F(MetricsBuilderTest, ARealtimeSignalIsCountedUnderItsName) {
  Start();
  Signal(SIGRTMIN + 1);
  Build();
  ASSERT_EQ(Series("vigil_signals_received_total").size(), 1u);
  EXPECT_EQ(Value("vigil_signals_received_total", {{"signal", SignalName(SIGRTMIN + 1)}}), 1);
}

TEST_F(MetricsBuilderTest, ZombiesAndOrphansReaped) {
  Start();
  Build();
  EXPECT_EQ(Value("vigil_zombies_reaped_total"), 0);
  EXPECT_EQ(Value("vigil_orphans_reaped_total"), 0);
  os_.QueueReaped(555, ExitedWith(3));
  os_.QueueReaped(556, KilledBy(SIGSEGV));
  os_.QueueReaped(101, ExitedWith(0));
  sup().OnSignal(ReceivedSignal{SIGCHLD, 555, CLD_EXITED});
  Build();
  EXPECT_EQ(Value("vigil_zombies_reaped_total"), 3);
  EXPECT_EQ(Value("vigil_orphans_reaped_total"), 2);
}

TEST_F(MetricsBuilderTest, ControlRestartsAreWhatTheLinkCounted) {
  Start();
  Build(7);
  EXPECT_EQ(Value("vigil_control_restarts_total"), 7);
  Build(0);
  EXPECT_EQ(Value("vigil_control_restarts_total"), 0);
}

TEST_F(MetricsBuilderTest, DroppedOutputLinesByStream) {
  Start();
  Build();
  EXPECT_EQ(Value("vigil_output_dropped_lines_total", {{"stream", "stdout"}}), 0);
  EXPECT_EQ(Value("vigil_output_dropped_lines_total", {{"stream", "stderr"}}), 0);
  CoreProcessCounts process;
  process.output_dropped_stdout = 12;
  process.output_dropped_stderr = 3;
  Build(process);
  EXPECT_EQ(Value("vigil_output_dropped_lines_total", {{"stream", "stdout"}}), 12);
  EXPECT_EQ(Value("vigil_output_dropped_lines_total", {{"stream", "stderr"}}), 3);
}

TEST_F(MetricsBuilderTest, ControlEventsDroppedAreWhatTheLinkCounted) {
  Start();
  Build(0, 12);
  EXPECT_EQ(Value("vigil_control_events_dropped_total"), 12);
}

// ---------------------------------------------------------------------------------------------
// Notify
// ---------------------------------------------------------------------------------------------

TEST_F(MetricsBuilderTest, NotifySeriesAreEmittedAtZeroForEveryKeyAndCause) {
  Start();
  Build();
  std::vector<LabelSet> keys, causes;
  for (const char* pool : {"a", "b"}) {
    for (const char* key :
         {"READY", "RELOADING", "STOPPING", "STATUS", "WATCHDOG", "EXTEND_TIMEOUT_USEC", "MAINPID",
          "ERRNO", "EXIT_STATUS", "X_VIGIL_STOP", "other"})
      keys.push_back({{"pool", pool}, {"key", key}});
    for (const char* cause :
         {"oversized", "empty", "not_text", "malformed", "sender_gone", "sender_outside_namespace",
          "sender_not_in_group", "no_credentials", "fd_passed", "main_pid_refused"})
      causes.push_back({{"pool", pool}, {"cause", cause}});
  }
  EXPECT_EQ(Series("vigil_notify_messages_total"), keys);
  EXPECT_EQ(Series("vigil_notify_rejected_total"), causes);
  EXPECT_EQ(Total("vigil_notify_messages_total"), 0);
  EXPECT_EQ(Total("vigil_notify_rejected_total"), 0);
}

TEST_F(MetricsBuilderTest, NotifyKeysOfAcceptedDatagramsAreCounted) {
  config_.pools[0].readiness.mode = ReadinessMode::kNotify;
  Start();
  Send("a", 0, "READY=1\nSTATUS=serving\nFOO=1\nX_CUSTOM=2\n", 100);
  Send("a", 0, "WATCHDOG=1", 100);
  Send("a", 0, "WATCHDOG=trigger", 100);
  Build();
  EXPECT_EQ(Value("vigil_notify_messages_total", {{"pool", "a"}, {"key", "READY"}}), 1);
  EXPECT_EQ(Value("vigil_notify_messages_total", {{"pool", "a"}, {"key", "STATUS"}}), 1);
  EXPECT_EQ(Value("vigil_notify_messages_total", {{"pool", "a"}, {"key", "other"}}), 2);
  EXPECT_EQ(Value("vigil_notify_messages_total", {{"pool", "a"}, {"key", "WATCHDOG"}}), 2);
  EXPECT_EQ(Total("vigil_notify_messages_total", {{"pool", "a"}}), 6);
  EXPECT_EQ(Total("vigil_notify_messages_total", {{"pool", "b"}}), 0);
  EXPECT_EQ(Total("vigil_notify_rejected_total"), 0);
}

TEST_F(MetricsBuilderTest, RejectedDatagramsAreCountedByCauseAndTheirKeysAreNot) {
  config_.pools[0].readiness.mode = ReadinessMode::kNotify;
  Start();
  Send("a", 0, "", 100);
  Send("a", 0, std::string("READY=1\n\x01", 9), 100);
  Send("a", 0, "READY=1\nno-equals-sign", 100);
  Send("a", 0, "READY=2", 100);
  Send("a", 0, "READY=1", 0);  // From outside the PID namespace.
  os_.process_groups[777] = 777;
  Send("a", 0, "READY=1", 777);  // Another process group's.
  os_.process_groups.clear();
  {
    const int fd = notify_.LastFdWithLabel("a/0");
    notify_.Queue(fd, "READY=1", 100, /*truncated=*/true);
    ASSERT_TRUE(watcher_.Fire(fd));
  }
  Build();
  EXPECT_EQ(Value("vigil_notify_rejected_total", {{"pool", "a"}, {"cause", "empty"}}), 1);
  EXPECT_EQ(Value("vigil_notify_rejected_total", {{"pool", "a"}, {"cause", "not_text"}}), 1);
  EXPECT_EQ(Value("vigil_notify_rejected_total", {{"pool", "a"}, {"cause", "malformed"}}), 2);
  EXPECT_EQ(
      Value("vigil_notify_rejected_total", {{"pool", "a"}, {"cause", "sender_outside_namespace"}}),
      1);
  EXPECT_EQ(Value("vigil_notify_rejected_total", {{"pool", "a"}, {"cause", "sender_not_in_group"}}),
            1);
  EXPECT_EQ(Value("vigil_notify_rejected_total", {{"pool", "a"}, {"cause", "oversized"}}), 1);
  EXPECT_EQ(Total("vigil_notify_rejected_total", {{"pool", "b"}}), 0);
  EXPECT_EQ(Total("vigil_notify_messages_total"), 0);
  EXPECT_FALSE(sup().pools()[0]->ready());
}

TEST_F(MetricsBuilderTest, AMainPidOfAnotherWorkerRejectsTheDatagramWhole) {
  config_.pools[0].readiness.mode = ReadinessMode::kNotify;
  Start();
  os_.process_groups[101] = 101;
  Send("a", 0, "MAINPID=101\nREADY=1", 100);  // Pool b's worker.
  Build();
  EXPECT_EQ(Value("vigil_notify_rejected_total", {{"pool", "a"}, {"cause", "main_pid_refused"}}),
            1);
  EXPECT_EQ(Total("vigil_notify_messages_total"), 0);
}

// ---------------------------------------------------------------------------------------------
// The wire format of histograms
// ---------------------------------------------------------------------------------------------

TEST_F(MetricsBuilderTest, HistogramBucketsAreCumulativeAndNeverAboveTheCount) {
  config_.pools[0].readiness.mode = ReadinessMode::kNotify;
  config_.pools[0].backoff.initial = 0s;
  Start();
  // Boots of 0.003, 0.04, 0.04, 7 and 500 seconds.
  const std::vector<Duration> boots = {3ms, 40ms, 40ms, 7s, 500s};
  pid_t pid = 100;
  for (size_t i = 0; i < boots.size(); ++i) {
    clock_.Advance(boots[i]);
    Send("a", 0, "READY=1", pid);
    if (i + 1 == boots.size()) break;
    Reap(pid, ExitedWith(0));
    scheduler_.RunDue();  // Restarted at once (no backoff), with a new pid.
    ASSERT_EQ(os_.spawn_requests.size(), 3 + i);
    pid = pid == 100 ? 102 : pid + 1;
  }
  Build();
  const Metric* m = Find("vigil_worker_boot_duration_seconds", {{"pool", "a"}});
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->count(), 5u);
  EXPECT_THAT(Buckets(*m), ElementsAre(1, 1, 1, 3, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4));
  EXPECT_EQ(m->bucket_bounds_size(), m->bucket_counts_size());
  for (int i = 1; i < m->bucket_counts_size(); ++i)
    EXPECT_LE(m->bucket_counts(i - 1), m->bucket_counts(i));
  EXPECT_LE(m->bucket_counts(m->bucket_counts_size() - 1), m->count());
}

}  // namespace
}  // namespace vigil
