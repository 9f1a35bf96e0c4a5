// FdWatcher: "call me when this descriptor is readable (or writable)". Implemented by EventLoop;
// tests use a fake that records watches. Single-threaded: only the loop thread calls it.
#pragma once

#include <functional>

#include "agent/base/status.h"

namespace vigil {

class FdWatcher {
 public:
  virtual ~FdWatcher() = default;
  virtual Status Watch(int fd, std::function<void()> on_readable) = 0;
  // Like Watch, for the few descriptors that must never wait behind a backlog of the many (the
  // signalfd, the control plane's socket): served first in every turn of the loop, however many
  // workers' sockets are ready too. A watcher without priorities treats it as Watch.
  virtual Status WatchUrgent(int fd, std::function<void()> on_readable) {
    return Watch(fd, std::move(on_readable));
  }
  // Like Watch, for writability (a non-blocking connect() completing).
  virtual Status WatchWritable(int fd, std::function<void()> on_writable) = 0;
  virtual void Unwatch(int fd) = 0;
  // For an fd already watched for reading: also call `on_writable` while it is writable, until
  // StopWritable(). For buffered output that must not block (the control socket).
  virtual Status AlsoWatchWritable(int fd, std::function<void()> on_writable) {
    (void)fd;
    (void)on_writable;
    return Status::Error("AlsoWatchWritable is not supported");
  }
  virtual void StopWritable(int fd) { (void)fd; }
};

}  // namespace vigil
