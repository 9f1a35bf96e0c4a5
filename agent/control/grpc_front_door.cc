#include "agent/control/grpc_front_door.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <map>
#include <string_view>
#include <vector>

#include "agent/control/close_log.h"
#include "agent/control/limits.h"
#include "agent/control/listen_loop.h"

namespace vigil::control {
namespace {

using Clock = ListenLoop::Clock;

constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// An HTTP/2 GOAWAY frame on stream 0: last stream 0, PROTOCOL_ERROR, `debug` as debug data.
std::string Goaway(const std::string& debug) {
  const size_t length = 8 + debug.size();
  std::string f;
  f += static_cast<char>((length >> 16) & 0xff);
  f += static_cast<char>((length >> 8) & 0xff);
  f += static_cast<char>(length & 0xff);
  f += '\x07';                           // GOAWAY
  f += '\0';                             // no flags
  f.append(4, '\0');                     // stream 0
  f.append(4, '\0');                     // last stream id 0
  f.append({'\0', '\0', '\0', '\x01'});  // PROTOCOL_ERROR
  return f + debug;
}

bool LooksLikeHttp1(std::string_view head) {
  for (std::string_view m :
       {"GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "PATCH ", "CONNECT ", "TRACE "}) {
    if (head.substr(0, m.size()) == m.substr(0, std::min(m.size(), head.size()))) return true;
  }
  return false;
}

}  // namespace

class GrpcFrontDoor::Impl final : public ListenLoop::Owner {
 public:
  Impl(Listener which, ControlCounters& counters)
      : close_log_(which, counters),
        loop_(std::string("gRPC front door ") + ListenerName(which), *this) {}

  ~Impl() {
    loop_.Stop();
    for (auto& [id, c] : waiting_)
      ::close(c.fd);
    for (auto& [id, fd] : held_)
      ::close(fd);  // No ended(): the runtime is stopping with the front doors.
  }

  Status Start(const std::string& host, int port, HandOver hand_over) {
    hand_over_ = std::move(hand_over);
    if (Status s = loop_.Open(host, port); !s.ok()) return s;
    loop_.Run();
    return Status();
  }

  Status StartUnix(const std::string& path, int mode, HandOver hand_over) {
    hand_over_ = std::move(hand_over);
    if (Status s = loop_.OpenUnix(path, mode); !s.ok()) return s;
    loop_.Run();
    return Status();
  }

 private:
  struct Conn {
    int fd = -1;
    Clock::time_point accepted;
  };

  // ListenLoop::Owner
  void Accepted(int fd) override {
    if (waiting_.size() >= static_cast<size_t>(limits::kHttpMaxConnections)) EvictOldest();
    const uint64_t id = next_id_++;
    waiting_[id] = Conn{fd, Clock::now()};
    // Edge-triggered: peeking leaves the bytes unread, and only new ones should wake us.
    if (!loop_.Watch(fd, id, EPOLLIN | EPOLLRDHUP | EPOLLET, EPOLL_CTL_ADD)) Drop(id);
  }
  bool MakeRoom() override {
    if (EvictOldest()) return true;
    if (held_.empty()) return false;
    Release(held_.begin()->first);
    return true;
  }
  void Ready(uint64_t id, uint32_t) override {
    if (held_.count(id) != 0) {  // The client hung up (or the socket failed).
      Release(id);
    } else {
      Peek(id);
    }
  }
  void AfterEvents() override { Expire(); }
  Clock::time_point NextDeadline() const override {
    Clock::time_point next = Clock::time_point::max();
    for (const auto& [id, c] : waiting_)
      next = std::min(next, c.accepted + limits::kGrpcHandshakeTimeout);
    return next;
  }

  bool EvictOldest() {
    if (waiting_.empty()) return false;
    auto oldest = std::min_element(waiting_.begin(), waiting_.end(), [](auto& a, auto& b) {
      return a.second.accepted < b.second.accepted;
    });
    close_log_.Closed(ConnClose::kEvicted,
                      "evicted: too many connections waiting for their HTTP/2 preface");
    Drop(oldest->first);
    return true;
  }

