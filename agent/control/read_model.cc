#include "agent/control/read_model.h"

#include <vector>

namespace vigil::control {

void ToPublic(const internal::v1::WorkerInfo& in, v1::Worker* out) {
  out->set_slot(in.slot());
  out->set_pid(in.pid());
  out->set_state(static_cast<v1::WorkerState>(in.state()));
  out->set_since_unix_ms(in.since_unix_ms());
  out->set_restarts(in.restarts());
  out->set_status_text(in.status_text());
  if (in.has_last_exit()) {
    auto* e = out->mutable_last_exit();
    e->set_reason(in.last_exit().reason());
    e->set_code(in.last_exit().code());
    e->set_signal(in.last_exit().signal());
    e->set_graceful(in.last_exit().graceful());
    e->set_before_ready(in.last_exit().before_ready());
  } else {
    out->clear_last_exit();
  }
}

namespace {

// No pool has more slots than the largest pool the config accepts (replicas is at most 100000,
// agent/config/pool_options.cc): an event naming a slot outside 0..kMaxSlots-1 changes nothing,
// rather than write outside the pool's workers or grow them without bound.
constexpr int kMaxSlots = 100000;

// The pool's counts and flags (not its workers).
void ApplyPoolInfo(const internal::v1::PoolInfo& in, v1::Pool* out) {
  out->set_desired(in.desired());
  out->set_ready(in.ready());
  out->set_starting(in.starting());
  out->set_backoff(in.backoff());
  out->set_failed(in.failed());
  out->set_pool_ready(in.pool_ready());
}

}  // namespace

void ToPublic(const internal::v1::PoolInfo& in, v1::Pool* out) {
  out->set_name(in.name());
  ApplyPoolInfo(in, out);
  out->clear_workers();
  for (const auto& w : in.workers())
    ToPublic(w, out->add_workers());
}

void ToPublic(const internal::v1::DrainInfo& in, v1::DrainProgress* out) {
  out->set_trigger(in.trigger());
  out->set_started_unix_ms(in.started_unix_ms());
  out->set_deadline_unix_ms(in.deadline_unix_ms());
  out->set_workers_remaining(in.workers_remaining());
  out->set_complete(in.complete());
  out->set_graceful(in.graceful());
  out->clear_stragglers();
  for (const auto& s : in.stragglers())
    out->add_stragglers(s);
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

void ReadModel::ApplySnapshot(const internal::v1::Snapshot& snapshot) {
  v1::Event event;
  {
    std::lock_guard<std::mutex> lock(mu_);
    connected_ = true;
    status_.Clear();
    status_.set_phase(static_cast<v1::Phase>(snapshot.phase()));
    status_.set_ready(snapshot.ready());
    for (const auto& p : snapshot.pools())
      ToPublic(p, status_.add_pools());
    if (snapshot.has_drain()) ToPublic(snapshot.drain(), status_.mutable_drain());
    event.set_kind(v1::Event::SNAPSHOT);
    *event.mutable_status() = status_;
  }
  Publish(event);
}

void ReadModel::ApplyEvent(const internal::v1::Event& in) {
  v1::Event event;
  {
    std::lock_guard<std::mutex> lock(mu_);
    event.set_kind(static_cast<v1::Event::Kind>(in.kind()));
    event.set_time_unix_ms(in.time_unix_ms());
    event.set_pool(in.pool());
    event.set_slot(in.slot());
    if (in.kind() == v1::Event::POOL && in.has_pool_info()) {
      for (auto& pool : *status_.mutable_pools()) {
        if (pool.name() != in.pool()) continue;
        ApplyPoolInfo(in.pool_info(), &pool);
        while (pool.workers_size() > in.pool_info().slots())
          pool.mutable_workers()->RemoveLast();
      }
    }
    if (in.has_worker() && in.slot() >= 0 && in.slot() < kMaxSlots) {
      ToPublic(in.worker(), event.mutable_worker());
      for (auto& pool : *status_.mutable_pools()) {
        if (pool.name() != in.pool()) continue;
        // Slots are dense (0..n-1): grow to the slot reported, shrink to the pool's slot count.
        while (pool.workers_size() <= in.slot())
          pool.add_workers()->set_slot(pool.workers_size() - 1);
        *pool.mutable_workers(in.slot()) = event.worker();
        if (in.has_pool_info()) {
          ApplyPoolInfo(in.pool_info(), &pool);
        } else {
          Recount(&pool);
        }
      }
    }
    if (in.kind() == v1::Event::READINESS || in.kind() == v1::Event::DRAIN) {
      status_.set_phase(static_cast<v1::Phase>(in.phase()));
      status_.set_ready(in.ready());
      event.set_ready(in.ready());
      if (in.has_drain()) {
        ToPublic(in.drain(), status_.mutable_drain());
        *event.mutable_drain() = status_.drain();
      }
    }
  }
  Publish(event);
}

v1::AgentStatus ReadModel::Status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

bool ReadModel::connected() const {
  std::lock_guard<std::mutex> lock(mu_);
  return connected_;
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
  v1::Event snapshot;
  int id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = next_id_++;
    listeners_.emplace(id, listener);
    if (with_snapshot) {
      snapshot.set_kind(v1::Event::SNAPSHOT);
      *snapshot.mutable_status() = status_;
    }
  }
  if (with_snapshot) listener(snapshot);
  return id;
}

void ReadModel::Unsubscribe(int id) {
  std::lock_guard<std::mutex> lock(mu_);
  listeners_.erase(id);
}

void ReadModel::Publish(const v1::Event& event) {
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
