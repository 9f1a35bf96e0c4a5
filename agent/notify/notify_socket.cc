#include "agent/notify/notify_socket.h"

#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>

#include "agent/notify/notify_message.h"

namespace vigil {

std::string NotifyTransport::NewToken() {
  uint64_t value = 0;
  if (::getrandom(&value, sizeof value, GRND_NONBLOCK) != sizeof value) {
    // No entropy yet (very early boot): still unique, if guessable.
    static uint64_t counter = 0;
    value =
        (static_cast<uint64_t>(::getpid()) << 32) ^ ++counter ^ reinterpret_cast<uintptr_t>(&value);
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(value));
  return buf;
}

StatusOr<UniqueFd> LinuxNotifyTransport::Open(const std::string& name) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return Status::FromErrno("notify socket", errno);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (name.size() + 1 > sizeof addr.sun_path) return Status::Error("notify socket name too long");
  addr.sun_path[0] = '\0';  // Abstract namespace.
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  const socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    return Status::FromErrno("bind notify socket @" + name, errno);
  }
  int on = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) {
    return Status::FromErrno("setsockopt(SO_PASSCRED)", errno);
  }
  return fd;
}

std::vector<NotifyDatagram> LinuxNotifyTransport::Drain(int fd) {
  std::vector<NotifyDatagram> out;
  // One byte more than the protocol allows, so an oversized datagram is seen as such.
  char buf[kMaxNotifyDatagram + 1];
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int) * 16)];
  for (;;) {
    iovec iov{buf, sizeof buf};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;  // EAGAIN: drained. Anything else: nothing more to read now.
    }
    NotifyDatagram d;
    d.truncated = (msg.msg_flags & MSG_TRUNC) != 0 || static_cast<size_t>(n) > kMaxNotifyDatagram;
    d.data.assign(buf, std::min(static_cast<size_t>(n), kMaxNotifyDatagram));
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET) continue;
      if (c->cmsg_type == SCM_CREDENTIALS) {
        ucred cred;
        std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
        d.sender_pid = cred.pid;
      } else if (c->cmsg_type == SCM_RIGHTS) {
        // sd_pid_notify_with_fds() may pass descriptors; we keep none of them.
        const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
          int passed;
          std::memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof passed);
          ::close(passed);
        }
      }
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace vigil
