// FdWatcher: "call me when this descriptor is readable". Implemented by EventLoop; tests use a
// fake that records watches. Single-threaded: only the loop thread calls it.
#pragma once

#include <functional>

#include "agent/base/status.h"

namespace vigil {

class FdWatcher {
 public:
  virtual ~FdWatcher() = default;
  virtual Status Watch(int fd, std::function<void()> on_readable) = 0;
  virtual void Unwatch(int fd) = 0;
};

}  // namespace vigil
