// CoreConnection (agent/control/core_connection.h) against a fake core on the other end of a
// socketpair: protocol errors are named and close the connection, Send() never blocks, Result
// parts are put together.
#include "agent/control/core_connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include <grpcpp/support/status.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>

namespace vigil::control {
namespace {

using namespace std::chrono_literals;

class CoreConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    core_fd_ = fds[0];
    connection_ = std::make_unique<CoreConnection>(fds[1], model_, [this] {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
      cv_.notify_all();
    });
    connection_->Start();
  }
  void TearDown() override {
    connection_.reset();
    ::close(core_fd_);
  }

  void CoreWrites(const std::string& bytes) {
    ASSERT_EQ(::send(core_fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  void CoreSends(const internal::v1::CoreMessage& m) {
    CoreWrites(EncodeFrame(m.SerializeAsString()));
  }
  // The next command the core reads.
  internal::v1::Command CoreReads() {
    FrameDecoder decoder;
    for (;;) {
      bool corrupt = false;
      if (auto payload = decoder.Next(&corrupt)) {
        internal::v1::ControlMessage m;
        EXPECT_TRUE(m.ParseFromString(*payload));
        return m.command();
      }
      char c;
      if (::recv(core_fd_, &c, 1, 0) != 1) return {};
      decoder.Append(&c, 1);
    }
  }
  bool WaitClosed() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, 10s, [this] { return closed_; });
  }
  // Sends `command`; the future holds the Result `done` gets.
  std::future<internal::v1::Result> Send(internal::v1::Command command) {
    auto promise = std::make_shared<std::promise<internal::v1::Result>>();
    connection_->Send(std::move(command),
                      [promise](const internal::v1::Result& r) { promise->set_value(r); });
    return promise->get_future();
  }
  static internal::v1::Command Ping() {
    internal::v1::Command c;
    c.mutable_ping();
    return c;
  }

  ReadModel model_;
  int core_fd_ = -1;
  std::unique_ptr<CoreConnection> connection_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;
};

TEST_F(CoreConnectionTest, AFrameOverTheLimitIsAProtocolError) {
  auto pending = Send(Ping());
  CoreWrites(std::string("\xff\xff\xff\x7f", 4));
  ASSERT_TRUE(WaitClosed());
  EXPECT_EQ(connection_->close_reason(),
            "protocol error: a frame of 2147483647 bytes, over the limit of 16777216");
  ASSERT_EQ(pending.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(pending.get().code(), grpc::StatusCode::UNAVAILABLE);  // The core went away.
  EXPECT_EQ(Send(Ping()).get().code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(CoreConnectionTest, AFrameThatIsNotACoreMessageIsAProtocolError) {
  CoreWrites(EncodeFrame(std::string("\xff\xff\xff\xff garbage", 12)));
  ASSERT_TRUE(WaitClosed());
  EXPECT_EQ(connection_->close_reason(),
            "protocol error: a frame that is not a CoreMessage (12 bytes)");
  EXPECT_FALSE(model_.connected());
}

// The options come only as the first frame, which main() reads before the connection starts.
TEST_F(CoreConnectionTest, OptionsAfterTheFirstFrameAreAProtocolError) {
  internal::v1::CoreMessage m;
  m.mutable_options()->set_socket("/run/x.sock");
  CoreSends(m);
  ASSERT_TRUE(WaitClosed());
  EXPECT_EQ(connection_->close_reason(), "protocol error: options after the first frame");
}

TEST_F(CoreConnectionTest, TheCoreClosingIsNotAnError) {
  ::shutdown(core_fd_, SHUT_RDWR);
  ASSERT_TRUE(WaitClosed());
  EXPECT_EQ(connection_->close_reason(), "the core closed the connection");
}

TEST_F(CoreConnectionTest, AnswersFindTheirCommandAndPartsArePutTogether) {
  auto ping = Send(Ping());
  internal::v1::Command metrics_command;
  metrics_command.mutable_metrics();
  auto metrics = Send(metrics_command);
  const uint64_t ping_id = CoreReads().id();
  const uint64_t metrics_id = CoreReads().id();
  internal::v1::CoreMessage m;
  for (int part = 0; part < 3; ++part) {
    m.Clear();
    m.mutable_result()->set_id(metrics_id);
    m.mutable_result()->set_more(part < 2);
    m.mutable_result()->add_metrics()->set_name("family_" + std::to_string(part));
    CoreSends(m);
  }
  m.Clear();
  m.mutable_result()->set_id(ping_id);
  CoreSends(m);
  ASSERT_EQ(ping.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(ping.get().code(), grpc::StatusCode::OK);
  const internal::v1::Result r = metrics.get();
  ASSERT_EQ(r.metrics_size(), 3);
  EXPECT_EQ(r.metrics(2).name(), "family_2");
  EXPECT_FALSE(r.more());
}

// A core that does not read (wedged): Send() still returns at once; once the queue is full the
// command is refused with RESOURCE_EXHAUSTED instead of blocking a gRPC thread.
TEST_F(CoreConnectionTest, SendNeverBlocksOnACoreThatDoesNotRead) {
  internal::v1::Command big;
  big.mutable_drain()->set_reason(std::string(1 << 20, 'x'));
  const auto start = std::chrono::steady_clock::now();
  int refused = 0;
  for (int i = 0; i < 40 && refused == 0; ++i) {
    auto r = Send(big);
    if (r.wait_for(0s) == std::future_status::ready) {
      const internal::v1::Result result = r.get();
      EXPECT_EQ(result.code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << result.message();
      EXPECT_NE(result.message().find("the core is not reading its commands"), std::string::npos);
      ++refused;
    }
  }
  EXPECT_EQ(refused, 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST_F(CoreConnectionTest, ACommandOverTheFrameLimitIsRefused) {
  internal::v1::Command huge;
  huge.mutable_drain()->set_reason(std::string(kMaxFrame, 'x'));
  const internal::v1::Result r = Send(huge).get();
  EXPECT_EQ(r.code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(r.message().find("too large"), std::string::npos);
}

}  // namespace
}  // namespace vigil::control
