#include "agent/ipc/status_builder.h"

#include "agent/ipc/wire_enums.h"
#include "agent/supervisor/exit_reason.h"

namespace vigil {

int64_t StatusBuilder::NowUnixMs() const {
  return clock_.WallUnixMs();
}

int64_t StatusBuilder::ToUnixMs(MonoTime t) const {
  const auto ago = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now() - t);
  return NowUnixMs() - ago.count();
}

internal::v1::Phase StatusBuilder::Phase() const {
  return ToWire(supervisor_.phase());
}

void StatusBuilder::FillWorker(const Pool& pool, int slot, internal::v1::WorkerInfo* out) const {
  const Worker& w = *pool.workers()[static_cast<size_t>(slot)];
  out->set_slot(slot);
  out->set_pid(w.running() ? pool.pid_of(slot) : 0);
  out->set_state(ToWire(w.state()));
  out->set_since_unix_ms(ToUnixMs(w.since()));
  out->set_restarts(w.restarts());
  out->set_status_text(w.status_text());
  if (const auto& last = w.last_exit()) {
    auto* e = out->mutable_last_exit();
    e->set_reason(ExitReasonName(last->reason));
    e->set_code(last->code);
    e->set_signal(last->signal);
    e->set_graceful(last->graceful);
    e->set_before_ready(last->before_ready);
  }
}

void StatusBuilder::FillPool(const Pool& pool, bool with_workers,
                             internal::v1::PoolInfo* out) const {
  out->set_name(pool.name());
  out->set_desired(pool.desired());
  out->set_ready(pool.ready_count());
  out->set_starting(pool.CountIn(WorkerState::kStarting));
  out->set_backoff(pool.CountIn(WorkerState::kBackoff));
  out->set_failed(pool.failed());
  out->set_pool_ready(pool.ready());
  out->set_slots(pool.slot_count());
  if (!with_workers) return;
  for (int slot = 0; slot < pool.slot_count(); ++slot)
    FillWorker(pool, slot, out->add_workers());
}

void StatusBuilder::FillDrain(internal::v1::DrainInfo* out) const {
  const DrainState& d = supervisor_.drain();
  out->set_trigger(ToWire(d.trigger));
  out->set_started_unix_ms(ToUnixMs(d.started_at));
  out->set_deadline_unix_ms(ToUnixMs(d.deadline));
  out->set_workers_remaining(supervisor_.WorkersRunning());
  out->set_complete(d.complete);
  bool graceful = d.complete;
  int stragglers = 0;
  for (const auto& pool : supervisor_.pools()) {
    for (int slot : pool->killed_at_deadline()) {
      graceful = false;
      if (++stragglers <= kMaxStragglerNames) {
        out->add_stragglers(pool->name() + "/" + std::to_string(slot));
      }
    }
  }
  out->set_stragglers_total(stragglers);
  out->set_graceful(graceful);
}

internal::v1::Snapshot StatusBuilder::Snapshot() const {
  internal::v1::Snapshot s;
  s.set_phase(Phase());
  s.set_ready(supervisor_.ready());
  for (const auto& pool : supervisor_.pools())
    FillPool(*pool, true, s.add_pools());
  if (supervisor_.drain().started) FillDrain(s.mutable_drain());
  s.set_first(true);
  s.set_last(true);
  return s;
}

}  // namespace vigil
