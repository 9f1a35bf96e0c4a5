// OutputPump: keeps Vigil's own stdout and stderr flowing from the loop.
//
// Lines that a slow reader could not take wait in the channels' bounded buffers
// (log/output_channel.h). Before each wait, Update() watches a channel's descriptor for
// writability only while it holds lines, and flushes it when it is writable; an idle agent
// with nothing buffered watches nothing, so the loop keeps its zero wake-ups.
//
// Single-threaded: the loop's thread only.
#pragma once

#include "agent/event/fd_watcher.h"

namespace vigil {

class OutputPump {
 public:
  explicit OutputPump(FdWatcher& watcher) : watcher_(watcher) {}
  ~OutputPump();
  OutputPump(const OutputPump&) = delete;
  OutputPump& operator=(const OutputPump&) = delete;

  // Call before each wait of the loop.
  void Update();

 private:
  FdWatcher& watcher_;
  int watched_fd_[2] = {-1, -1};  // the channel descriptor watched, for stdout and stderr
};

}  // namespace vigil
