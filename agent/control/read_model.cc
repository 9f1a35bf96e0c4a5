#include "agent/control/read_model.h"

#include <vector>

#include "agent/control/limits.h"
#include "agent/control/public_enums.h"
#include "agent/control/utf8.h"

namespace vigil::control {

void ToPublic(const internal::v1::WorkerInfo& in, v1::Worker* out) {
  out->set_slot(in.slot());
  out->set_pid(in.pid());
  out->set_state(ToPublic(in.state()));
  out->set_since_unix_ms(in.since_unix_ms());
  out->set_restarts(in.restarts());
  out->set_status_text(PublicText(in.status_text()));
  if (in.has_last_exit()) {
    auto* e = out->mutable_last_exit();
    e->set_reason(PublicText(in.last_exit().reason()));
    e->set_code(in.last_exit().code());
    e->set_signal(in.last_exit().signal());
    e->set_graceful(in.last_exit().graceful());
    e->set_before_ready(in.last_exit().before_ready());
  } else {
    out->clear_last_exit();
  }
}

namespace {

// No pool has more slots than the largest pool the config accepts (kMaxReplicas): an event
// naming a slot outside 0..kMaxSlots-1 changes nothing, rather than write outside the pool's
// workers or grow them without bound.
constexpr int kMaxSlots = limits::kMaxReplicas;

// The pool's counts and flags (not its workers), from the core's PoolInfo or a public Pool.
template <typename PoolCounts>
void ApplyCounts(const PoolCounts& in, v1::Pool* out) {
  out->set_desired(in.desired());
  out->set_ready(in.ready());
  out->set_starting(in.starting());
  out->set_backoff(in.backoff());
  out->set_failed(in.failed());
  out->set_pool_ready(in.pool_ready());
}

}  // namespace

void ToPublic(const internal::v1::PoolInfo& in, v1::Pool* out) {
  out->set_name(PublicText(in.name()));
  ApplyCounts(in, out);
  out->clear_workers();
  for (const auto& w : in.workers())
    ToPublic(w, out->add_workers());
}

void ToPublic(const internal::v1::DrainInfo& in, v1::DrainProgress* out) {
  out->set_trigger(TriggerName(in.trigger()));
  out->set_started_unix_ms(in.started_unix_ms());
  out->set_deadline_unix_ms(in.deadline_unix_ms());
  out->set_workers_remaining(in.workers_remaining());
  out->set_complete(in.complete());
  out->set_graceful(in.graceful());
  out->clear_stragglers();
  for (const auto& s : in.stragglers())
    out->add_stragglers(PublicText(s));
  out->set_stragglers_total(in.stragglers_total());
}

namespace {

// Recomputes a pool's counts from its workers (events carry workers, not counts).
void Recount(v1::Pool* pool) {
  int ready = 0, starting = 0, backoff = 0;
  for (const auto& w : pool->workers()) {
    ready += w.state() == v1::WORKER_STATE_READY;
    starting += w.state() == v1::WORKER_STATE_STARTING;
    backoff += w.state() == v1::WORKER_STATE_BACKOFF;
  }
  pool->set_ready(ready);
  pool->set_starting(starting);
  pool->set_backoff(backoff);
}

}  // namespace

namespace {

v1::Pool* FindPool(v1::AgentStatus* status, const std::string& name) {
  // From the back: a snapshot's next part goes on with the pool its last part ended with.
  for (int i = status->pools_size() - 1; i >= 0; --i) {
    if (status->pools(i).name() == name) return status->mutable_pools(i);
  }
  return nullptr;
}

// Puts `worker` in its slot of `pool` (slots are dense, 0..n-1: grown as needed).
void PlaceWorker(const v1::Worker& worker, v1::Pool* pool) {
  if (worker.slot() < 0 || worker.slot() >= kMaxSlots) return;  // No pool has such a slot.
  while (pool->workers_size() <= worker.slot())
    pool->add_workers()->set_slot(pool->workers_size() - 1);
  *pool->mutable_workers(worker.slot()) = worker;
}

void TrimToSlots(int slots, v1::Pool* pool) {
  while (pool->workers_size() > std::max(slots, 0))
    pool->mutable_workers()->RemoveLast();
}

// One internal event applied to a picture of the agent; `event` is its public form.
void ApplyTo(const internal::v1::Event& in, const v1::Event& event, v1::AgentStatus* status) {
  if (in.kind() == internal::v1::Event::POOL && in.has_pool_info()) {
    if (v1::Pool* pool = FindPool(status, event.pool())) {
      ApplyCounts(in.pool_info(), pool);
      TrimToSlots(in.pool_info().slots(), pool);
    }
  }
  if (in.has_worker()) {
    if (v1::Pool* pool = FindPool(status, event.pool())) {
      PlaceWorker(event.worker(), pool);
      if (in.has_pool_info()) {
        ApplyCounts(in.pool_info(), pool);
      } else {
        Recount(pool);
      }
    }
  }
  if (event.kind() == v1::Event::READINESS || event.kind() == v1::Event::DRAIN) {
    status->set_phase(ToPublic(in.phase()));
    status->set_ready(in.ready());
    if (in.has_drain()) *status->mutable_drain() = event.drain();
  }
}

size_t WorkerBytes(const v1::Worker& w) {
  return w.ByteSizeLong() + 8;  // + its tag and length
}

}  // namespace

std::string PageToken(const PageStart& start) {
  return std::to_string(start.pool) + "/" + std::to_string(start.slot);
}

std::optional<PageStart> ParsePageToken(const std::string& token) {
  if (token.empty()) return PageStart{};
  const size_t slash = token.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == token.size() || token.size() > 24) {
    return std::nullopt;
  }
  PageStart start;
  auto number = [](const std::string& s, int* out) {
    if (s.empty() || s.size() > 9) return false;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
    }
    *out = std::stoi(s);
    return true;
  };
  if (!number(token.substr(0, slash), &start.pool) ||
      !number(token.substr(slash + 1), &start.slot)) {
    return std::nullopt;
  }
  return start;
}

