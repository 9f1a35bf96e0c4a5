// ChildStack: the stack a spawned child runs on between clone() and exec (linux_spawn.cc), with
// a guard page below it so that an overflow faults instead of writing over the parent's memory.
//
// Kept from one spawn to the next: with CLONE_VFORK the parent is suspended until the child has
// exec'd, so the stack is free again when clone() returns. Mapping a fresh one for each spawn
// put two system calls and a page fault per touched page on the way from a crash to its
// replacement, and a third (the unmap) after it (docs/performance.md, "6: restart latency").
// It grows (a new mapping) when a spawn needs more. Single-threaded: the core's loop.
#pragma once

#include <cstddef>

namespace vigil {

class ChildStack {
 public:
  ChildStack() = default;
  ~ChildStack();
  ChildStack(const ChildStack&) = delete;
  ChildStack& operator=(const ChildStack&) = delete;

  // The top of a stack of at least `bytes` (rounded up to pages), above its guard page; null
  // (errno set) when it cannot be mapped. Stacks grow down on every Linux port we build.
  void* Top(size_t bytes);
  // Bytes mapped, the guard page included (0 before the first Top()).
  size_t mapped() const { return size_; }

 private:
  char* base_ = nullptr;
  size_t size_ = 0;
};

}  // namespace vigil
