#include "agent/control/http_listener.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>

#include "agent/control/close_log.h"
#include "agent/control/limits.h"
#include "agent/control/listen_loop.h"
#include "agent/log/log.h"

namespace vigil::control {

using Clock = ListenLoop::Clock;

namespace {

// A handler that neither answers nor sets a timeout is answered 503 after this.
constexpr auto kDefaultHandlerTimeout = std::chrono::seconds(30);

}  // namespace

// --- HttpReply -----------------------------------------------------------------------------

// Answers posted from any thread to the loop, which is woken through an eventfd.
class HttpReply::Mailbox {
 public:
  explicit Mailbox(int wake_fd) : wake_fd_(wake_fd) {}

  void Post(uint64_t connection, HttpResponse response) {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    posted_.emplace_back(connection, std::move(response));
    Wake();
  }
  void Wake() {  // Under mu_ (or from the loop itself): the eventfd is open until Close().
    const uint64_t one = 1;
    if (::write(wake_fd_, &one, sizeof one) < 0) {
      // EAGAIN: the counter is saturated, so the loop is awake already.
    }
  }
  std::vector<std::pair<uint64_t, HttpResponse>> Take() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(posted_, {});
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    posted_.clear();
  }

 private:
  std::mutex mu_;
  const int wake_fd_;
  bool closed_ = false;
  std::vector<std::pair<uint64_t, HttpResponse>> posted_;
};

struct HttpReply::State {
  std::atomic<bool> claimed{false};
  bool has_timeout = false;
  std::chrono::milliseconds timeout{0};
  HttpResponse fallback;
  std::function<void()> done;
};

HttpReply::HttpReply(std::shared_ptr<Mailbox> mailbox, uint64_t connection)
    : mailbox_(std::move(mailbox)), connection_(connection), state_(std::make_unique<State>()) {}
HttpReply::~HttpReply() = default;

bool HttpReply::Claim() {
  return !state_->claimed.exchange(true);
}

void HttpReply::Send(HttpResponse response) {
  if (Claim()) mailbox_->Post(connection_, std::move(response));
}

void HttpReply::SetTimeout(std::chrono::milliseconds timeout, HttpResponse fallback) {
  state_->has_timeout = true;
  state_->timeout = timeout;
  state_->fallback = std::move(fallback);
}

void HttpReply::OnDone(std::function<void()> done) {
  state_->done = std::move(done);
}

// --- HttpListener --------------------------------------------------------------------------

class HttpListener::Impl final : public ListenLoop::Owner {
 public:
  Impl(Listener which, ControlCounters& counters)
      : which_(which),
        counters_(counters),
        close_log_(which, counters),
        loop_(std::string("HTTP listener ") + ListenerName(which), *this) {}

  ~Impl() {
    loop_.Stop();
    for (auto& [id, c] : conns_)
      CloseFd(c);
    conns_.clear();
    if (mailbox_) mailbox_->Close();  // Before the loop closes the eventfd.
  }

  void Route(std::string path, HttpHandler handler, bool allow_post) {
    routes_[std::move(path)] = RouteEntry{std::move(handler), allow_post};
  }

  Status Start(const std::string& host, int port) {
    if (Status s = loop_.Open(host, port); !s.ok()) return s;
    mailbox_ = std::make_shared<HttpReply::Mailbox>(loop_.wake_fd());
    loop_.Run();
    return Status();
  }

 private:
  enum class Phase { kHeader, kWaiting, kWriting, kLinger };
  struct Conn {
    uint64_t id = 0;
    int fd = -1;
    Phase phase = Phase::kHeader;
    Clock::time_point accepted;
    Clock::time_point deadline;
    std::string in;
    size_t scanned = 0;        // bytes of `in` searched for the header's end
    bool half_closed = false;  // the client shut its side after the request
    std::string out;
    size_t sent = 0;
    std::shared_ptr<HttpReply> reply;
  };
  struct RouteEntry {
    HttpHandler handler;
    bool allow_post = false;
  };

  bool Watch(int fd, uint64_t id, uint32_t events, int op) {
    return loop_.Watch(fd, id, events, op);
  }

