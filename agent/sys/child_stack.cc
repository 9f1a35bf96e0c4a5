#include "agent/sys/child_stack.h"

#include <sys/mman.h>
#include <unistd.h>

namespace vigil {

ChildStack::~ChildStack() {
  if (base_ != nullptr) ::munmap(base_, size_);
}

void* ChildStack::Top(size_t bytes) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t size = (bytes + page - 1) / page * page + page;
  if (base_ != nullptr && size_ >= size) return base_ + size_;
  void* base = ::mmap(nullptr, size, PROT_NONE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (base == MAP_FAILED) return nullptr;
  if (::mprotect(static_cast<char*>(base) + page, size - page, PROT_READ | PROT_WRITE) != 0) {
    ::munmap(base, size);
    return nullptr;
  }
  if (base_ != nullptr) ::munmap(base_, size_);
  base_ = static_cast<char*>(base);
  size_ = size;
  return base_ + size_;
}

}  // namespace vigil