std::optional<PageStart> CopyPage(const v1::AgentStatus& status, const PageStart& start,
                                  size_t budget, v1::AgentStatus* out) {
  out->Clear();
  out->set_phase(status.phase());
  out->set_ready(status.ready());
  if (status.has_drain()) *out->mutable_drain() = status.drain();
  size_t bytes = 0;
  int slot = start.slot;
  for (int p = start.pool; p < status.pools_size(); ++p) {
    const v1::Pool& pool = status.pools(p);
    if (bytes >= budget) return PageStart{p, slot};
    v1::Pool* copy = out->add_pools();
    copy->set_name(pool.name());
    ApplyCounts(pool, copy);
    bytes += copy->ByteSizeLong();
    for (; slot < pool.workers_size(); ++slot) {
      if (bytes >= budget) return PageStart{p, slot};
      *copy->add_workers() = pool.workers(slot);
      bytes += WorkerBytes(pool.workers(slot));
    }
    slot = 0;
  }
  return std::nullopt;
}

void ReadModel::ApplySnapshot(const internal::v1::Snapshot& part) {
  v1::Event event;
  v1::Event drain;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (part.first() || !building_) {
      building_ = true;
      pending_.Clear();
      pending_.set_phase(ToPublic(part.phase()));
      pending_.set_ready(part.ready());
      if (part.has_drain()) ToPublic(part.drain(), pending_.mutable_drain());
    }
    for (const internal::v1::PoolInfo& in : part.pools()) {
      const std::string name = PublicText(in.name());
      v1::Pool* pool = FindPool(&pending_, name);
      if (pool == nullptr) {
        pool = pending_.add_pools();
        pool->set_name(name);
      }
      ApplyCounts(in, pool);
      v1::Worker worker;
      for (const internal::v1::WorkerInfo& w : in.workers()) {
        ToPublic(w, &worker);
        PlaceWorker(worker, pool);
      }
      TrimToSlots(in.slots(), pool);
    }
    if (!part.last()) return;
    status_.Swap(&pending_);
    pages_.reset();
    pending_.Clear();
    building_ = false;
    connected_ = true;
    event.set_kind(v1::Event::SNAPSHOT);  // Without the status: listeners page it.
    if (status_.has_drain()) {
      // The events a fresh snapshot replaces may have held the drain's completion: drain
      // waiters get the drain's progress as a DRAIN event too.
      drain.set_kind(v1::Event::DRAIN);
      drain.set_ready(status_.ready());
      *drain.mutable_drain() = status_.drain();
    }
  }
  Publish(event);
  if (drain.kind() == v1::Event::DRAIN) Publish(drain);
}

