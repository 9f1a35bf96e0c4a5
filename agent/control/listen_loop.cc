#include "agent/control/listen_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "agent/control/tcp_listen.h"
#include "agent/log/log.h"

namespace vigil::control {
namespace {

constexpr uint64_t kListenId = 0;
constexpr uint64_t kWakeId = 1;
static_assert(ListenLoop::kFirstId > kWakeId);

Status Errno(const std::string& what) {
  return Status::Error(what + ": " + std::strerror(errno));
}

}  // namespace

ListenLoop::~ListenLoop() {
  Stop();
  for (int fd : {listen_fd_, wake_fd_, epoll_fd_}) {
    if (fd >= 0) ::close(fd);
  }
}

Status ListenLoop::Open(const std::string& host, int port) {
  return Watching(ListenTcp(host, port));
}

Status ListenLoop::OpenUnix(const std::string& path, int mode) {
  return Watching(ListenUnix(path, mode));
}

Status ListenLoop::Watching(StatusOr<int> fd) {
  if (!fd.ok()) return fd.status();
  listen_fd_ = *fd;
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return Errno("epoll_create1");
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return Errno("eventfd");
  if (!Watch(listen_fd_, kListenId, EPOLLIN, EPOLL_CTL_ADD) ||
      !Watch(wake_fd_, kWakeId, EPOLLIN, EPOLL_CTL_ADD)) {
    return Errno("epoll_ctl");
  }
  return Status();
}

void ListenLoop::Run() {
  thread_ = std::thread([this] { Loop(); });
}

void ListenLoop::Stop() {
  if (!thread_.joinable()) return;
  stop_ = true;
  Wake();
  thread_.join();
}

void ListenLoop::Wake() {
  const uint64_t one = 1;
  if (::write(wake_fd_, &one, sizeof one) < 0) {
    // EAGAIN: the counter is saturated, so the loop is awake already.
  }
}

bool ListenLoop::Watch(int fd, uint64_t id, uint32_t events, int op) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = id;
  return ::epoll_ctl(epoll_fd_, op, fd, &ev) == 0;
}

void ListenLoop::Unwatch(int fd) {
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

void ListenLoop::Loop() {
  epoll_event events[64];
  while (!stop_) {
    const int n = ::epoll_wait(epoll_fd_, events, 64, TimeoutMs());
    if (n < 0 && errno != EINTR) {
      log::Error("{}: epoll_wait: {}", name_, std::strerror(errno));
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
        owner_.Ready(id, events[i].events);
      }
    }
    if (accept_paused_ && Clock::now() >= accept_resume_) {
      accept_paused_ = false;
      Watch(listen_fd_, kListenId, EPOLLIN, EPOLL_CTL_MOD);
    }
    owner_.AfterEvents();
  }
}

int ListenLoop::TimeoutMs() const {
  Clock::time_point next = owner_.NextDeadline();
  if (accept_paused_) next = std::min(next, accept_resume_);
  if (next == Clock::time_point::max()) return -1;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(next - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(left, 0, 60000));
}

void ListenLoop::Accept() {
  for (int i = 0; i < 64; ++i) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      // Out of descriptors or memory: make room, or pause accepting a while.
      const int error = errno;
      if (!owner_.MakeRoom()) {
        log::Warn("{}: accept: {}; pausing for {} ms", name_, std::strerror(error),
                  kAcceptPause.count());
        accept_paused_ = true;
        accept_resume_ = Clock::now() + kAcceptPause;
        Watch(listen_fd_, kListenId, 0, EPOLL_CTL_MOD);
      }
      return;
    }
    owner_.Accepted(fd);
  }
}

}  // namespace vigil::control
