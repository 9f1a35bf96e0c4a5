// FakeFdWatcher: an FdWatcher that records every Watch, WatchWritable and Unwatch, and lets the
// test "fire" a watched descriptor as the event loop would when it becomes readable (or
// writable).
//
// Firing runs a copy of the callback, so a callback that unwatches (or re-watches) its own fd
// is safe. Firing an fd that is not watched is a no-op that returns false: a test that expects
// a callback learns that it was not registered.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "agent/base/status.h"
#include "agent/event/fd_watcher.h"

namespace vigil::testing {

class FakeFdWatcher final : public FdWatcher {
 public:
  // Returned by every Watch / WatchWritable (the callback is registered only when OK).
  Status watch_result;

  // Every call, in order: "Watch(5)", "WatchWritable(6)", "Unwatch(5)".
  std::vector<std::string> calls;

  Status Watch(int fd, std::function<void()> on_readable) override {
    calls.push_back("Watch(" + std::to_string(fd) + ")");
    if (!watch_result.ok()) return watch_result;
    readable_[fd] = std::move(on_readable);
    return Status();
  }

  Status WatchWritable(int fd, std::function<void()> on_writable) override {
    calls.push_back("WatchWritable(" + std::to_string(fd) + ")");
    if (!watch_result.ok()) return watch_result;
    writable_[fd] = std::move(on_writable);
    return Status();
  }

  Status AlsoWatchWritable(int fd, std::function<void()> on_writable) override {
    calls.push_back("AlsoWatchWritable(" + std::to_string(fd) + ")");
    if (readable_.count(fd) == 0)
      return Status::Error("fd " + std::to_string(fd) + " is not watched");
    writable_[fd] = std::move(on_writable);
    return Status();
  }
  void StopWritable(int fd) override {
    calls.push_back("StopWritable(" + std::to_string(fd) + ")");
    writable_.erase(fd);
  }

  void Unwatch(int fd) override {
    calls.push_back("Unwatch(" + std::to_string(fd) + ")");
    readable_.erase(fd);
    writable_.erase(fd);
  }

  bool IsWatched(int fd) const { return readable_.count(fd) != 0; }
  bool IsWatchedWritable(int fd) const { return writable_.count(fd) != 0; }
  size_t watched_count() const { return readable_.size(); }
  std::vector<int> WatchedFds() const {
    std::vector<int> out;
    for (const auto& [fd, callback] : readable_)
      out.push_back(fd);
    return out;
  }

  // Runs the readable callback of `fd`; false when `fd` is not watched.
  bool Fire(int fd) {
    auto it = readable_.find(fd);
    if (it == readable_.end()) return false;
    std::function<void()> callback = it->second;
    callback();
    return true;
  }

  // Runs the writable callback of `fd`; false when `fd` is not watched for writing.
  bool FireWritable(int fd) {
    auto it = writable_.find(fd);
    if (it == writable_.end()) return false;
    std::function<void()> callback = it->second;
    callback();
    return true;
  }

 private:
  std::map<int, std::function<void()>> readable_;
  std::map<int, std::function<void()>> writable_;
};

}  // namespace vigil::testing
