// vigil-control's options (agent/control/options.h): the first frame the core sends, read off
// the socket without taking a byte of what follows, checked field by field, and refused with a
// message naming what came instead when it is not the options.
#include "agent/control/options.h"

#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "agent/ipc/frame.h"
#include "vigil/internal/v1/ipc.pb.h"

namespace vigil::control {
namespace {

using namespace std::chrono_literals;
namespace in = internal::v1;

std::string Payload(const in::ControlOptions& o) {
  in::CoreMessage m;
  *m.mutable_options() = o;
  return m.SerializeAsString();
}

in::ControlOptions Full() {
  in::ControlOptions o;
  o.set_socket("/run/vigil/control.sock");
  o.set_socket_mode(0660);
  o.set_health_port(9901);
  o.set_api_port(9900);
  o.set_api_address("127.0.0.1");
  o.set_token_file("/etc/vigil/token");
  o.set_http_port(9902);
  o.set_http_drain(true);
  o.set_metrics_address("0.0.0.0:9180");
  o.set_log_level(in::LOG_LEVEL_DEBUG);
  o.set_log_format(in::LOG_FORMAT_JSON);
  o.set_grpc_idle_linger_ms(1500);
  return o;
}

TEST(OptionsFromFrame, EveryFieldIsTaken) {
  const auto o = OptionsFromFrame(Payload(Full()));
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->socket, "/run/vigil/control.sock");
  EXPECT_EQ(o->socket_mode, 0660);
  EXPECT_EQ(o->health_port, 9901);
  EXPECT_EQ(o->api_port, 9900);
  EXPECT_EQ(o->api_address, "127.0.0.1");
  EXPECT_EQ(o->token_file, "/etc/vigil/token");
  EXPECT_EQ(o->http_port, 9902);
  EXPECT_TRUE(o->http_drain);
  EXPECT_EQ(o->metrics_address, "0.0.0.0:9180");
  EXPECT_EQ(o->log_level, log::Level::kDebug);
  EXPECT_EQ(o->log_format, log::Format::kJson);
  EXPECT_EQ(o->grpc_idle_linger, std::chrono::milliseconds(1500));
}

TEST(OptionsFromFrame, UnsetFieldsAreTheDefaults) {
  in::ControlOptions m;
  m.set_socket("/s");
  const auto o = OptionsFromFrame(Payload(m));
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->api_address, "0.0.0.0");  // What the HTTP port listens on without the API.
  EXPECT_EQ(o->socket_mode, 0);
  EXPECT_EQ(o->health_port, 0);
  EXPECT_TRUE(o->metrics_address.empty());
  EXPECT_EQ(o->log_level, log::Level::kWarn);
  EXPECT_EQ(o->log_format, log::Format::kText);
  EXPECT_EQ(o->grpc_idle_linger, std::chrono::seconds(30));
}

TEST(OptionsFromFrame, BadValuesAreRefusedByName) {
  struct Case {
    void (*set)(in::ControlOptions*);
    const char* error;
  };
  const Case cases[] = {
      {[](in::ControlOptions* o) { o->set_health_port(65536); },
       "health_port must be a port from 0 to 65535; got 65536"},
      {[](in::ControlOptions* o) { o->set_api_port(4000000000u); },
       "api_port must be a port from 0 to 65535; got 4000000000"},
      {[](in::ControlOptions* o) { o->set_http_port(70000); },
       "http_port must be a port from 0 to 65535; got 70000"},
      {[](in::ControlOptions* o) { o->set_grpc_idle_linger_ms(86400001); },
       "grpc_idle_linger_ms must be at most 24 h; got 86400001"},
      {[](in::ControlOptions* o) { o->set_socket_mode(010000); },
       "socket_mode must be at most 07777; got 4096"},
      {[](in::ControlOptions* o) { o->clear_socket(); },
       "socket: empty; the unix socket needs a path"},
      {[](in::ControlOptions* o) { o->set_socket(std::string("/run/a\0b", 8)); },
       "socket holds a NUL byte: '/run/a\\x00b'"},
      {[](in::ControlOptions* o) { o->set_token_file(std::string("t\0", 2)); },
       "token_file holds a NUL byte: 't\\x00'"},
      {[](in::ControlOptions* o) { o->set_log_level(static_cast<in::LogLevel>(42)); },
       "log_level 42 is not a log level"},
      {[](in::ControlOptions* o) { o->set_log_format(static_cast<in::LogFormat>(-1)); },
       "log_format -1 is not a log format"},
  };
  for (const Case& c : cases) {
    in::ControlOptions o = Full();
    c.set(&o);
    const auto got = OptionsFromFrame(Payload(o));
    ASSERT_FALSE(got.ok()) << c.error;
    EXPECT_EQ(got.status().message(), c.error);
  }
}

