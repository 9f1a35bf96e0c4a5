#include "agent/ipc/frame_queue.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>

namespace vigil {

void FrameQueue::Push(std::string frame, bool droppable) {
  bytes_ += frame.size();
  frames_.push_back(Frame{std::move(frame), droppable});
}

FrameQueue::Write FrameQueue::WriteTo(int fd) {
  constexpr size_t kBatch = 64;  // frames per sendmsg
  while (!frames_.empty()) {
    iovec iov[kBatch];
    size_t count = 0;
    for (size_t i = 0; i < frames_.size() && count < kBatch; ++i, ++count) {
      const size_t skip = i == 0 ? front_sent_ : 0;
      iov[count].iov_base = frames_[i].bytes.data() + skip;
      iov[count].iov_len = frames_[i].bytes.size() - skip;
    }
    msghdr message{};
    message.msg_iov = iov;
    message.msg_iovlen = count;
    const ssize_t n = ::sendmsg(fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Write::kBlocked;
    if (n <= 0) return Write::kFailed;
    size_t sent = static_cast<size_t>(n);
    bytes_ -= sent;
    while (sent > 0) {
      const size_t left = frames_.front().bytes.size() - front_sent_;
      if (sent < left) {
        front_sent_ += sent;
        break;
      }
      sent -= left;
      frames_.pop_front();
      front_sent_ = 0;
    }
  }
  return Write::kEmptied;
}

size_t FrameQueue::DropDroppable() {
  size_t dropped = 0;
  std::deque<Frame> kept;
  for (size_t i = 0; i < frames_.size(); ++i) {
    Frame& f = frames_[i];
    if (f.droppable && !(i == 0 && front_sent_ > 0)) {
      bytes_ -= f.bytes.size();
      ++dropped;
    } else {
      kept.push_back(std::move(f));
    }
  }
  frames_.swap(kept);
  return dropped;
}

void FrameQueue::Clear() {
  frames_.clear();
  bytes_ = 0;
  front_sent_ = 0;
}

}  // namespace vigil
