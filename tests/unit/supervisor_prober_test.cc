// Prober's tcp and http probes (agent/supervisor/prober.h) against real listening sockets on
// the loopback, through the real Os (LinuxOs: its StartConnect is what the binary uses; the
// socketpair-backed FakeOs is supervisor_prober_connect_test.cc's), with the loop played by
// FakeFdWatcher (fired when poll() says the socket is
// ready) and time by FakeScheduler: pass, refusal, status codes, a response that arrives in
// pieces, one that stops half-way, one that never comes (the probe's timeout), and Stop() in
// the middle of a probe.
#include "agent/supervisor/prober.h"
#include "agent/sys/linux_os.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "tests/fakes/fake_clock.h"
#include "tests/fakes/fake_fd_watcher.h"
#include "tests/fakes/fake_scheduler.h"

namespace vigil {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::vigil::testing::FakeClock;
using ::vigil::testing::FakeFdWatcher;
using ::vigil::testing::FakeScheduler;

constexpr int kPollMs = 5000;  // Generous: the machine may be loaded.

// A listening TCP socket on 127.0.0.1, port chosen by the kernel.
class Server {
 public:
  Server() {
    fd_.Reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_.get(), 16), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  int port() const { return port_; }
  void Close() { fd_.Reset(); }
  // The probe's connection, once it is there.
  UniqueFd Accept() {
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, kPollMs) != 1) return UniqueFd();
    return UniqueFd(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  }

 private:
  UniqueFd fd_;
  int port_ = 0;
};

// Reads what the probe sent until the blank line that ends its request.
std::string ReadRequest(const UniqueFd& conn) {
  std::string in;
  char buf[512];
  while (in.find("\r\n\r\n") == std::string::npos) {
    pollfd p{conn.get(), POLLIN, 0};
    if (::poll(&p, 1, kPollMs) != 1) break;
    const ssize_t n = ::recv(conn.get(), buf, sizeof buf, 0);
    if (n <= 0) break;
    in.append(buf, static_cast<size_t>(n));
  }
  return in;
}

