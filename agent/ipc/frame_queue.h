// FrameQueue: the core's output to vigil-control, buffered so that the core never blocks on it.
//
// Frames are written in order with non-blocking sends, as many as the socket takes. Each frame
// is droppable or not: events and snapshot parts are (the link replaces what it drops with a
// fresh snapshot), command answers are not. DropDroppable() removes the droppable frames not
// begun yet, so that a control plane that falls behind costs the core a bounded amount of
// memory. Single-threaded: the core loop's.
#pragma once

#include <cstddef>
#include <deque>
#include <string>

namespace vigil {

class FrameQueue {
 public:
  enum class Write { kEmptied, kBlocked, kFailed };

  void Push(std::string frame, bool droppable);
  // Sends what `fd` takes now: kEmptied when everything went, kBlocked on EAGAIN, kFailed on
  // any other error (the peer is gone).
  Write WriteTo(int fd);
  // Removes every droppable frame that has not begun to go out; returns how many.
  size_t DropDroppable();
  void Clear();

  size_t bytes() const { return bytes_; }  // not yet sent
  bool empty() const { return frames_.empty(); }

 private:
  struct Frame {
    std::string bytes;
    bool droppable;
  };
  std::deque<Frame> frames_;
  size_t bytes_ = 0;
  size_t front_sent_ = 0;  // bytes of frames_.front() already sent
};

}  // namespace vigil
