#include "agent/control/http_listener.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

#include "agent/control/close_log.h"
#include "agent/control/limits.h"
#include "agent/control/tcp_listen.h"
#include "agent/log/log.h"

namespace vigil::control {

using Clock = std::chrono::steady_clock;

namespace {

constexpr uint64_t kListenId = 0;
constexpr uint64_t kWakeId = 1;
constexpr auto kAcceptPause = std::chrono::milliseconds(100);
// A handler that neither answers nor sets a timeout is answered 503 after this.
constexpr auto kDefaultHandlerTimeout = std::chrono::seconds(30);

const char* Reason(int code) {
  switch (code) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// The request header (without its blank line) into `r`; false with `why` when it is not HTTP.
bool ParseHead(std::string_view head, HttpRequest* r, std::string* why) {
  for (char c : head) {
    const unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\r' && c != '\n' && c != '\t') || u == 0x7f) {
      *why = "control byte in the request header";
      return false;
    }
  }
  std::vector<std::string_view> lines;
  while (!head.empty()) {
    const size_t nl = head.find('\n');
    std::string_view line = head.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    head.remove_prefix(nl + 1);
  }
  if (lines.empty() || lines[0].empty()) {
    *why = "no request line";
    return false;
  }
  const std::string_view line = lines[0];
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    *why = "the request line is not 'METHOD /path HTTP/1.1'";
    return false;
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (method.empty() || method.size() > 16 ||
      !std::all_of(method.begin(), method.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    *why = "bad method";
    return false;
  }
  if (target.empty() || target[0] != '/') {
    *why = "the target is not a path";
    return false;
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    *why = "not HTTP/1.0 or HTTP/1.1";
    return false;
  }
  r->method = std::string(method);
  const size_t q = target.find('?');
  r->path = std::string(target.substr(0, q));
  r->query = q == std::string_view::npos ? "" : std::string(target.substr(q + 1));
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string_view h = lines[i];
    if (h.empty()) continue;
    const size_t colon = h.find(':');
    if (colon == 0 || colon == std::string_view::npos ||
        !std::all_of(h.begin(), h.begin() + static_cast<long>(colon), IsTokenChar)) {
      *why = "a header line is not 'Name: value'";
      return false;
    }
    r->headers.emplace_back(std::string(h.substr(0, colon)),
                            std::string(Trim(h.substr(colon + 1))));
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 &&
               HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::string HttpRequest::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (EqualsIgnoreCase(n, name)) return v;
  }
  return "";
}

bool HttpRequest::QueryValue(std::string_view name, std::string* value) const {
  std::string_view rest = query;
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const size_t eq = pair.find('=');
    if (PercentDecode(pair.substr(0, eq)) == name) {
      *value = eq == std::string_view::npos ? "" : PercentDecode(pair.substr(eq + 1));
      return true;
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return false;
}

bool SplitHostPort(const std::string& address, std::string* host, int* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size() || address.size() - colon - 1 > 5) {
    return false;
  }
  int p = 0;
  for (size_t i = colon + 1; i < address.size(); ++i) {
    if (address[i] < '0' || address[i] > '9') return false;
    p = p * 10 + (address[i] - '0');
  }
  if (p < 1 || p > 65535) return false;
  *host = address.substr(0, colon);
  *port = p;
  return true;
}

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

class HttpListener::Impl {
 public:
  Impl(Listener which, ControlCounters& counters)
      : which_(which), counters_(counters), close_log_(which, counters) {}

  ~Impl() {
    if (thread_.joinable()) {
      stop_ = true;
      mailbox_->Wake();
      thread_.join();
    }
    for (auto& [id, c] : conns_)
      CloseFd(c);
    conns_.clear();
    if (mailbox_) mailbox_->Close();
    for (int fd : {listen_fd_, wake_fd_, epoll_fd_}) {
      if (fd >= 0) ::close(fd);
    }
  }

  void Route(std::string path, HttpHandler handler, bool allow_post) {
    routes_[std::move(path)] = RouteEntry{std::move(handler), allow_post};
  }

