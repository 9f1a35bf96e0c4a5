// ListenLoop: the thread of one of vigil-control's own TCP listeners (http_listener.h,
// grpc_front_door.h): a listening socket, an epoll set, an eventfd that wakes it, and the loop
// that accepts connections and hands every other event to its owner. The owner's handlers run
// on the loop's thread and must never wait on a client, so no client can hold up another.
//
// When accept fails for want of descriptors or memory, the owner may make room (close a
// connection); when it cannot, the listener stops accepting for kAcceptPause, so that the
// listening socket does not wake the loop at once, forever. An epoll_wait failure is logged and
// the loop waits as long before trying again: never a busy loop.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

#include "agent/base/status.h"

namespace vigil::control {

class ListenLoop {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kAcceptPause{100};
  // The ids an owner gives its connections start here (the ones below are the loop's own).
  static constexpr uint64_t kFirstId = 2;

  class Owner {
   public:
    // A new connection (non-blocking, close-on-exec): the owner's from now on.
    virtual void Accepted(int fd) = 0;
    // accept found no descriptor or memory: true if the owner closed a connection for room.
    virtual bool MakeRoom() = 0;
    // Events on a descriptor the owner watches under `id`.
    virtual void Ready(uint64_t id, uint32_t events) = 0;
    // After each round of events, and at the deadline.
    virtual void AfterEvents() = 0;
    // When AfterEvents() is next due; Clock::time_point::max() for never.
    virtual Clock::time_point NextDeadline() const = 0;

   protected:
    ~Owner() = default;
  };

  // `name` starts its log lines ("HTTP listener metrics").
  ListenLoop(std::string name, Owner& owner) : name_(std::move(name)), owner_(owner) {}
  ~ListenLoop();  // Stop(), then closes its descriptors.

  // Listens on host:port (tcp_listen.h) and sets up the epoll set and the eventfd; then Run().
  Status Open(const std::string& host, int port);
  // The same on a unix socket at `path`, given `mode` (ListenUnix in tcp_listen.h).
  Status OpenUnix(const std::string& path, int mode);
  void Run();
  // Ends the loop and waits for its thread (before the owner's state goes). Idempotent.
  void Stop();
  // Any thread: the loop goes round once (its owner's AfterEvents()).
  void Wake();
  int wake_fd() const { return wake_fd_; }

  // The owner's descriptors (loop thread); EPOLL_CTL_ADD or _MOD, false on failure.
  bool Watch(int fd, uint64_t id, uint32_t events, int op);
  void Unwatch(int fd);

 private:
  Status Watching(StatusOr<int> listen_fd);
  void Loop();
  void Accept();
  int TimeoutMs() const;

  const std::string name_;
  Owner& owner_;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  bool accept_paused_ = false;
  Clock::time_point accept_resume_{};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace vigil::control
