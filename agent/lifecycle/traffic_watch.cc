#include "agent/lifecycle/traffic_watch.h"

#include <algorithm>
#include <utility>

#include "agent/base/duration.h"
#include "agent/log/log.h"

namespace vigil {

TrafficWatch::TrafficWatch(const DrainConfig& config, Scheduler& scheduler, const Clock& clock,
                           TcpTable* table)
    : config_(config), clock_(clock), table_(table), timer_(scheduler) {}

std::optional<PropagationEnd> TrafficWatch::Start(const std::vector<int>& ports,
                                                  const std::vector<pid_t>& pids,
                                                  std::function<void(PropagationEnd)> on_over) {
  Stop();
  start_ = clock_.Now();
  on_over_ = std::move(on_over);
  problem_.clear();
  failed_samples_ = 0;
  ports_ = ports;
  tracker_.emplace(config_, start_);
  watching_ = true;
  if (table_ == nullptr) {
    problem_ = "no socket table";
    LogUnwatched();
    return std::nullopt;  // Cannot tell: the drain's propagation timer ends it.
  }
  if (!pids.empty()) {
    search_ = table_->SearchListeningPorts(pids);
    if (!StepSearch()) {
      timer_.ArmNextTurn([this] { Search(); });  // what is ready runs first
      return std::nullopt;
    }
  }
  return Watch();
}

void TrafficWatch::Stop() {
  timer_.Cancel();
  search_.reset();
  watching_ = false;
}

bool TrafficWatch::StepSearch() {
  const TurnSlice slice(clock_, 1);
  for (int steps = 1;; ++steps) {
    if (search_->Step(kListenerReadsPerStep)) return true;
    if (slice.Over(steps)) return false;
  }
}

void TrafficWatch::Search() {
  if (!StepSearch()) {
    timer_.ArmNextTurn([this] { Search(); });
    return;
  }
  if (const std::optional<PropagationEnd> end = Watch()) {
    watching_ = false;
    on_over_(*end);
  }
}

std::optional<PropagationEnd> TrafficWatch::Watch() {
  const MonoTime now = clock_.Now();
  bool discovered = true;
  if (search_ != nullptr) {
    StatusOr<std::vector<int>> listening = search_->Result();
    search_.reset();
    if (listening.ok()) {
      ports_.insert(ports_.end(), listening->begin(), listening->end());
    } else {
      problem_ = "listening ports unknown: " + listening.status().message();
      discovered = false;
    }
  }
  std::sort(ports_.begin(), ports_.end());
  ports_.erase(std::unique(ports_.begin(), ports_.end()), ports_.end());
  if (ports_.empty()) {
    if (!discovered) {
      LogUnwatched();
      return std::nullopt;  // Cannot tell: the propagation timer ends it.
    }
    const MonoTime until = SaturatingAdd(start_, config_.min_delay);
    if (until <= now) {
      watching_ = false;
      return PropagationEnd::kNoListener;
    }
    timer_.ArmAt(until, [this] {
      watching_ = false;
      on_over_(PropagationEnd::kNoListener);
    });
    return std::nullopt;
  }
  // From readiness going off until now nothing could be seen: counted as traffic now.
  tracker_->Unseen(now);
  uint64_t open = 0;
  std::optional<std::vector<uint64_t>> baseline = Read(&open);
  seen_ = baseline ? std::move(*baseline) : std::vector<uint64_t>{};
  if (!problem_.empty()) LogUnwatched();
  timer_.ArmAt(SaturatingAdd(now, kTrafficSampleInterval), [this] { Tick(); });
  return std::nullopt;
}

void TrafficWatch::LogUnwatched() const {
  log::Event(log::Level::kWarn, "propagation_unwatched",
             "cannot watch the workers' ports: waiting for drain.max_delay", {{"error", problem_}});
}

void TrafficWatch::Tick() {
  const MonoTime now = clock_.Now();
  uint64_t open = 0;
  std::optional<uint64_t> fresh;
  if (std::optional<std::vector<uint64_t>> cookies = Read(&open)) {
    uint64_t n = 0;
    for (uint64_t cookie : *cookies) {
      if (!std::binary_search(seen_.begin(), seen_.end(), cookie)) ++n;
    }
    fresh = n;
    seen_ = std::move(*cookies);
  }
  if (tracker_->Sample(now, fresh, open)) {
    watching_ = false;
    on_over_(PropagationEnd::kQuiet);
    return;
  }
  timer_.ArmAt(SaturatingAdd(now, kTrafficSampleInterval), [this] { Tick(); });
}

std::optional<std::vector<uint64_t>> TrafficWatch::Read(uint64_t* open) {
  std::vector<TcpConnection> connections;
  if (Status s = table_->Connections(ports_, &connections); !s.ok()) {
    ++failed_samples_;
    problem_ = s.message();
    return std::nullopt;
  }
  std::vector<uint64_t> cookies;
  cookies.reserve(connections.size());
  *open = 0;
  for (const TcpConnection& c : connections) {
    cookies.push_back(c.cookie);
    if (c.open()) ++*open;
  }
  std::sort(cookies.begin(), cookies.end());
  return cookies;
}

}  // namespace vigil
