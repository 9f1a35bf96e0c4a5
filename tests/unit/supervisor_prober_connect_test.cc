// Prober's tcp and http probes through the OS seam (Os::StartConnect / ConnectError): the
// connection is a socketpair the test plays the server on (tests/fakes/fake_os.h).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "agent/supervisor/prober.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/fake_fd_watcher.h"
#include "tests/fakes/fake_os.h"
#include "tests/fakes/fake_scheduler.h"

namespace vigil {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::vigil::testing::FakeClock;
using ::vigil::testing::FakeFdWatcher;
using ::vigil::testing::FakeOs;
using ::vigil::testing::FakeScheduler;

class ProberConnectTest : public ::testing::Test {
 protected:
  ProberConnectTest() {
    config_.name = "web";
    config_.readiness.mode = ReadinessMode::kTcp;
    config_.readiness.host = "127.0.0.1";
    config_.readiness.port = 8080;
    config_.readiness.path = "/healthz";
  }

  Prober& Started() {
    prober_.emplace(config_, os_, scheduler_, watcher_, clock_, environment_,
                    [this](int slot, bool success) {
                      results_.push_back({slot, success});
                    });
    prober_->Start(0, 100);
    scheduler_.AdvanceBy(100ms);  // The first probe, shortly after the start.
    return *prober_;
  }
  // The fd of the last Watch or WatchWritable call.
  int LastWatchedFd() const {
    const std::string& call = watcher_.calls.back();
    return std::stoi(call.substr(call.find('(') + 1));
  }

  PoolConfig config_;
  FakeOs os_;
  FakeClock clock_;
  FakeScheduler scheduler_{clock_};
  FakeFdWatcher watcher_;
  ChildEnvironment environment_;
  std::optional<Prober> prober_;
  std::vector<std::pair<int, bool>> results_;
};

TEST_F(ProberConnectTest, ATcpProbeConnectsToTheConfiguredAddressAndPassesWhenConnected) {
  os_.connect_state = ConnectState::kConnected;
  Started();
  ASSERT_EQ(os_.connect_addresses.size(), 1u);
  const auto* in = reinterpret_cast<const sockaddr_in*>(&os_.connect_addresses[0].storage);
  EXPECT_EQ(in->sin_family, AF_INET);
  EXPECT_EQ(ntohs(in->sin_port), 8080);
  EXPECT_EQ(ntohl(in->sin_addr.s_addr), INADDR_LOOPBACK);
  EXPECT_THAT(results_, ElementsAre(std::pair{0, true}));
}

TEST_F(ProberConnectTest, ATcpProbeFailsWhenRefusedAtOnceOrWhenNoSocketCanBeMade) {
  os_.connect_state = ConnectState::kFailed;
  Started();
  os_.connect_socket_error = Status::Error("socket: Too many open files");
  scheduler_.AdvanceBy(config_.readiness.period);  // The next probe.
  EXPECT_EQ(os_.connect_addresses.size(), 2u);
  EXPECT_THAT(results_, ElementsAre(std::pair{0, false}, std::pair{0, false}));
}

TEST_F(ProberConnectTest, AConnectInProgressIsAwaitedWithoutBlockingThenAskedForItsOutcome) {
  os_.connect_state = ConnectState::kInProgress;
  Started();
  EXPECT_THAT(results_, IsEmpty());
  const int fd = LastWatchedFd();
  ASSERT_TRUE(watcher_.IsWatchedWritable(fd));
  os_.connect_error = Status::FromErrno("connect", ECONNREFUSED);
  ASSERT_TRUE(watcher_.FireWritable(fd));
  EXPECT_THAT(results_, ElementsAre(std::pair{0, false}));
  EXPECT_FALSE(watcher_.IsWatchedWritable(fd));

  os_.connect_error = Status();
  scheduler_.AdvanceBy(config_.readiness.period);
  ASSERT_TRUE(watcher_.FireWritable(LastWatchedFd()));
  EXPECT_THAT(results_, ElementsAre(std::pair{0, false}, std::pair{0, true}));
}

TEST_F(ProberConnectTest, AConnectThatNeverCompletesFailsAtTheProbesTimeout) {
  os_.connect_state = ConnectState::kInProgress;
  Started();
  const int fd = LastWatchedFd();
  scheduler_.AdvanceBy(config_.readiness.timeout);
  EXPECT_THAT(results_, ElementsAre(std::pair{0, false}));
  EXPECT_FALSE(watcher_.IsWatchedWritable(fd));
}

// http: GET path, then a status of 200-399 passes (as the kubelet's httpGet).
TEST_F(ProberConnectTest, AnHttpProbeSendsAGetAndReadsTheStatusLine) {
  config_.readiness.mode = ReadinessMode::kHttp;
  for (const auto& [status_line, pass] :
       std::vector<std::pair<std::string, bool>>{{"HTTP/1.1 200 OK\r\n", true},
                                                 {"HTTP/1.0 302 Found\r\n", true},
                                                 {"HTTP/1.1 503 Unavailable\r\n", false},
                                                 {"SSH-2.0-OpenSSH\r\n", false}}) {
    SCOPED_TRACE(status_line);
    results_.clear();
    os_.connect_state = ConnectState::kConnected;
    Started();
    char request[512] = {};
    const ssize_t n = ::read(os_.connect_peer.get(), request, sizeof request - 1);
    ASSERT_GT(n, 0);
    EXPECT_THAT(std::string(request), ::testing::StartsWith("GET /healthz HTTP/1.0\r\n"));
    ASSERT_EQ(::write(os_.connect_peer.get(), status_line.data(), status_line.size()),
              static_cast<ssize_t>(status_line.size()));
    ASSERT_TRUE(watcher_.Fire(LastWatchedFd()));
    EXPECT_THAT(results_, ElementsAre(std::pair{0, pass}));
    prober_.reset();
  }
}

}  // namespace
}  // namespace vigil
