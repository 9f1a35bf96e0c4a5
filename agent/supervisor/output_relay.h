// OutputRelay: per-line prefixes for workers' output (`log_prefix: true`).
//
// Without a prefix, workers inherit Vigil's stdout and stderr and write to them directly (what
// `kubectl logs` reads; zero copies). With one, each worker run gets two pipes; the relay reads
// them on the loop and writes every line as "[pool/slot] line" to Vigil's own stdout or stderr.
// A line longer than 64 KiB is cut there; a last line without a newline is flushed at EOF.
// Lines go out through Vigil's non-blocking stdout and stderr channels (log/output_channel.h):
// when nobody reads them, lines are dropped and counted rather than PID 1 blocking in a write
// (workers without a prefix write to the inherited descriptors and block themselves, as
// without Vigil). Single-threaded.
#pragma once

#include <string>
#include <unordered_map>

#include "agent/base/status.h"
#include "agent/base/unique_fd.h"
#include "agent/event/fd_watcher.h"

namespace vigil {

class OutputRelay {
 public:
  explicit OutputRelay(FdWatcher& watcher) : watcher_(watcher) {}
  ~OutputRelay();
  OutputRelay(const OutputRelay&) = delete;
  OutputRelay& operator=(const OutputRelay&) = delete;

  // Makes a pipe whose lines go to `target_fd` (1 or 2) with `prefix`; returns the write end,
  // for the child's stdout or stderr. The parent must close its copy once the child is spawned.
  StatusOr<UniqueFd> Open(const std::string& prefix, int target_fd);

 private:
  struct Stream {
    UniqueFd read_end;
    std::string prefix;
    int target_fd;
    std::string pending;  // a partial line
  };
  void OnReadable(int fd);
  void Emit(const Stream& stream, std::string_view line);
  void Close(int fd);

  FdWatcher& watcher_;
  std::unordered_map<int, Stream> streams_;
};

}  // namespace vigil
