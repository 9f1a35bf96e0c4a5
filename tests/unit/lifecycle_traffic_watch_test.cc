// QuietTracker and TrafficWatch: when `propagation_delay: auto` ends, on a fake clock and a
// fake socket table.
#include "agent/lifecycle/traffic_watch.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/tcp.h>

#include <optional>

#include "tests/fakes/fake_clock.h"
#include "tests/fakes/fake_scheduler.h"
#include "tests/fakes/fake_tcp_table.h"

namespace vigil {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::vigil::testing::FakeClock;
using ::vigil::testing::FakeScheduler;
using ::vigil::testing::FakeTcpTable;

constexpr MonoTime kT0 = FakeClock::kStart;

TEST(QuietTrackerTest, OverOnceNoNewConnectionForTheQuietPeriod) {
  DrainConfig config;  // quiet 1s
  QuietTracker t(config, kT0);
  EXPECT_FALSE(t.Sample(kT0 + 500ms, 3, 0));
  EXPECT_FALSE(t.Sample(kT0 + 1s, 0, 0));
  EXPECT_FALSE(t.Sample(kT0 + 1400ms, 0, 0));  // 900ms since the last connection.
  EXPECT_TRUE(t.Sample(kT0 + 1500ms, 0, 0));   // 1s.
  EXPECT_EQ(t.connections(), 3u);
}

TEST(QuietTrackerTest, QuietFromTheStartWhenNothingArrives) {
  DrainConfig config;
  QuietTracker t(config, kT0);
  EXPECT_FALSE(t.Sample(kT0 + 900ms, 0, 5));  // Open connections do not matter by default.
  EXPECT_TRUE(t.Sample(kT0 + 1s, 0, 5));
}

TEST(QuietTrackerTest, AFailedSampleCountsAsTraffic) {
  DrainConfig config;
  QuietTracker t(config, kT0);
  EXPECT_FALSE(t.Sample(kT0 + 900ms, std::nullopt, 0));
  EXPECT_FALSE(t.Sample(kT0 + 1500ms, 0, 0));
  EXPECT_TRUE(t.Sample(kT0 + 1900ms, 0, 0));
}

TEST(QuietTrackerTest, MinDelayAndHoldConnections) {
  DrainConfig config;
  config.min_delay = 3s;
  config.hold_connections = true;
  QuietTracker t(config, kT0);
  EXPECT_FALSE(t.Sample(kT0 + 2s, 0, 0));  // Quiet, but before min_delay.
  EXPECT_FALSE(t.Sample(kT0 + 3s, 0, 2));  // Two connections still open.
  EXPECT_TRUE(t.Sample(kT0 + 3100ms, 0, 0));
}

class TrafficWatchTest : public ::testing::Test {
 protected:
  TrafficWatch& watch() {
    if (!watch_) watch_.emplace(config_, scheduler_, clock_, &tcp_);
    return *watch_;
  }
  void Start(std::vector<int> ports, std::vector<pid_t> pids) {
    watch().Start(ports, pids, [this](PropagationEnd end) {
      ends_.push_back(end);
      ended_at_ = clock_.Now();
    });
  }

  // Each step of the search takes the turn's whole slice: one step a turn.
  void TakeASliceEachStep() {
    tcp_.step_clock = &clock_;
    tcp_.step_takes = kTurnSlice;
  }

