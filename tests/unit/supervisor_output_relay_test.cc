// OutputRelay (agent/supervisor/output_relay.h) over real pipes, with the loop played by
// FakeFdWatcher (the test fires the read end when it has written) and the lines caught by the
// relay's sink: prefixes, lines split across reads, several lines in one read, over-long lines
// cut at 64 KiB, the last line without a newline at EOF and when the agent exits.
#include "agent/supervisor/output_relay.h"

#include <fcntl.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tests/fakes/fake_fd_watcher.h"

namespace vigil {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::vigil::testing::FakeFdWatcher;

constexpr size_t kMaxLine = 64 * 1024;  // output_relay.h: "A line longer than 64 KiB is cut there"

class OutputRelayTest : public ::testing::Test {
 protected:
  OutputRelayTest()
      : relay_(std::make_unique<OutputRelay>(watcher_, [this](int fd, std::string_view lines) {
          out_.emplace_back(fd, std::string(lines));
        })) {}

  // Opens a stream and returns its write end (what the worker would write to).
  UniqueFd Open(const std::string& prefix, int target_fd) {
    StatusOr<UniqueFd> w = relay_->Open(prefix, target_fd);
    EXPECT_TRUE(w.ok()) << w.status().message();
    read_fd_ = ReadEndOf(watcher_);
    return w.ok() ? std::move(*w) : UniqueFd();
  }
  static int ReadEndOf(const FakeFdWatcher& watcher) {
    // The last "Watch(N)" call names the read end.
    const std::string& call = watcher.calls.back();
    return std::stoi(call.substr(6, call.size() - 7));
  }
  void Write(const UniqueFd& fd, const std::string& text) {
    ASSERT_EQ(::write(fd.get(), text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }
  std::vector<std::string> Lines(int fd) const {
    std::vector<std::string> lines;
    for (const auto& [target, text] : out_) {
      if (target == fd) lines.push_back(text);
    }
    return lines;
  }

  FakeFdWatcher watcher_;
  std::vector<std::pair<int, std::string>> out_;
  std::unique_ptr<OutputRelay> relay_;
  int read_fd_ = -1;
};

TEST_F(OutputRelayTest, EveryLineGetsThePrefixAndGoesToItsTarget) {
  UniqueFd out = Open("[web/0] ", 1);
  Write(out, "one\ntwo\n");
  ASSERT_TRUE(watcher_.Fire(read_fd_));
  UniqueFd err = Open("[web/0] ", 2);
  Write(err, "oops\n");
  ASSERT_TRUE(watcher_.Fire(read_fd_));
  EXPECT_THAT(Lines(1), ElementsAre("[web/0] one\n", "[web/0] two\n"));
  EXPECT_THAT(Lines(2), ElementsAre("[web/0] oops\n"));
}

TEST_F(OutputRelayTest, APartialLineWaitsForItsEnd) {
  UniqueFd out = Open("[a/1] ", 1);
  Write(out, "hel");
  ASSERT_TRUE(watcher_.Fire(read_fd_));
  EXPECT_THAT(out_, IsEmpty());
  Write(out, "lo\nwor");
  ASSERT_TRUE(watcher_.Fire(read_fd_));
  Write(out, "ld\n\n");
  ASSERT_TRUE(watcher_.Fire(read_fd_));
  EXPECT_THAT(Lines(1), ElementsAre("[a/1] hello\n", "[a/1] world\n", "[a/1] \n"));
}

TEST_F(OutputRelayTest, TheLastLineWithoutANewlineIsFlushedAtEof) {
  UniqueFd out = Open("[a/0] ", 1);
  Write(out, "done\nno newline");
  out.Reset();  // The worker exits.
  ASSERT_TRUE(watcher_.Fire(read_fd_));
  ASSERT_TRUE(watcher_.Fire(read_fd_));  // EOF
  EXPECT_THAT(Lines(1), ElementsAre("[a/0] done\n", "[a/0] no newline\n"));
  EXPECT_FALSE(watcher_.IsWatched(read_fd_)) << "the stream is closed at EOF";
  EXPECT_EQ(watcher_.calls.back(), "Unwatch(" + std::to_string(read_fd_) + ")");
}

TEST_F(OutputRelayTest, BytesAreRelayedAsTheyAre) {
  UniqueFd out = Open("[a/0] ", 2);
  const std::string bytes("\xff\xfe\x00\x1b[31m\r", 8);
  Write(out, bytes + "\n");
  ASSERT_TRUE(watcher_.Fire(read_fd_));
  EXPECT_THAT(Lines(2), ElementsAre("[a/0] " + bytes + "\n"));
}

// A line longer than 64 KiB is cut at 64 KiB, wherever the reads split it: here a short start
// first, so that the 16 KiB reads do not end on the 64 KiB boundary.
TEST_F(OutputRelayTest, AnOverLongLineIsCutAt64KiB) {
  UniqueFd out = Open("[a/0] ", 1);
  Write(out, "ab");
  ASSERT_TRUE(watcher_.Fire(read_fd_));
  const std::string chunk(16 * 1024, 'x');
  for (int i = 0; i < 5; ++i) {  // 80 KiB + 2 bytes, then the end of the line.
    Write(out, chunk);
    ASSERT_TRUE(watcher_.Fire(read_fd_));
  }
  Write(out, "end\n");
  ASSERT_TRUE(watcher_.Fire(read_fd_));
  const std::vector<std::string> lines = Lines(1);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].size(), 6 + kMaxLine + 1);  // prefix, 64 KiB, '\n'
  EXPECT_EQ(lines[0].substr(0, 8), "[a/0] ab");
  EXPECT_EQ(lines[1], "[a/0] " + std::string(5 * 16 * 1024 + 2 - kMaxLine, 'x') + "end\n");
}

TEST_F(OutputRelayTest, ALineOfExactly64KiBIsNotCut) {
  UniqueFd out = Open("[a/0] ", 1);
  const std::string line(kMaxLine - 1, 'y');  // With its newline: 64 KiB.
  for (size_t done = 0; done < line.size(); done += 16 * 1024) {
    Write(out, line.substr(done, 16 * 1024));
    ASSERT_TRUE(watcher_.Fire(read_fd_));
  }
  Write(out, "\n");
  ASSERT_TRUE(watcher_.Fire(read_fd_));
  EXPECT_THAT(Lines(1), ElementsAre("[a/0] " + line + "\n"));
}

// The agent exits: what the workers wrote last is still in the pipes, and passed on whole,
// the last line without its newline too.
TEST_F(OutputRelayTest, WhatIsLeftInThePipesIsPassedOnAtExit) {
  UniqueFd out = Open("[a/0] ", 1);
  Write(out, "par");
  ASSERT_TRUE(watcher_.Fire(read_fd_));
  Write(out, "tial\nlast words");
  relay_.reset();
  EXPECT_THAT(Lines(1), ElementsAre("[a/0] partial\n", "[a/0] last words\n"));
}

TEST_F(OutputRelayTest, AWatchThatFailsIsAnError) {
  watcher_.watch_result = Status::Error("epoll_ctl: no space");
  StatusOr<UniqueFd> w = relay_->Open("[a/0] ", 1);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().message(), "epoll_ctl: no space");
}

}  // namespace
}  // namespace vigil
