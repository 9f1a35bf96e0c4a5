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

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "agent/base/status.h"
#include "agent/base/unique_fd.h"
#include "agent/event/fd_watcher.h"

namespace vigil {

class OutputRelay {
 public:
  // Where relayed lines go: `lines` (whole lines, each with its '\n') for Vigil's stdout (1) or
  // stderr (2). By default Vigil's non-blocking standard channels; tests catch them instead.
  using Sink = std::function<void(int target_fd, std::string_view lines)>;
  static void WriteToStandardChannel(int target_fd, std::string_view lines);

  explicit OutputRelay(FdWatcher& watcher, Sink sink = WriteToStandardChannel)
      : watcher_(watcher), sink_(std::move(sink)) {}
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
  // Emits every whole line of `pending` (and every kMaxLine of a longer one); keeps the rest.
  void EmitLines(Stream& stream);
  void Emit(const Stream& stream, std::string_view line);
  void Close(int fd);

  FdWatcher& watcher_;
  Sink sink_;
  std::unordered_map<int, Stream> streams_;
};

}  // namespace vigil
