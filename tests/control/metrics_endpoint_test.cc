// MetricsEndpoint (agent/control/metrics_endpoint.h) over real HTTP, with a fake core on the
// other end of the control socketpair: a scrape waits for the core as long as its scraper's
// timeout allows (ScrapeCoreWait), and the scrapes that wait while one is collected are all
// answered by the next collection, which asks the core once.
#include "agent/control/metrics_endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <grpcpp/support/status.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/control/limits.h"
#include "agent/ipc/frame.h"

namespace vigil::control {
namespace {

using namespace std::chrono_literals;

TEST(ScrapeCoreWaitTest, ThreeQuartersOfTheScrapersTimeoutWithinBounds) {
  EXPECT_EQ(ScrapeCoreWait(""), limits::kScrapeCoreWait);
  EXPECT_EQ(ScrapeCoreWait("10"), 7500ms);  // Prometheus' default scrape_timeout
  EXPECT_EQ(ScrapeCoreWait("2.5"), 1875ms);
  EXPECT_EQ(ScrapeCoreWait("0.01"), limits::kMinScrapeCoreWait);
  EXPECT_EQ(ScrapeCoreWait("60"), limits::kMaxScrapeCoreWait);
  EXPECT_EQ(ScrapeCoreWait("1e300"), limits::kMaxScrapeCoreWait);
}

TEST(ScrapeCoreWaitTest, AnythingButAPositiveNumberOfSecondsIsTheDefault) {
  for (const char* bad : {"0", "-1", "+5", " 10", "10 ", "10s", "abc", "nan", "inf", "1e999",
                          "0x10", "1,5", "\xff"}) {
    EXPECT_EQ(ScrapeCoreWait(bad), limits::kScrapeCoreWait) << bad;
  }
}

// A core that answers each metrics command with one counter, after holding it as told.
class FakeCore {
 public:
  explicit FakeCore(int fd) : fd_(fd), thread_([this] { Run(); }) {}
  ~FakeCore() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  // Command number `n` (from 1) is answered `delay` after it arrives; never when negative.
  void Hold(int n, std::chrono::milliseconds delay) {
    std::lock_guard<std::mutex> lock(mu_);
    delays_[n] = delay;
  }
  int commands() const { return commands_.load(); }
  bool WaitForCommands(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return commands_.load() >= n; });
  }

 private:
  void Run() {
    FrameDecoder decoder;
    char buf[4096];
    std::multimap<std::chrono::steady_clock::time_point, std::string> due;  // answers to send
    for (;;) {
      int timeout = -1;
      if (!due.empty()) {
        const auto left = due.begin()->first - std::chrono::steady_clock::now();
        timeout = static_cast<int>(std::max<int64_t>(
            0, std::chrono::duration_cast<std::chrono::milliseconds>(left).count() + 1));
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, timeout) < 0) return;
      while (!due.empty() && due.begin()->first <= std::chrono::steady_clock::now()) {
        const std::string& frame = due.begin()->second;
        if (::send(fd_, frame.data(), frame.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(frame.size())) {
          return;
        }
        due.erase(due.begin());
      }
      if (!(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return;
      decoder.Append(buf, static_cast<size_t>(n));
      bool corrupt = false;
      while (auto payload = decoder.Next(&corrupt)) {
        internal::v1::ControlMessage m;
        if (!m.ParseFromString(*payload)) return;
        std::chrono::milliseconds delay{0};
        int number;
        {
          std::lock_guard<std::mutex> lock(mu_);
          number = ++commands_;
          if (auto it = delays_.find(number); it != delays_.end()) delay = it->second;
          cv_.notify_all();
        }
        if (delay < 0ms) continue;
        internal::v1::CoreMessage reply;
        auto* r = reply.mutable_result();
        r->set_id(m.command().id());
        r->set_code(grpc::StatusCode::OK);
        auto* f = r->add_metrics();
        f->set_name("vigil_fake_answers_total");
        f->set_help("h");
        f->set_type(internal::v1::METRIC_TYPE_COUNTER);
        f->add_metrics()->set_value(number);
        due.emplace(std::chrono::steady_clock::now() + delay,
                    EncodeFrame(reply.SerializeAsString()));
      }
    }
  }

  const int fd_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<int, std::chrono::milliseconds> delays_;
  std::atomic<int> commands_{0};
  std::thread thread_;
};

int UnusedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    ::close(fd);
    return -1;
  }
  ::close(fd);
  return ntohs(sa.sin_port);
}