void ReadModel::ApplyEvent(const internal::v1::Event& in) {
  v1::Event event;
  event.set_kind(ToPublic(in.kind()));
  event.set_time_unix_ms(in.time_unix_ms());
  event.set_pool(PublicText(in.pool()));
  event.set_slot(in.slot());
  if (in.has_worker()) ToPublic(in.worker(), event.mutable_worker());
  if (event.kind() == v1::Event::READINESS || event.kind() == v1::Event::DRAIN) {
    event.set_ready(in.ready());
    if (in.has_drain()) ToPublic(in.drain(), event.mutable_drain());
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ApplyTo(in, event, &status_);
    pages_.reset();
    if (building_) ApplyTo(in, event, &pending_);
  }
  Publish(event);
}

v1::AgentStatus ReadModel::Status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

std::optional<PageStart> ReadModel::Page(const PageStart& start, size_t budget,
                                         v1::AgentStatus* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  return CopyPage(status_, start, budget, out);
}

namespace {

std::vector<v1::Event> PagesOf(const v1::AgentStatus& status, size_t budget) {
  std::vector<v1::Event> events;
  std::optional<PageStart> start = PageStart{};
  while (start) {
    v1::Event& e = events.emplace_back();
    e.set_kind(v1::Event::SNAPSHOT);
    start = CopyPage(status, *start, budget, e.mutable_status());
    e.set_more(start.has_value());
  }
  return events;
}

}  // namespace

std::vector<v1::Event> ReadModel::SnapshotEvents(size_t budget) const {
  std::lock_guard<std::mutex> lock(mu_);
  return PagesOf(status_, budget);
}

ReadModel::Pages ReadModel::SnapshotPages() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!pages_)
    pages_ = std::make_shared<const std::vector<v1::Event>>(PagesOf(status_, kPageBudget));
  return pages_;
}

bool ReadModel::PoolCounts(const std::string& name, v1::Pool* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const v1::Pool& pool : status_.pools()) {
    if (pool.name() != name) continue;
    out->Clear();
    out->set_name(pool.name());
    ApplyCounts(pool, out);
    return true;
  }
  return false;
}

bool ReadModel::connected() const {
  std::lock_guard<std::mutex> lock(mu_);
  return connected_;
}

bool ReadModel::current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return connected_ && !building_;
}

bool ReadModel::ready() const {
  std::lock_guard<std::mutex> lock(mu_);
  return connected_ && status_.ready();
}

bool ReadModel::DrainProgress(v1::DrainProgress* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!status_.has_drain()) return false;
  *out = status_.drain();
  return true;
}

int ReadModel::Subscribe(Listener listener, bool with_snapshot) {
  std::lock_guard<std::mutex> publishing(publish_mu_);  // No event slips in before the snapshot.
  int id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = next_id_++;
    listeners_.emplace(id, listener);
  }
  if (with_snapshot) {
    v1::Event snapshot;  // As for a fresh snapshot: the listener takes SnapshotPages().
    snapshot.set_kind(v1::Event::SNAPSHOT);
    listener(snapshot);
  }
  return id;
}

void ReadModel::Unsubscribe(int id) {
  std::lock_guard<std::mutex> lock(mu_);
  listeners_.erase(id);
}

void ReadModel::Publish(const v1::Event& event) {
  std::lock_guard<std::mutex> publishing(publish_mu_);
  std::vector<Listener> listeners;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, l] : listeners_)
      listeners.push_back(l);
  }
  for (const auto& l : listeners)
    l(event);
}

}  // namespace vigil::control
