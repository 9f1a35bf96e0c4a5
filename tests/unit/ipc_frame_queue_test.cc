// FrameQueue (agent/ipc/frame_queue.h): the core's non-blocking, droppable output to
// vigil-control, over a real socketpair.
#include "agent/ipc/frame_queue.h"

#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

#include "agent/base/unique_fd.h"

namespace vigil {
namespace {

class FrameQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    ours_.Reset(fds[0]);
    theirs_.Reset(fds[1]);
  }
  std::string ReadAll() {
    std::string out;
    char buf[65536];
    for (;;) {
      const ssize_t n = ::recv(theirs_.get(), buf, sizeof buf, MSG_DONTWAIT);
      if (n <= 0) return out;
      out.append(buf, static_cast<size_t>(n));
    }
  }
  UniqueFd ours_, theirs_;
  FrameQueue queue_;
};

TEST_F(FrameQueueTest, WritesFramesInOrder) {
  queue_.Push("one", true);
  queue_.Push("two", false);
  EXPECT_EQ(queue_.bytes(), 6u);
  EXPECT_EQ(queue_.WriteTo(ours_.get()), FrameQueue::Write::kEmptied);
  EXPECT_TRUE(queue_.empty());
  EXPECT_EQ(queue_.bytes(), 0u);
  EXPECT_EQ(ReadAll(), "onetwo");
}

// The peer reads nothing: the queue keeps what the socket did not take, and the front frame
// that went out in part is never dropped (the stream would be corrupt), the rest of the
// droppable frames are; the answers (not droppable) stay, in order.
TEST_F(FrameQueueTest, DroppingKeepsTheFrameInProgressAndTheAnswers) {
  const std::string big(1 << 20, 'e');  // More than the socket holds.
  queue_.Push(big, true);
  queue_.Push("answer1", false);
  queue_.Push(std::string(1000, 'f'), true);
  queue_.Push("answer2", false);
  EXPECT_EQ(queue_.WriteTo(ours_.get()), FrameQueue::Write::kBlocked);
  const size_t left = queue_.bytes();
  EXPECT_GT(left, 14u + 1000);
  EXPECT_EQ(queue_.DropDroppable(), 1u);  // Only the 1000 'f': the big one has begun.
  EXPECT_EQ(queue_.bytes(), left - 1000);
  std::string got;
  while (!queue_.empty()) {
    got += ReadAll();
    ASSERT_NE(queue_.WriteTo(ours_.get()), FrameQueue::Write::kFailed);
  }
  got += ReadAll();
  EXPECT_EQ(got, big + "answer1answer2");
}

TEST_F(FrameQueueTest, AClosedPeerFails) {
  theirs_.Reset();
  queue_.Push("x", true);
  EXPECT_EQ(queue_.WriteTo(ours_.get()), FrameQueue::Write::kFailed);
}

}  // namespace
}  // namespace vigil
