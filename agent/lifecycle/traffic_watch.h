// TrafficWatch: the sampling half of `drain.propagation_delay: auto` (docs/drain.md). While a
// drain is propagating (readiness off, no stop signal yet) it samples the TCP connections to the
// workers' ports every kTrafficSampleInterval through a TcpTable (sys/tcp_table.h) and tells its
// owner once they have gone quiet (QuietTracker decides).
//
// - The ports: those listed in the pools' `ports:`, plus the ports the workers' processes (and
//   their process groups) listen on when the watch starts. Finding those reads /proc, which is
//   as big as the pool, so the search goes a slice of the loop's turn at a time (kTurnSlice,
//   sys/tcp_table.h): at 10,000 workers the loop goes on serving signals, exits, heartbeats and
//   the control plane while it runs. The watch proper (the baseline, the samples) starts once
//   the ports are known: until then nothing could be seen, which counts as traffic then.
// - No port at all: over with kNoListener at start + min_delay (at once, told by Start()'s
//   result, when min_delay is 0 and the search took one turn: a pool without listeners drains
//   exactly as without a delay).
// - No table, or the listening ports could not be read and none is listed: the watch cannot
//   tell, so it never calls back (`problem()` says why, and it logs `propagation_unwatched`)
//   and the drain's propagation timer (max_delay) ends the delay: never sooner than it is safe.
// - A connection is new when its kernel cookie was not in the previous sample; the first sample,
//   taken once the ports are known, is the baseline.
//
// Runs only between Start() and Stop() (or the callback): idle, it arms no timer (zero wake-ups).
// `on_over` is called from a timer or the next turn's work, never from Start(). Single-threaded
// (the loop's).
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/base/clock.h"
#include "agent/config/config.h"
#include "agent/event/scheduler.h"
#include "agent/event/timer.h"
#include "agent/lifecycle/quiet_tracker.h"
#include "agent/sys/tcp_table.h"

namespace vigil {

inline constexpr Duration kTrafficSampleInterval = std::chrono::milliseconds(50);
// Reads of /proc a step of the search for the listening ports (ListenerSearch's unit: a
// process's stat, its fd directory, one fd link); a turn of the loop takes steps while its slice
// (kTurnSlice) lasts, one at least.
inline constexpr size_t kListenerReadsPerStep = 32;

class TrafficWatch {
 public:
  // `table` may be null (nothing can be watched) and must outlive the watch.
  TrafficWatch(const DrainConfig& config, Scheduler& scheduler, const Clock& clock,
               TcpTable* table);

  // Starts watching `ports` and the ports `pids` listen on. Restarts a watch in progress.
  // Returns kNoListener when there is no port to watch and no min_delay to wait, known at once
  // (the search took one turn): the caller ends the delay in the same event (as if there were
  // none), and `on_over` is never called; otherwise nullopt.
  std::optional<PropagationEnd> Start(const std::vector<int>& ports, const std::vector<pid_t>& pids,
                                      std::function<void(PropagationEnd)> on_over);
  void Stop();

  bool watching() const { return watching_; }
  // The listening ports are still being searched for.
  bool searching() const { return search_ != nullptr; }
  const std::vector<int>& ports() const { return ports_; }
  uint64_t connections() const { return tracker_ ? tracker_->connections() : 0; }
  // Why the ports could not be watched, or empty.
  const std::string& problem() const { return problem_; }
  // Samples that failed (each counted as traffic).
  uint64_t failed_samples() const { return failed_samples_; }

 private:
  // One turn of the search; the next turn, or Watch() once it is over.
  void Search();
  // Steps of the search while the turn's slice lasts; true once it is over.
  bool StepSearch();
  // The ports are known: decides whether to watch them, and takes the baseline.
  std::optional<PropagationEnd> Watch();
  void Tick();
  void LogUnwatched() const;
  // The cookies of the connections to ports_ now, sorted, and how many are open; nullopt when
  // the table failed (problem_ says why).
  std::optional<std::vector<uint64_t>> Read(uint64_t* open);

  DrainConfig config_;
  const Clock& clock_;
  TcpTable* table_;
  Timer timer_;
  bool watching_ = false;
  std::function<void(PropagationEnd)> on_over_;
  MonoTime start_{};
  std::unique_ptr<ListenerSearch> search_;
  std::vector<int> ports_;
  std::vector<uint64_t> seen_;  // the previous sample's cookies, sorted
  std::optional<QuietTracker> tracker_;
  std::string problem_;
  uint64_t failed_samples_ = 0;
};

}  // namespace vigil
