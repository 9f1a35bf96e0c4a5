#include "agent/lifecycle/traffic_watch.h"

#include <algorithm>
#include <utility>

#include "agent/base/duration.h"

namespace vigil {

TrafficWatch::TrafficWatch(const DrainConfig& config, Scheduler& scheduler, const Clock& clock,
                           TcpTable* table)
    : config_(config), clock_(clock), table_(table), timer_(scheduler) {}

void TrafficWatch::Start(const std::vector<int>& ports, const std::vector<pid_t>& pids,
                         std::function<void(PropagationEnd)> on_over) {
  Stop();
  const MonoTime now = clock_.Now();
  on_over_ = std::move(on_over);
  problem_.clear();
  failed_samples_ = 0;
  ports_ = ports;
  tracker_.emplace(config_, now);
  watching_ = true;
  if (table_ == nullptr) {
    problem_ = "no socket table";
    return;  // Cannot tell: the drain's propagation timer ends it.
  }
  bool discovered = true;
  if (!pids.empty()) {
    StatusOr<std::vector<int>> listening = table_->ListeningPorts(pids);
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
    if (!discovered) return;  // Cannot tell: the drain's propagation timer ends it.
    timer_.ArmAt(SaturatingAdd(now, config_.min_delay), [this] {
      watching_ = false;
      on_over_(PropagationEnd::kNoListener);
    });
    return;
  }
  uint64_t open = 0;
  std::optional<std::vector<uint64_t>> baseline = Read(&open);
  seen_ = baseline ? std::move(*baseline) : std::vector<uint64_t>{};
  timer_.ArmAt(SaturatingAdd(now, kTrafficSampleInterval), [this] { Tick(); });
}

void TrafficWatch::Stop() {
  timer_.Cancel();
  watching_ = false;
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