TEST(OptionsFromFrame, AFirstFrameThatIsNotTheOptionsIsRefused) {
  in::CoreMessage snapshot;
  snapshot.mutable_snapshot()->set_first(true);
  const auto got = OptionsFromFrame(snapshot.SerializeAsString());
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().message(),
            "the first frame from the core is not its options but a snapshot: vigil-control is "
            "started by vigil, which sends them first (docs/control.md)");
  const auto garbage = OptionsFromFrame(std::string("\xff\xff\xff", 3));
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.status().message(),
            "the first frame from the core is not a message of the protocol (3 bytes)");
}

class ReadFirstFrameTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    core_ = fds[0];
    control_ = fds[1];
  }
  void TearDown() override {
    if (core_ >= 0) ::close(core_);
    ::close(control_);
  }
  void CoreWrites(const std::string& bytes) {
    ASSERT_EQ(::send(core_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  int core_ = -1;
  int control_ = -1;
};

// The snapshot that follows in the same write stays in the socket for the core connection.
TEST_F(ReadFirstFrameTest, TakesTheFirstFrameAndNotAByteMore) {
  const std::string options = Payload(Full());
  const std::string next = EncodeFrame("the snapshot");
  CoreWrites(EncodeFrame(options) + next);
  const auto got = ReadFirstFrame(control_, 5s);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, options);
  std::string rest(next.size() + 1, '\0');
  EXPECT_EQ(::recv(control_, rest.data(), rest.size(), MSG_DONTWAIT),
            static_cast<ssize_t>(next.size()));
  EXPECT_EQ(rest.substr(0, next.size()), next);
}

TEST_F(ReadFirstFrameTest, AFrameInPiecesIsPutTogether) {
  const std::string frame = EncodeFrame(Payload(Full()));
  CoreWrites(frame.substr(0, 2));
  CoreWrites(frame.substr(2, 7));
  CoreWrites(frame.substr(9));
  const auto got = ReadFirstFrame(control_, 5s);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, Payload(Full()));
}

TEST_F(ReadFirstFrameTest, AFrameTooLargeForOptionsIsRefusedUnread) {
  CoreWrites(EncodeFrame(std::string(kMaxOptionsFrame + 1, 'x')).substr(0, 4));
  const auto got = ReadFirstFrame(control_, 5s);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().message(),
            "the first frame from the core is not its options: 65537 bytes, the options take "
            "at most 65536");
}

TEST_F(ReadFirstFrameTest, TheCoreClosingFirstIsAnError) {
  CoreWrites(std::string("\x10\x00", 2));  // Half a length.
  ::close(core_);
  core_ = -1;
  const auto got = ReadFirstFrame(control_, 5s);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().message(), "the core closed the connection before sending the options");
}

TEST_F(ReadFirstFrameTest, NothingInTimeIsAnError) {
  const auto got = ReadFirstFrame(control_, 50ms);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().message(), "the core sent no options in time");
}

TEST(ReadFirstFrame, ADescriptorThatIsNotOpenIsNamed) {
  const auto got = ReadFirstFrame(1 << 20, 1s);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("fd 1048576"), std::string::npos) << got.status().message();
}

}  // namespace
}  // namespace vigil::control