  // ListenLoop::Owner
  void Accepted(int fd) override {
    if (conns_.size() >= static_cast<size_t>(limits::kHttpMaxConnections) && !EvictOldestHeader()) {
      ::close(fd);
      Closed(ConnClose::kRefused);
      return;
    }
    const uint64_t id = next_id_++;
    Conn& c = conns_[id];
    c.id = id;
    c.fd = fd;
    c.accepted = Clock::now();
    c.deadline = c.accepted + limits::kHttpHeaderTimeout;
    if (!Watch(fd, id, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_ADD)) {
      log::Warn("HTTP listener {}: epoll_ctl: {}", ListenerName(which_), std::strerror(errno));
      ::close(fd);
      conns_.erase(id);
      return;
    }
    counters_.ConnectionOpened(which_);
  }
  bool MakeRoom() override { return EvictOldestHeader(); }
  void Ready(uint64_t id, uint32_t events) override { OnEvent(id, events); }
  void AfterEvents() override {
    Deliver();
    Expire();
  }
  Clock::time_point NextDeadline() const override {
    Clock::time_point next = Clock::time_point::max();
    for (const auto& [id, c] : conns_)
      next = std::min(next, c.deadline);
    return next;
  }

  // Closes the oldest connection still sending its header; false when there is none.
  bool EvictOldestHeader() {
    Conn* oldest = nullptr;
    for (auto& [id, c] : conns_) {
      if (c.phase == Phase::kHeader && (oldest == nullptr || c.accepted < oldest->accepted)) {
        oldest = &c;
      }
    }
    if (oldest == nullptr) return false;
    Closed(ConnClose::kEvicted);
    Close(oldest->id);
    return true;
  }

