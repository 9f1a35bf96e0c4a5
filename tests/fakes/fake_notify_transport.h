// FakeNotifyTransport: a NotifyTransport with scripted sockets and datagrams.
//
// Open(name) records the name and returns a real descriptor (an eventfd, so the UniqueFd that
// owns it in the code under test can close it safely), unless an error was scripted for it.
// The test queues datagrams (data, sender pid, truncated) for an fd, or for the socket opened
// last under a name prefix; Drain(fd) hands back and forgets everything queued on that fd.
//
// Descriptor numbers are reused by the kernel once closed, so Open() forgets whatever was
// queued on a number it hands out again. NewToken() is deterministic: "t1", "t2", ...
#pragma once

#include <sys/eventfd.h>
#include <sys/types.h>

#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "agent/base/status.h"
#include "agent/base/unique_fd.h"
#include "agent/notify/notify_socket.h"

namespace vigil::testing {

class FakeNotifyTransport final : public NotifyTransport {
 public:
  struct Opened {
    std::string name;
    int fd;
  };

  // ---- Scripting ----
  // The next Open() calls fail with these, in order; later calls succeed again.
  void ScriptOpenFailure(Status status) { open_failures_.push_back(std::move(status)); }

  void Queue(int fd, std::string data, pid_t sender_pid, bool truncated = false) {
    queued_[fd].push_back(NotifyDatagram{std::move(data), sender_pid, truncated});
  }

  // ---- Records ----
  std::vector<std::string> open_attempts;  // every name asked for, failed or not
  std::vector<Opened> opened;              // the sockets handed out, in order
  std::vector<int> drained;                // the fd of every Drain() call

  // The fd of the socket opened last whose name starts with `prefix`, or -1.
  int LastFdWithPrefix(const std::string& prefix) const {
    for (auto it = opened.rbegin(); it != opened.rend(); ++it) {
      if (it->name.rfind(prefix, 0) == 0) return it->fd;
    }
    return -1;
  }
  size_t pending(int fd) const {
    auto it = queued_.find(fd);
    return it == queued_.end() ? 0 : it->second.size();
  }

  // ---- NotifyTransport ----
  StatusOr<UniqueFd> Open(const std::string& name) override {
    open_attempts.push_back(name);
    if (!open_failures_.empty()) {
      Status failure = std::move(open_failures_.front());
      open_failures_.pop_front();
      return failure;
    }
    UniqueFd fd(::eventfd(0, EFD_CLOEXEC));
    if (!fd) return Status::Error("eventfd failed");
    queued_.erase(fd.get());
    opened.push_back(Opened{name, fd.get()});
    return fd;
  }

  std::string NewToken() override { return "t" + std::to_string(++tokens_); }

  std::vector<NotifyDatagram> Drain(int fd) override {
    drained.push_back(fd);
    auto it = queued_.find(fd);
    if (it == queued_.end()) return {};
    std::vector<NotifyDatagram> out(it->second.begin(), it->second.end());
    queued_.erase(it);
    return out;
  }

 private:
  int tokens_ = 0;
  std::deque<Status> open_failures_;
  std::map<int, std::deque<NotifyDatagram>> queued_;
};

}  // namespace vigil::testing