  void Peek(uint64_t id) {
    auto it = waiting_.find(id);
    if (it == waiting_.end()) return;
    char buf[kPreface.size()];
    const ssize_t n = ::recv(it->second.fd, buf, sizeof buf, MSG_PEEK);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n <= 0) {  // Gone before saying anything: nothing to tell it.
      Drop(id);
      return;
    }
    const std::string_view head(buf, static_cast<size_t>(n));
    if (head == kPreface) {
      const int fd = it->second.fd;
      loop_.Unwatch(fd);
      waiting_.erase(it);
      const bool followed = Hold(fd);  // Before the hand-over: then fd is gRPC's to close.
      hand_over_.take(fd);
      if (!followed) hand_over_.ended();
      return;
    }
    if (head == kPreface.substr(0, head.size())) return;  // More to come.
    const std::string what =
        "this port speaks gRPC (HTTP/2), and the client's first bytes "
        "are not an HTTP/2 client preface";
    if (LooksLikeHttp1(head)) {
      const std::string body = "this port speaks gRPC (HTTP/2 with prior knowledge), not HTTP/1\n";
      Reject(id,
             "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: " +
                 std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body,
             ConnClose::kBadRequest, "an HTTP/1 request on a gRPC port (400)");
    } else {
      Reject(id, Goaway(what), ConnClose::kBadRequest, "not HTTP/2 (GOAWAY: " + what + ")");
    }
  }

  // Follows a connection handed over through a copy of its descriptor: EPOLLRDHUP comes when
  // the client hangs up or gRPC closes it (gRPC shuts the socket down, copy or not).
  // False when it cannot (out of descriptors): the connection then counts as ended at once.
  bool Hold(int fd) {
    const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (copy < 0) return false;
    if (held_.size() >= static_cast<size_t>(limits::kHttpMaxConnections)) {
      Release(held_.begin()->first);
    }
    const uint64_t id = next_id_++;
    held_[id] = copy;
    if (loop_.Watch(copy, id, EPOLLRDHUP, EPOLL_CTL_ADD)) return true;
    loop_.Unwatch(copy);
    ::close(copy);
    held_.erase(id);
    return false;
  }

  void Release(uint64_t id) {
    auto it = held_.find(id);
    if (it == held_.end()) return;
    loop_.Unwatch(it->second);
    ::close(it->second);
    held_.erase(it);
    hand_over_.ended();
  }

  void Expire() {
    const Clock::time_point now = Clock::now();
    std::vector<uint64_t> due;
    for (const auto& [id, c] : waiting_) {
      if (now - c.accepted >= limits::kGrpcHandshakeTimeout) due.push_back(id);
    }
    const std::string what = "no HTTP/2 client preface within " +
                             std::to_string(limits::kGrpcHandshakeTimeout.count()) + "s";
    for (uint64_t id : due)
      Reject(id, Goaway(what), ConnClose::kHeaderTimeout, what);
  }

  // Answers `answer` (best effort: one non-blocking send) and closes.
  void Reject(uint64_t id, const std::string& answer, ConnClose cause, const std::string& what) {
    auto it = waiting_.find(id);
    if (it == waiting_.end()) return;
    if (::send(it->second.fd, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
      // The client is gone or not reading: closing is all there is left to do.
    }
    // Unread input would turn the close into a reset that can destroy the answer in flight.
    ::shutdown(it->second.fd, SHUT_WR);
    char sink[4096];
    while (::recv(it->second.fd, sink, sizeof sink, MSG_DONTWAIT) > 0) {
    }
    close_log_.Closed(cause, what);
    Drop(id);
  }

  void Drop(uint64_t id) {
    auto it = waiting_.find(id);
    if (it == waiting_.end()) return;
    loop_.Unwatch(it->second.fd);
    ::close(it->second.fd);
    waiting_.erase(it);
  }

  CloseLog close_log_;
  HandOver hand_over_;
  std::map<uint64_t, Conn> waiting_;
  std::map<uint64_t, int> held_;  // copies of connections handed over, by id (oldest first)
  uint64_t next_id_ = ListenLoop::kFirstId;
  ListenLoop loop_;  // Last: stopped (in ~Impl) before the rest goes.
};

GrpcFrontDoor::GrpcFrontDoor(Listener which, ControlCounters& counters)
    : impl_(std::make_unique<Impl>(which, counters)) {}
GrpcFrontDoor::~GrpcFrontDoor() = default;

Status GrpcFrontDoor::Start(const std::string& host, int port, HandOver hand_over) {
  return impl_->Start(host, port, std::move(hand_over));
}

Status GrpcFrontDoor::StartUnix(const std::string& path, int mode, HandOver hand_over) {
  return impl_->StartUnix(path, mode, std::move(hand_over));
}

}  // namespace vigil::control