  void OnEvent(uint64_t id, uint32_t events) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    Conn& c = it->second;
    switch (c.phase) {
      case Phase::kHeader:
        ReadHeader(c);
        break;
      case Phase::kWaiting:
        if ((events & (EPOLLERR | EPOLLHUP)) == 0 && !c.half_closed) {
          // EPOLLRDHUP alone: the client shut its side after the request (its FIN came after
          // the header was read). It still waits for the answer: stop watching for hang-ups.
          c.half_closed = true;
          Watch(c.fd, id, 0u, EPOLL_CTL_MOD);
          break;
        }
        Close(id);  // Gone.
        break;
      case Phase::kWriting:
        if (events & (EPOLLERR | EPOLLHUP)) {
          Close(id);
        } else {
          Flush(c);
        }
        break;
      case Phase::kLinger:
        Discard(c);
        break;
    }
  }

  void ReadHeader(Conn& c) {
    char buf[4096];
    bool eof = false;  // The client closed (or half-closed) its side.
    while (c.in.size() <= limits::kHttpMaxHeaderBytes) {
      const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        c.in.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      eof = true;
      break;
    }
    const size_t from = c.scanned >= 3 ? c.scanned - 3 : 0;
    size_t end = c.in.find("\r\n\r\n", from);
    size_t blank = 4;
    if (end == std::string::npos) {
      end = c.in.find("\n\n", from);
      blank = 2;
    }
    c.scanned = c.in.size();
    if (end == std::string::npos || end + blank > limits::kHttpMaxHeaderBytes) {
      if (c.in.size() > limits::kHttpMaxHeaderBytes) {
        Closed(ConnClose::kHeaderTooLarge);
        Answer(c, {431, "request header larger than " +
                            std::to_string(limits::kHttpMaxHeaderBytes) + " bytes\n"});
      } else if (eof) {
        Close(c.id);  // Gone before sending a whole header: nobody to answer.
      }
      return;
    }
    c.half_closed = eof;
    HttpRequest request;
    std::string why;
    if (!ParseRequestHead(std::string_view(c.in).substr(0, end), &request, &why)) {
      Closed(ConnClose::kBadRequest);
      Answer(c, {400, "malformed request: " + why + "\n"});
      return;
    }
    c.in.clear();
    Dispatch(c, request);
  }

  void Dispatch(Conn& c, const HttpRequest& request) {
    auto route = routes_.find(request.path);
    if (route == routes_.end()) {
      std::string paths;
      for (const auto& [p, r] : routes_)
        paths += " " + p;
      Answer(c, {404, "no such path; this port serves" + paths + "\n"});
      return;
    }
    const bool post_ok = route->second.allow_post && request.method == "POST";
    if (request.method != "GET" && !post_ok) {
      Answer(c, {405, "method " + request.method + " not allowed on " + request.path + "\n"});
      return;
    }
    c.phase = Phase::kWaiting;
    c.reply = std::make_shared<HttpReply>(mailbox_, c.id);
    const uint64_t id = c.id;
    try {
      route->second.handler(request, c.reply);
    } catch (const std::exception& e) {
      log::Error("HTTP {}: {}", request.path, e.what());
      c.reply->Send({500, "internal error\n"});
    } catch (...) {
      c.reply->Send({500, "internal error\n"});
    }
    auto it = conns_.find(id);  // The handler cannot close it, but stay safe.
    if (it == conns_.end()) return;
    Conn& conn = it->second;
    const auto& state = *conn.reply->state_;
    conn.deadline = Clock::now() + (state.has_timeout ? state.timeout : kDefaultHandlerTimeout);
    // While the answer is awaited, only hang-ups are watched (extra input is not read), so
    // that a client that leaves frees its place; one that shut its side after the request
    // waits for the answer all the same.
    Watch(conn.fd, id, conn.half_closed ? 0u : static_cast<uint32_t>(EPOLLRDHUP), EPOLL_CTL_MOD);
  }

  void Deliver() {
    for (auto& [id, response] : mailbox_->Take()) {
      auto it = conns_.find(id);
      if (it != conns_.end() && it->second.phase == Phase::kWaiting) {
        Answer(it->second, std::move(response));
      }
    }
  }

  void Answer(Conn& c, HttpResponse r) {
    c.out = FormatResponse(r);
    c.sent = 0;
    c.phase = Phase::kWriting;
    c.deadline = Clock::now() + limits::kHttpWriteTimeout;
    Watch(c.fd, c.id, EPOLLOUT, EPOLL_CTL_MOD);
    Flush(c);
  }

  void Flush(Conn& c) {
    while (c.sent < c.out.size()) {
      const ssize_t n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
      if (n > 0) {
        c.sent += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      Close(c.id);
      return;
    }
    // All sent: no more from us; what the client still sends is read and dropped a while, so
    // that closing with unread input does not reset the connection before it reads the answer.
    ::shutdown(c.fd, SHUT_WR);
    c.out.clear();
    c.phase = Phase::kLinger;
    c.deadline = Clock::now() + limits::kHttpLinger;
    Watch(c.fd, c.id, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_MOD);
    Discard(c);
  }

  void Discard(Conn& c) {
    char buf[16384];
    for (int i = 0; i < 64; ++i) {  // Bounded per wake-up: others get their turn.
      const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) continue;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      Close(c.id);
      return;
    }
  }

  void Expire() {
    const Clock::time_point now = Clock::now();
    std::vector<uint64_t> due;
    for (const auto& [id, c] : conns_) {
      if (c.deadline <= now) due.push_back(id);
    }
    for (uint64_t id : due) {
      auto it = conns_.find(id);
      if (it == conns_.end()) continue;
      Conn& c = it->second;
      switch (c.phase) {
        case Phase::kHeader:
          Closed(ConnClose::kHeaderTimeout);
          Answer(c, {408, "no complete request header within " +
                              std::to_string(limits::kHttpHeaderTimeout.count()) + "s\n"});
          break;
        case Phase::kWaiting:
          if (c.reply->Claim()) {
            Answer(c, c.reply->state_->has_timeout ? c.reply->state_->fallback
                                                   : HttpResponse{503, "no answer in time\n"});
          } else {
            c.deadline = Clock::time_point::max();  // The answer is on its way.
          }
          break;
        case Phase::kWriting:
          Closed(ConnClose::kWriteTimeout);
          Close(id);
          break;
        case Phase::kLinger:
          Close(id);
          break;
      }
    }
  }

  void CloseFd(Conn& c) {
    if (c.fd < 0) return;
    loop_.Unwatch(c.fd);
    ::close(c.fd);
    c.fd = -1;
    counters_.ConnectionClosed(which_);
    if (c.reply) {
      c.reply->Claim();  // A late answer is dropped.
      auto done = std::move(c.reply->state_->done);
      c.reply.reset();
      if (done) done();
    }
  }

  void Close(uint64_t id) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    CloseFd(it->second);
    conns_.erase(it);
  }

  void Closed(ConnClose cause) {
    static const char* const kWhat[] = {
        "no complete request header in time (408)",
        "request header too large (431)",
        "not an HTTP request (400)",
        "the client did not take the answer in time",
        "evicted: the listener was full and it was the oldest still sending its header",
        "refused: the listener was full of connections that could not be evicted",
    };
    close_log_.Closed(cause, kWhat[static_cast<size_t>(cause)]);
  }

  const Listener which_;
  ControlCounters& counters_;
  std::map<std::string, RouteEntry> routes_;
  std::shared_ptr<HttpReply::Mailbox> mailbox_;
  std::map<uint64_t, Conn> conns_;
  uint64_t next_id_ = ListenLoop::kFirstId;
  CloseLog close_log_;
  ListenLoop loop_;  // Last: stopped (in ~Impl) before the rest goes.
};

HttpListener::HttpListener(Listener which, ControlCounters& counters)
    : impl_(std::make_unique<Impl>(which, counters)) {}
HttpListener::~HttpListener() = default;

void HttpListener::Route(std::string path, HttpHandler handler, bool allow_post) {
  impl_->Route(std::move(path), std::move(handler), allow_post);
}

Status HttpListener::Start(const std::string& host, int port) {
  return impl_->Start(host, port);
}

}  // namespace vigil::control
