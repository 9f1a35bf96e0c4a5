#include "agent/sys/spawn_slots.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>

namespace vigil {

SpawnSlots::~SpawnSlots() {
  Release();
}

void SpawnSlots::Release() {
  for (int& slot : slots_) {
    if (slot >= 0) ::close(slot);
    slot = -1;
  }
  std::fill(std::begin(lent_), std::end(lent_), -1);
  placeholder_.Reset();
  end_ = 0;
}

bool SpawnSlots::Reserve() {
  if (reserved()) return true;
  Release();
  // An eventfd: no file system needed (a distroless image may have no /dev/null), never read.
  UniqueFd placeholder(::eventfd(0, EFD_CLOEXEC));
  if (!placeholder) return false;
  int slots[kCount];
  for (int i = 0; i < kCount; ++i) {
    // The lowest free numbers from 3: 0-2 are the child's standard descriptors, which a slot
    // must never shadow (a slot is close-on-exec; fd 1 or 2 must not be).
    slots[i] = ::fcntl(placeholder.get(), F_DUPFD_CLOEXEC, 3);
    if (slots[i] < 0) {
      for (int j = 0; j < i; ++j)
        ::close(slots[j]);
      return false;
    }
  }
  placeholder_ = std::move(placeholder);
  for (int i = 0; i < kCount; ++i) {
    slots_[i] = slots[i];
    end_ = std::max(end_, slots[i] + 1);
  }
  return true;
}

int SpawnSlots::Lend(int fd) {
  if (fd < 0 || !reserved() || fd < end_) return fd;
  for (int i = 0; i < kCount; ++i) {
    if (lent_[i] == fd) return slots_[i];
  }
  for (int i = 0; i < kCount; ++i) {
    if (lent_[i] >= 0) continue;
    // dup3 replaces the placeholder's copy in one step; O_CLOEXEC: the core's copy stays
    // close-on-exec (the child makes its own inheritable copy at 1, 2 or 3).
    if (::dup3(fd, slots_[i], O_CLOEXEC) < 0) return fd;
    lent_[i] = fd;
    return slots_[i];
  }
  return fd;
}

void SpawnSlots::ReturnAll() {
  bool lost = false;
  for (int i = 0; i < kCount; ++i) {
    if (lent_[i] < 0) continue;
    lent_[i] = -1;
    if (::dup3(placeholder_.get(), slots_[i], O_CLOEXEC) < 0) {
      // Cannot fail for an open placeholder and a slot below the limit; if it ever does, the
      // lent descriptor must still not stay open here.
      ::close(slots_[i]);
      slots_[i] = -1;
      lost = true;
    }
  }
  if (lost) Release();
}

}  // namespace vigil
