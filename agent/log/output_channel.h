// OutputChannel: lines written to one of Vigil's standard descriptors (1 or 2) without ever
// blocking the writer.
//
// PID 1 must not wedge because nobody reads its stdout: a container runtime that stalls, a
// `kubectl logs -f` pipe that is full, a terminal stopped with ^S. So the channel writes
// through a descriptor of its own that is non-blocking, and keeps what the file cannot take
// now in a bounded buffer. A line that does not fit in the buffer is dropped whole (never half
// a line) and counted; once the buffer has drained, the channel writes one line saying how
// many lines it dropped.
//
// Its own descriptor, because O_NONBLOCK belongs to the open file description, which workers
// inherit and share: setting it on fd 1 would make the workers' own writes fail with EAGAIN.
// So a pipe, FIFO or terminal is opened again through /proc/self/fd/N (a new description of
// the same pipe or terminal); a socket is written with MSG_DONTWAIT; a regular file never
// blocks for long and is written as it is. Without /proc, a pipe falls back to poll() before
// each write (a worker writing at the same moment can still fill it in between: documented).
//
// The buffer holds at most `capacity` bytes plus the rest of one line already half written (a
// line is never cut: the reader sees whole lines or none).
//
// Lines are whole units: Write() takes one or more complete lines. Flush() writes what it can
// now; a caller with a loop asks WantsWritable() and calls Flush() when the descriptor is
// writable; FlushFor() waits a bounded time, for the last lines before exit.
//
// Thread safety: none inside; the log sink that vigil-control shares between threads holds a
// mutex around it. The core uses it from its one thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/base/unique_fd.h"

namespace vigil::log {

class OutputChannel {
 public:
  // Room for a burst of log lines (about 2,000 typical ones) while the reader catches up.
  static constexpr size_t kDefaultCapacity = 256 * 1024;

  // A channel over `fd` (1 or 2). Never fails: with no usable descriptor, lines are dropped and
  // counted.
  explicit OutputChannel(int fd, size_t capacity = kDefaultCapacity);
  OutputChannel(const OutputChannel&) = delete;
  OutputChannel& operator=(const OutputChannel&) = delete;

  // Queues `lines` (complete lines, each ending in '\n') and writes what the descriptor takes
  // now. Returns false if they were dropped.
  bool Write(std::string_view lines);
  // Writes as much of the buffer as the descriptor takes without blocking.
  void Flush();
  // Flush(), waiting up to `limit` in poll() for the reader: for the last lines before exit.
  void FlushFor(std::chrono::milliseconds limit);

  // The descriptor to watch for writability while WantsWritable(); -1 if there is none.
  int fd() const { return fd_.get(); }
  bool WantsWritable() const { return !buffer_.empty() && kind_ != Kind::kFile; }

  size_t buffered_bytes() const { return buffer_.size(); }
  uint64_t dropped_lines() const { return dropped_lines_; }
  // Lines dropped since the last call, once the buffer has drained (0 before), or at once if
  // `now` (at exit): the owner logs them when the reader is back, so the gap in the output is
  // named where it happened.
  uint64_t TakeDropsToReport(bool now = false);

 private:
  enum class Kind { kNone, kFile, kNonBlocking, kSocket, kPolled };
  // Writes from `data`; returns how many bytes went out (0 when it would block). A write error
  // (the reader is gone, the disk is full) drops the buffer.
  size_t WriteSome(std::string_view data);
  // WriteSome() in chunks of whole lines until the descriptor takes no more.
  size_t WriteMost(std::string_view data);
  void Drop(std::string_view lines);

  UniqueFd fd_;
  Kind kind_ = Kind::kNone;
  size_t capacity_;
  std::string buffer_;   // whole lines, but for the unwritten tail of one already started
  bool failed_ = false;  // the last write failed for good: what is buffered is dropped
  uint64_t dropped_lines_ = 0;
  uint64_t unreported_ = 0;
};

}  // namespace vigil::log
