// OutputChannel over real pipes and socketpairs: the reader is the test, which reads or stalls.
#include "agent/log/output_channel.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

namespace vigil::log {
namespace {

// Puts `fd` in place of descriptor `target` (1 or 2) for the test's lifetime: the channel
// works on Vigil's standard descriptors.
class StandardFdSwap {
 public:
  StandardFdSwap(int target, int fd) : target_(target), saved_(::dup(target)) {
    ::dup2(fd, target);
  }
  ~StandardFdSwap() {
    ::dup2(saved_, target_);
    ::close(saved_);
  }

 private:
  int target_;
  int saved_;
};

struct Pipe {
  Pipe() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    read_end = fds[0];
    write_end = fds[1];
    ::fcntl(read_end, F_SETFL, O_NONBLOCK);
  }
  ~Pipe() {
    if (read_end >= 0) ::close(read_end);
    ::close(write_end);
  }
  std::string ReadAll() {
    std::string out;
    char buf[65536];
    for (ssize_t n; (n = ::read(read_end, buf, sizeof buf)) > 0;)
      out.append(buf, static_cast<size_t>(n));
    return out;
  }
  int read_end;
  int write_end;
};

std::string Line(char c, size_t length) {
  return std::string(length - 1, c) + "\n";
}

TEST(OutputChannel, WritesLinesThroughWhenTheReaderKeepsUp) {
  Pipe pipe;
  StandardFdSwap swap(2, pipe.write_end);
  OutputChannel channel(2);
  EXPECT_TRUE(channel.Write("one\n"));
  EXPECT_TRUE(channel.Write("two\nthree\n"));
  EXPECT_EQ(pipe.ReadAll(), "one\ntwo\nthree\n");
  EXPECT_EQ(channel.dropped_lines(), 0u);
  EXPECT_FALSE(channel.WantsWritable());
}

TEST(OutputChannel, NeverBlocksOnAFullPipeAndKeepsTheSharedDescriptorBlocking) {
  Pipe pipe;
  ::fcntl(pipe.write_end, F_SETPIPE_SZ, 4096);
  StandardFdSwap swap(1, pipe.write_end);
  OutputChannel channel(1, /*capacity=*/16 * 1024);
  // Far more than the pipe and the buffer hold, with no reader: every call returns at once.
  size_t accepted = 0;
  for (int i = 0; i < 1000; ++i)
    accepted += channel.Write(Line('x', 100)) ? 1 : 0;
  EXPECT_LT(accepted, 1000u);
  EXPECT_EQ(channel.dropped_lines(), 1000u - accepted);
  EXPECT_TRUE(channel.WantsWritable());
  EXPECT_LE(channel.buffered_bytes(), 16u * 1024);
  // The workers' descriptor (the one they inherit) was not made non-blocking.
  EXPECT_EQ(::fcntl(1, F_GETFL) & O_NONBLOCK, 0);
}

TEST(OutputChannel, DrainsWhenTheReaderComesBackAndReportsTheDropsOnce) {
  Pipe pipe;
  ::fcntl(pipe.write_end, F_SETPIPE_SZ, 4096);
  StandardFdSwap swap(1, pipe.write_end);
  OutputChannel channel(1, /*capacity=*/8 * 1024);
  for (int i = 0; i < 500; ++i)
    channel.Write(Line('a' + i % 26, 50));
  const uint64_t dropped = channel.dropped_lines();
  ASSERT_GT(dropped, 0u);
  EXPECT_EQ(channel.TakeDropsToReport(), 0u);  // not while lines are still waiting
  std::string seen;
  while (channel.WantsWritable()) {
    seen += pipe.ReadAll();
    channel.Flush();
  }
  seen += pipe.ReadAll();
  // Whole lines only, in order, none cut.
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back(), '\n');
  size_t lines = 0;
  for (size_t start = 0, eol; (eol = seen.find('\n', start)) != std::string::npos;
       start = eol + 1, ++lines) {
    ASSERT_EQ(eol - start, 49u);
  }
  EXPECT_EQ(lines + dropped, 500u);
  EXPECT_EQ(channel.TakeDropsToReport(), dropped);
  EXPECT_EQ(channel.TakeDropsToReport(), 0u);
}

TEST(OutputChannel, ALineStartedIsFinishedEvenIfLongerThanTheBuffer) {
  Pipe pipe;
  ::fcntl(pipe.write_end, F_SETPIPE_SZ, 4096);
  StandardFdSwap swap(2, pipe.write_end);
  OutputChannel channel(2, /*capacity=*/1024);
  const std::string big = Line('z', 10000);
  EXPECT_TRUE(channel.Write(big));  // the pipe took 4096 bytes of it: the rest must follow
  std::string seen;
  while (channel.WantsWritable()) {
    seen += pipe.ReadAll();
    channel.Flush();
  }
  seen += pipe.ReadAll();
  EXPECT_EQ(seen, big);
}

TEST(OutputChannel, AGoneReaderDropsInsteadOfFailingTheWriter) {
  Pipe pipe;
  StandardFdSwap swap(2, pipe.write_end);
  OutputChannel channel(2);
  ::close(pipe.read_end);
  pipe.read_end = -1;
  // SIGPIPE is blocked in the core; here it must be ignored for the test process to survive.
  signal(SIGPIPE, SIG_IGN);
  EXPECT_FALSE(channel.Write("lost\n"));
  EXPECT_EQ(channel.dropped_lines(), 1u);
  EXPECT_FALSE(channel.WantsWritable());
  signal(SIGPIPE, SIG_DFL);
}

TEST(OutputChannel, SocketsAreWrittenWithoutBlocking) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  int small = 4096;
  ::setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  StandardFdSwap swap(1, sv[0]);
  OutputChannel channel(1, /*capacity=*/4096);
  for (int i = 0; i < 2000; ++i)
    channel.Write(Line('s', 100));
  EXPECT_GT(channel.dropped_lines(), 0u);
  EXPECT_EQ(::fcntl(1, F_GETFL) & O_NONBLOCK, 0);
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST(OutputChannel, FlushForGivesUpAtItsLimit) {
  Pipe pipe;
  ::fcntl(pipe.write_end, F_SETPIPE_SZ, 4096);
  StandardFdSwap swap(1, pipe.write_end);
  OutputChannel channel(1);
  for (int i = 0; i < 200; ++i)
    channel.Write(Line('f', 100));
  ASSERT_TRUE(channel.WantsWritable());
  const auto start = std::chrono::steady_clock::now();
  channel.FlushFor(std::chrono::milliseconds(50));
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, std::chrono::milliseconds(40));
  EXPECT_LT(waited, std::chrono::seconds(5));
  EXPECT_TRUE(channel.WantsWritable());
}

TEST(OutputChannel, AClosedDescriptorDropsAndCounts) {
  const int saved = ::dup(2);
  ::close(2);
  {
    OutputChannel channel(2);
    EXPECT_FALSE(channel.Write("nowhere\n"));
    EXPECT_EQ(channel.dropped_lines(), 1u);
  }
  ::dup2(saved, 2);
  ::close(saved);
}

}  // namespace
}  // namespace vigil::log