void Send(const UniqueFd& conn, std::string_view text) {
  ASSERT_EQ(::send(conn.get(), text.data(), text.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(text.size()));
}

class ProberTest : public ::testing::Test {
 protected:
  ProberTest() {
    config_.name = "web";
    config_.readiness.period = 1s;
    config_.readiness.timeout = 2s;
    config_.readiness.path = "/healthz";
  }
  void Make(ReadinessMode mode, int port) {
    config_.readiness.mode = mode;
    config_.readiness.port = port;
    prober_ = std::make_unique<Prober>(config_, os_, scheduler_, watcher_, clock_, environment_,
                                       [this](int slot, bool ok) {
                                         results_.push_back({slot, ok});
                                       });
  }
  // Starts probing slot 0 and runs the first probe (the first comes after min(period, 100ms)).
  void StartFirstProbe() {
    prober_->Start(0, 1234);
    scheduler_.AdvanceBy(100ms);
  }
  // Plays the event loop for the probe's socket until a result comes or nothing is ready: a
  // connecting socket is fired once writable (waited for); a readable one once data or EOF is
  // there, waited for the first time only when `answer_sent` (the server has just written),
  // then fired while more is ready at once. False when a wait timed out.
  bool RunLoop(bool answer_sent = false) {
    const size_t before = results_.size();
    bool wait_readable = answer_sent;
    for (int i = 0; i < 100 && results_.size() == before; ++i) {
      const int fd = WatchedFd();
      if (fd < 0) return true;
      const bool writable = watcher_.IsWatchedWritable(fd);
      pollfd p{fd, static_cast<short>(writable ? POLLOUT : POLLIN), 0};
      const int timeout = writable || wait_readable ? kPollMs : 0;
      if (::poll(&p, 1, timeout) != 1) return timeout == 0;
      if (writable) {
        watcher_.FireWritable(fd);
      } else {
        watcher_.Fire(fd);
        wait_readable = false;
      }
    }
    return true;
  }
  int WatchedFd() const {
    for (int fd = 0; fd < 4096; ++fd) {
      if (watcher_.IsWatched(fd) || watcher_.IsWatchedWritable(fd)) return fd;
    }
    return -1;
  }

  PoolConfig config_;
  LinuxOs os_;
  ChildEnvironment environment_;
  FakeClock clock_;
  FakeScheduler scheduler_{clock_};
  FakeFdWatcher watcher_;
  std::unique_ptr<Prober> prober_;
  std::vector<std::pair<int, bool>> results_;
};

TEST_F(ProberTest, TcpPassesOnceConnected) {
  Server server;
  Make(ReadinessMode::kTcp, server.port());
  StartFirstProbe();
  ASSERT_TRUE(RunLoop());
  EXPECT_THAT(results_, ElementsAre(std::pair(0, true)));
  EXPECT_TRUE(server.Accept()) << "the probe connected";
  EXPECT_EQ(WatchedFd(), -1) << "the probe's socket is no longer watched";
  // The next probe a period later.
  scheduler_.AdvanceBy(1s);
  ASSERT_TRUE(RunLoop());
  EXPECT_THAT(results_, ElementsAre(std::pair(0, true), std::pair(0, true)));
}

TEST_F(ProberTest, TcpFailsWhenRefused) {
  Server server;
  const int port = server.port();
  server.Close();  // Nobody listens there now.
  Make(ReadinessMode::kTcp, port);
  StartFirstProbe();
  ASSERT_TRUE(RunLoop());
  EXPECT_THAT(results_, ElementsAre(std::pair(0, false)));
  EXPECT_EQ(WatchedFd(), -1);
}

TEST_F(ProberTest, HttpSendsItsRequestAndPassesOn2xxAnd3xx) {
  for (const char* status : {"HTTP/1.1 200 OK\r\n", "HTTP/1.0 204 No Content\r\n",
                             "HTTP/1.1 301 Moved Permanently\r\n", "HTTP/1.1 399 X\r\n"}) {
    SCOPED_TRACE(status);
    results_.clear();
    Server server;
    Make(ReadinessMode::kHttp, server.port());
    StartFirstProbe();
    ASSERT_TRUE(RunLoop());  // Connected and sent: now waiting for the answer.
    UniqueFd conn = server.Accept();
    ASSERT_TRUE(conn);
    EXPECT_EQ(ReadRequest(conn),
              "GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\nUser-Agent: vigil-probe\r\n\r\n");
    Send(conn, std::string(status) + "Content-Length: 0\r\n\r\n");
    ASSERT_TRUE(RunLoop(/*answer_sent=*/true));
    EXPECT_THAT(results_, ElementsAre(std::pair(0, true)));
    EXPECT_EQ(WatchedFd(), -1);
    prober_.reset();
  }
}

TEST_F(ProberTest, HttpFailsOn1xx4xx5xxAndOnWhatIsNotHttp) {
  for (const char* answer :
       {"HTTP/1.1 404 Not Found\r\n\r\n", "HTTP/1.1 503 Unavailable\r\n", "HTTP/1.1 199 X\r\n",
        "HTTP/1.1 400 Bad Request\r\n", "SSH-2.0-OpenSSH_9.2\r\n", "HTTP/1.1 abc OK\r\n"}) {
    SCOPED_TRACE(answer);
    results_.clear();
    Server server;
    Make(ReadinessMode::kHttp, server.port());
    StartFirstProbe();
    ASSERT_TRUE(RunLoop());
    UniqueFd conn = server.Accept();
    ASSERT_TRUE(conn);
    ReadRequest(conn);
    Send(conn, answer);
    ASSERT_TRUE(RunLoop(/*answer_sent=*/true));
    EXPECT_THAT(results_, ElementsAre(std::pair(0, false)));
    prober_.reset();
  }
}

// The status line arrives in pieces: the probe waits for the rest, and judges the whole.
TEST_F(ProberTest, HttpStatusLineInPieces) {
  Server server;
  Make(ReadinessMode::kHttp, server.port());
  StartFirstProbe();
  ASSERT_TRUE(RunLoop());
  UniqueFd conn = server.Accept();
  ASSERT_TRUE(conn);
  ReadRequest(conn);
  Send(conn, "HTTP/1.1 2");
  ASSERT_TRUE(RunLoop(/*answer_sent=*/true));
  EXPECT_THAT(results_, IsEmpty()) << "judged on half a status line";
  Send(conn, "00 OK\r\n");
  ASSERT_TRUE(RunLoop(/*answer_sent=*/true));
  EXPECT_THAT(results_, ElementsAre(std::pair(0, true)));
}

// A server that closes after half a status line fails the probe at once (not at its timeout).
TEST_F(ProberTest, HttpHalfAStatusLineThenCloseFails) {
  Server server;
  Make(ReadinessMode::kHttp, server.port());
  StartFirstProbe();
  ASSERT_TRUE(RunLoop());
  UniqueFd conn = server.Accept();
  ASSERT_TRUE(conn);
  ReadRequest(conn);
  Send(conn, "HTTP/1.1 2");
  conn.Reset();
  ASSERT_TRUE(RunLoop(/*answer_sent=*/true));
  EXPECT_THAT(results_, ElementsAre(std::pair(0, false)));
}

// A server that accepts and never answers (or stops half-way) fails the probe at its timeout,
// and the next probe comes a period after that.
TEST_F(ProberTest, HttpThatNeverAnswersTimesOut) {
  Server server;
  Make(ReadinessMode::kHttp, server.port());
  StartFirstProbe();
  ASSERT_TRUE(RunLoop());
  UniqueFd conn = server.Accept();
  ASSERT_TRUE(conn);
  ReadRequest(conn);
  Send(conn, "HTTP/1.1 20");  // ...and nothing more.
  ASSERT_TRUE(RunLoop(/*answer_sent=*/true));
  scheduler_.AdvanceBy(1999ms);
  EXPECT_THAT(results_, IsEmpty());
  scheduler_.AdvanceBy(1ms);  // readiness.timeout = 2s after the probe started.
  EXPECT_THAT(results_, ElementsAre(std::pair(0, false)));
  EXPECT_EQ(WatchedFd(), -1) << "the timed-out probe's socket is still watched";
  // The probe closed its connection: the server sees EOF.
  char c;
  pollfd p{conn.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, kPollMs), 1);
  EXPECT_EQ(::recv(conn.get(), &c, 1, 0), 0);
  // Next probe one period later: a new connection.
  scheduler_.AdvanceBy(1s);
  ASSERT_TRUE(RunLoop());
  EXPECT_TRUE(server.Accept());
}