// One GET /metrics (with the scraper's timeout header when `timeout` is not empty): the body.
std::string Scrape(int port, const std::string& timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(static_cast<uint16_t>(port));
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
    std::string request = "GET /metrics HTTP/1.0\r\n";
    if (!timeout.empty()) request += "X-Prometheus-Scrape-Timeout-Seconds: " + timeout + "\r\n";
    request += "\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      char buf[65536];
      ssize_t n;
      while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0)
        out.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return out;
}

class MetricsEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    core_ = std::make_unique<FakeCore>(fds[0]);
    connection_ = std::make_unique<CoreConnection>(fds[1], model_, nullptr);
    connection_->Start();
    auto collector = std::make_shared<MetricsCollector>(*connection_, ::getpid(), "test");
    endpoint_ = std::make_unique<MetricsEndpoint>(collector, counters_);
    port_ = UnusedPort();
    ASSERT_GT(port_, 0);
    ASSERT_TRUE(endpoint_->Start("127.0.0.1:" + std::to_string(port_)).ok());
  }
  void TearDown() override {
    endpoint_.reset();
    connection_.reset();
    core_.reset();
  }

  ReadModel model_;
  ControlCounters counters_;
  std::unique_ptr<FakeCore> core_;
  std::unique_ptr<CoreConnection> connection_;
  std::unique_ptr<MetricsEndpoint> endpoint_;
  int port_ = 0;
};

TEST_F(MetricsEndpointTest, AScrapeWaitsForASlowCoreAsLongAsItsScraperAllows) {
  // 4 s: past the 2 s a scrape without the header waits, well within the 7.5 s of a
  // Prometheus scrape with its default 10 s timeout.
  core_->Hold(1, 4000ms);
  core_->Hold(2, 4000ms);  // The first answer arrives meanwhile: the collector drops it.
  const std::string impatient = Scrape(port_, "");
  EXPECT_NE(impatient.find("vigil_core_metrics_up 0"), std::string::npos) << impatient;
  EXPECT_EQ(impatient.find("vigil_fake_answers_total"), std::string::npos);
  const std::string prometheus = Scrape(port_, "10");
  EXPECT_NE(prometheus.find("vigil_core_metrics_up 1"), std::string::npos) << prometheus;
  EXPECT_NE(prometheus.find("vigil_fake_answers_total"), std::string::npos);
}

TEST_F(MetricsEndpointTest, ScrapesThatWaitedAreAnsweredByOneQuestionToTheCore) {
  core_->Hold(1, -1ms);  // Never answered: the first scrape gives up after its 2 s.
  auto first = std::async(std::launch::async, [this] { return Scrape(port_, ""); });
  ASSERT_TRUE(core_->WaitForCommands(1));
  // These arrive while the scrape thread waits for the core: they queue, 2 s to spare.
  std::vector<std::future<std::string>> waiting;
  for (int i = 0; i < static_cast<int>(limits::kMaxQueuedScrapes); ++i)
    waiting.push_back(std::async(std::launch::async, [this] { return Scrape(port_, "10"); }));
  EXPECT_NE(first.get().find("vigil_core_metrics_up 0"), std::string::npos);
  for (auto& w : waiting) {
    const std::string body = w.get();
    EXPECT_NE(body.find("vigil_core_metrics_up 1"), std::string::npos) << body;
    EXPECT_NE(body.find("vigil_fake_answers_total 2"), std::string::npos) << body;
  }
  EXPECT_EQ(core_->commands(), 2);
}

}  // namespace
}  // namespace vigil::control
