// Snapshots from the core (ipc.proto) for the control plane's tests.
#pragma once

#include <string>

#include "vigil/internal/v1/ipc.pb.h"

namespace vigil::control {

// A whole snapshot (one part) of a ready agent with one ready pool `name` of `workers` ready
// workers, slot i with pid first_pid + i and `status_text` as its last STATUS=.
inline internal::v1::Snapshot OnePoolSnapshot(const std::string& name, int workers, int first_pid,
                                              const std::string& status_text = "") {
  internal::v1::Snapshot s;
  s.set_first(true);
  s.set_last(true);
  s.set_phase(internal::v1::PHASE_READY);
  s.set_ready(true);
  auto* pool = s.add_pools();
  pool->set_name(name);
  pool->set_desired(workers);
  pool->set_ready(workers);
  pool->set_pool_ready(true);
  pool->set_slots(workers);
  for (int slot = 0; slot < workers; ++slot) {
    auto* w = pool->add_workers();
    w->set_slot(slot);
    w->set_pid(first_pid + slot);
    w->set_state(internal::v1::WORKER_STATE_READY);
    w->set_status_text(status_text);
  }
  return s;
}

}  // namespace vigil::control