  DrainConfig config_;
  FakeClock clock_;
  FakeScheduler scheduler_{clock_};
  FakeTcpTable tcp_;
  std::optional<TrafficWatch> watch_;
  std::vector<PropagationEnd> ends_;
  MonoTime ended_at_{};
};

TEST_F(TrafficWatchTest, WatchesTheListedAndDiscoveredPortsUntilQuiet) {
  tcp_.listening[100] = {8000};
  tcp_.listening[101] = {8000, 8443};
  tcp_.Connect(8000);  // Before readiness went off: the baseline, not new.
  tcp_.Connect(9999);  // Another port: never counted.
  Start({7000}, {100, 101});
  EXPECT_THAT(watch().ports(), ElementsAre(7000, 8000, 8443));
  EXPECT_THAT(tcp_.asked_ports, ElementsAre(7000, 8000, 8443));
  for (int i = 0; i < 15; ++i) {  // Traffic for 1.5s: a connection every 100ms.
    tcp_.Connect(i % 2 == 0 ? 8000 : 8443);
    scheduler_.AdvanceBy(100ms);
  }
  EXPECT_TRUE(ends_.empty());
  EXPECT_EQ(watch().connections(), 15u);
  scheduler_.AdvanceBy(2s);
  EXPECT_THAT(ends_, ElementsAre(PropagationEnd::kQuiet));
  EXPECT_EQ(ended_at_, kT0 + 2450ms);  // The last one (made at +1.4s) seen at +1.45s, then 1s.
  EXPECT_FALSE(watch().watching());
  const int calls = tcp_.connection_calls;
  scheduler_.AdvanceBy(10s);
  EXPECT_EQ(tcp_.connection_calls, calls);  // Nothing sampled once over.
}

TEST_F(TrafficWatchTest, NoListenerEndsAtMinDelay) {
  config_.min_delay = 2s;
  Start({}, {100});
  scheduler_.AdvanceBy(1900ms);
  EXPECT_TRUE(ends_.empty());
  scheduler_.AdvanceBy(100ms);
  EXPECT_THAT(ends_, ElementsAre(PropagationEnd::kNoListener));
  EXPECT_EQ(tcp_.connection_calls, 0);
}

TEST_F(TrafficWatchTest, NoListenerWithNoMinDelayIsOverAtOnceByStartsResult) {
  EXPECT_EQ(watch().Start({}, {100}, [this](PropagationEnd end) { ends_.push_back(end); }),
            PropagationEnd::kNoListener);
  EXPECT_FALSE(watch().watching());
  scheduler_.AdvanceBy(1s);
  EXPECT_TRUE(ends_.empty());  // Never called back as well.
  EXPECT_EQ(scheduler_.pending(), 0u);
}

TEST_F(TrafficWatchTest, UnreadableListenersAndNoListedPortNeverEndIt) {
  tcp_.listening_error = Status::Error("proc unreadable");
  Start({}, {100});
  EXPECT_THAT(watch().problem(), ::testing::HasSubstr("proc unreadable"));
  scheduler_.AdvanceBy(60s);
  EXPECT_TRUE(ends_.empty());  // The drain's max_delay timer ends it: never sooner than safe.
}

TEST_F(TrafficWatchTest, FailedSamplesCountAsTraffic) {
  tcp_.listening[100] = {8000};
  Start({}, {100});
  tcp_.connections_error = Status::Error("dump incomplete");
  scheduler_.AdvanceBy(3s);
  EXPECT_TRUE(ends_.empty());
  EXPECT_GT(watch().failed_samples(), 20u);
  tcp_.connections_error = Status();
  scheduler_.AdvanceBy(1100ms);
  EXPECT_THAT(ends_, ElementsAre(PropagationEnd::kQuiet));
}

TEST_F(TrafficWatchTest, HoldConnectionsWaitsForOpenConnectionsToClose) {
  config_.hold_connections = true;
  tcp_.listening[100] = {8000};
  tcp_.Connect(8000);  // A keep-alive connection from before.
  Start({}, {100});
  scheduler_.AdvanceBy(3s);
  EXPECT_TRUE(ends_.empty());
  tcp_.CloseAll();
  scheduler_.AdvanceBy(100ms);
  EXPECT_THAT(ends_, ElementsAre(PropagationEnd::kQuiet));
}

TEST_F(TrafficWatchTest, StopCancelsTheSampling) {
  tcp_.listening[100] = {8000};
  Start({}, {100});
  watch().Stop();
  const int calls = tcp_.connection_calls;
  scheduler_.AdvanceBy(5s);
  EXPECT_EQ(tcp_.connection_calls, calls);
  EXPECT_TRUE(ends_.empty());
}

TEST_F(TrafficWatchTest, NoTableNeverEndsIt) {
  watch_.emplace(config_, scheduler_, clock_, nullptr);
  Start({8000}, {100});
  EXPECT_FALSE(watch().problem().empty());
  scheduler_.AdvanceBy(60s);
  EXPECT_TRUE(ends_.empty());
}

TEST_F(TrafficWatchTest, TheSearchGoesATurnAtATimeAndTheQuietPeriodCountsFromItsEnd) {
  TakeASliceEachStep();
  tcp_.search_steps = 4;
  tcp_.listening[100] = {8000};
  EXPECT_EQ(watch().Start({}, {100},
                          [this](PropagationEnd end) {
                            ends_.push_back(end);
                            ended_at_ = clock_.Now();
                          }),
            std::nullopt);
  EXPECT_TRUE(watch().searching());
  EXPECT_EQ(tcp_.steps_taken, 1);
  EXPECT_EQ(tcp_.connection_calls, 0);  // No baseline before the ports are known.
  for (int turn = 2; turn <= 4; ++turn) {
    clock_.Advance(300ms);                // a busy loop: each turn comes late
    EXPECT_TRUE(scheduler_.RunOneDue());  // one step a turn: the rest of the loop goes on
    EXPECT_EQ(tcp_.steps_taken, turn);
  }
  EXPECT_FALSE(watch().searching());
  EXPECT_THAT(watch().ports(), ElementsAre(8000));
  EXPECT_EQ(tcp_.connection_calls, 1);  // The baseline, at +980ms (3 x 300ms, 4 x 20ms).
  // Nothing could be seen until +980ms: quiet from there, not from the start.
  scheduler_.AdvanceTo(kT0 + 1900ms);
  EXPECT_TRUE(ends_.empty());
  scheduler_.AdvanceTo(kT0 + 2100ms);
  EXPECT_THAT(ends_, ElementsAre(PropagationEnd::kQuiet));
  EXPECT_EQ(ended_at_, kT0 + 1980ms);
}

TEST_F(TrafficWatchTest, ASearchThatFitsInTheSliceIsOverAtStart) {
  tcp_.search_steps = 5;  // quick steps: all within the first turn's slice
  EXPECT_EQ(watch().Start({}, {100}, [this](PropagationEnd end) { ends_.push_back(end); }),
            PropagationEnd::kNoListener);
  EXPECT_EQ(tcp_.steps_taken, 5);
  EXPECT_EQ(scheduler_.pending(), 0u);
}

TEST_F(TrafficWatchTest, NoListenerFoundAfterSeveralTurnsEndsFromTheLastTurn) {
  TakeASliceEachStep();
  tcp_.search_steps = 3;
  EXPECT_EQ(watch().Start({}, {100}, [this](PropagationEnd end) { ends_.push_back(end); }),
            std::nullopt);
  EXPECT_TRUE(scheduler_.RunOneDue());
  EXPECT_TRUE(ends_.empty());
  EXPECT_TRUE(scheduler_.RunOneDue());
  EXPECT_THAT(ends_, ElementsAre(PropagationEnd::kNoListener));
  EXPECT_FALSE(watch().watching());
  EXPECT_EQ(scheduler_.pending(), 0u);
}

TEST_F(TrafficWatchTest, ASearchThatFailsLateNeverEndsIt) {
  TakeASliceEachStep();
  tcp_.search_steps = 3;
  tcp_.listening_error = Status::Error("proc unreadable");
  Start({}, {100});
  EXPECT_TRUE(watch().problem().empty());
  scheduler_.AdvanceBy(60s);
  EXPECT_THAT(watch().problem(), ::testing::HasSubstr("proc unreadable"));
  EXPECT_TRUE(ends_.empty());
  EXPECT_EQ(tcp_.connection_calls, 0);
}

TEST_F(TrafficWatchTest, StopDuringTheSearchEndsIt) {
  TakeASliceEachStep();
  tcp_.search_steps = 5;
  tcp_.listening[100] = {8000};
  Start({}, {100});
  watch().Stop();
  EXPECT_FALSE(watch().searching());
  scheduler_.AdvanceBy(5s);
  EXPECT_EQ(tcp_.steps_taken, 1);
  EXPECT_EQ(tcp_.connection_calls, 0);
  EXPECT_TRUE(ends_.empty());
}

TEST_F(TrafficWatchTest, ARestartDropsTheSearchInProgress) {
  TakeASliceEachStep();
  tcp_.search_steps = 3;
  tcp_.listening[100] = {8000};
  tcp_.listening[200] = {9000};
  Start({}, {100});
  scheduler_.RunOneDue();
  Start({}, {200});  // a new drain's watch: starts its own search
  scheduler_.AdvanceBy(200ms);
  EXPECT_THAT(watch().ports(), ElementsAre(9000));
  EXPECT_EQ(tcp_.steps_taken, 2 + 3);
}

}  // namespace
}  // namespace vigil
