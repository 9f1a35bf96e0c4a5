// Checks shared by the tests that drive pools: the O(1) per-state counts (Pool::CountIn) and the
// running count built on them (Pool::running_count, the drain's progress) must equal a scan of
// the workers, whatever the test did.
#pragma once

#include <gtest/gtest.h>

#include "agent/supervisor/pool.h"

namespace vigil::testing {

inline void ExpectStateCountsMatchWorkers(const Pool& pool) {
  for (WorkerState st : {WorkerState::kBackoff, WorkerState::kStarting, WorkerState::kReady,
                         WorkerState::kStopping, WorkerState::kExited}) {
    int scanned = 0;
    for (const auto& w : pool.workers())
      scanned += w->state() == st ? 1 : 0;
    EXPECT_EQ(pool.CountIn(st), scanned) << pool.name() << " " << WorkerStateName(st);
  }
  int running = 0;
  for (const auto& w : pool.workers())
    running += w->running() ? 1 : 0;
  EXPECT_EQ(pool.running_count(), running) << pool.name();
}

}  // namespace vigil::testing