// More than 4 KiB without the end of a status line: judged on what came, and failed.
TEST_F(ProberTest, HttpEndlessStatusLineFails) {
  Server server;
  Make(ReadinessMode::kHttp, server.port());
  StartFirstProbe();
  ASSERT_TRUE(RunLoop());
  UniqueFd conn = server.Accept();
  ASSERT_TRUE(conn);
  ReadRequest(conn);
  Send(conn, std::string(5000, 'H'));
  ASSERT_TRUE(RunLoop(/*answer_sent=*/true));
  EXPECT_THAT(results_, ElementsAre(std::pair(0, false)));
}

TEST_F(ProberTest, StopInTheMiddleOfAProbeGivesNoResultAndClosesIt) {
  Server server;
  Make(ReadinessMode::kHttp, server.port());
  StartFirstProbe();
  ASSERT_TRUE(RunLoop());
  UniqueFd conn = server.Accept();
  ASSERT_TRUE(conn);
  ReadRequest(conn);
  prober_->Stop(0);
  EXPECT_EQ(WatchedFd(), -1);
  scheduler_.AdvanceBy(10s);  // Neither the timeout nor a next probe fires.
  EXPECT_THAT(results_, IsEmpty());
  char c;
  pollfd p{conn.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, kPollMs), 1);
  EXPECT_EQ(::recv(conn.get(), &c, 1, 0), 0);
}

}  // namespace
}  // namespace vigil