  Status Start(const std::string& host, int port) {
    StatusOr<int> fd = ListenTcp(host, port);
    if (!fd.ok()) return fd.status();
    listen_fd_ = *fd;
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) return Errno("epoll_create1");
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) return Errno("eventfd");
    mailbox_ = std::make_shared<HttpReply::Mailbox>(wake_fd_);
    if (!Watch(listen_fd_, kListenId, EPOLLIN, EPOLL_CTL_ADD) ||
        !Watch(wake_fd_, kWakeId, EPOLLIN, EPOLL_CTL_ADD)) {
      return Errno("epoll_ctl");
    }
    thread_ = std::thread([this] { Loop(); });
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

  static Status Errno(const std::string& what) {
    return Status::Error(what + ": " + std::strerror(errno));
  }

  bool Watch(int fd, uint64_t id, uint32_t events, int op) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = id;
    return ::epoll_ctl(epoll_fd_, op, fd, &ev) == 0;
  }

  void Loop() {
    epoll_event events[64];
    while (!stop_) {
      const int n = ::epoll_wait(epoll_fd_, events, 64, NextTimeoutMs());
      if (n < 0 && errno != EINTR) {
        log::Error("HTTP listener {}: epoll_wait: {}", ListenerName(which_), std::strerror(errno));
        std::this_thread::sleep_for(kAcceptPause);  // Not a busy loop, whatever happened.
      }
      for (int i = 0; i < n; ++i) {
        const uint64_t id = events[i].data.u64;
        if (id == kListenId) {
          Accept();
        } else if (id == kWakeId) {
          uint64_t count;
          while (::read(wake_fd_, &count, sizeof count) > 0) {
          }
        } else {
          OnEvent(id, events[i].events);
        }
      }
      Deliver();
      Expire();
    }
  }

  int NextTimeoutMs() const {
    Clock::time_point next = Clock::time_point::max();
    for (const auto& [id, c] : conns_)
      next = std::min(next, c.deadline);
    if (accept_paused_) next = std::min(next, accept_resume_);
    if (next == Clock::time_point::max()) return -1;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(next - Clock::now()).count();
    return static_cast<int>(std::clamp<int64_t>(left, 0, 60000));
  }

  void Accept() {
    for (int i = 0; i < 64; ++i) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        // Out of descriptors or memory: make room by evicting, or pause accepting a while
        // (the listen socket would otherwise wake the loop at once, forever).
        if (!EvictOldestHeader()) {
          log::Warn("HTTP listener {}: accept: {}; pausing for {} ms", ListenerName(which_),
                    std::strerror(errno), kAcceptPause.count());
          accept_paused_ = true;
          accept_resume_ = Clock::now() + kAcceptPause;
          Watch(listen_fd_, kListenId, 0, EPOLL_CTL_MOD);
        }
        return;
      }
      if (conns_.size() >= static_cast<size_t>(limits::kHttpMaxConnections) &&
          !EvictOldestHeader()) {
        ::close(fd);
        Closed(ConnClose::kRefused);
        continue;
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
        continue;
      }
      counters_.ConnectionOpened(which_);
    }
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
    if (!ParseHead(std::string_view(c.in).substr(0, end), &request, &why)) {
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
    c.out = "HTTP/1.1 " + std::to_string(r.code) + " " + Reason(r.code) +
            "\r\nContent-Type: " + r.content_type +
            "\r\nContent-Length: " + std::to_string(r.body.size()) +
            "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n" + r.body;
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
    if (accept_paused_ && now >= accept_resume_) {
      accept_paused_ = false;
      Watch(listen_fd_, kListenId, EPOLLIN, EPOLL_CTL_MOD);
    }
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
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
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
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::shared_ptr<HttpReply::Mailbox> mailbox_;
  std::map<uint64_t, Conn> conns_;
  uint64_t next_id_ = 2;
  bool accept_paused_ = false;
  Clock::time_point accept_resume_{};
  CloseLog close_log_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
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
