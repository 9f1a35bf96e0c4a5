// SpawnSlots: a few descriptors held at the lowest free numbers (3 and up), lent to a child for
// the moment of its spawn so that every descriptor it keeps sits below a small bound.
//
// Why: LinuxOs::Spawn's child shares the core's descriptor table (CLONE_FILES) and makes its own
// with close_range(bound, ~0U, CLOSE_RANGE_UNSHARE), which copies only the descriptors below
// `bound`. Without that, clone() copies the whole table and exec then closes every copy: the
// core holds two descriptors per worker, so each spawn cost O(workers) in the kernel and
// starting n workers O(n^2) (10,000 workers: 80 s to all ready, docs/performance.md). A worker's
// own descriptors (its output pipe, the fd passed as 3) are the newest, so the highest: lent a
// slot, they are copied from there.
//
// Contract: Lend(fd) puts a copy of fd in a free slot (dup3) and returns the slot's number (the
// same slot again for an fd already lent), or returns fd unchanged when fd < 0, when fd is
// already below the slots' end, or when no slot is free or the copy fails (the spawn is then
// correct, just not bounded). ReturnAll() puts the
// placeholder back in every lent slot, so the core holds no extra reference to a lent
// descriptor (a pipe's write end must close for its reader to see EOF); a slot that cannot be
// restored is closed and the slots are reserved afresh on the next Reserve(). Single-threaded,
// like the core. Every slot is close-on-exec in the core.
#pragma once

#include "agent/base/unique_fd.h"

namespace vigil {

class SpawnSlots {
 public:
  static constexpr int kCount = 3;  // stdout, stderr, the passed fd

  // Reserves the slots if they are not yet. False when it cannot (no descriptor left): Lend
  // then returns its argument.
  bool Reserve();

  int Lend(int fd);
  void ReturnAll();

  SpawnSlots() = default;
  ~SpawnSlots();
  SpawnSlots(const SpawnSlots&) = delete;
  SpawnSlots& operator=(const SpawnSlots&) = delete;

 private:
  bool reserved() const { return slots_[0] >= 0; }
  void Release();

  UniqueFd placeholder_;  // what a free slot holds (an eventfd nothing reads)
  int slots_[kCount] = {-1, -1, -1};
  int lent_[kCount] = {-1, -1, -1};  // the descriptor each slot holds a copy of; -1: free
  int end_ = 0;                      // one past the highest slot
};

}  // namespace vigil
