#include "agent/notify/notify_socket.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "agent/notify/notify_message.h"
#include "agent/sys/pidfd.h"

// Older C libraries (Debian 12's glibc 2.36) do not name these yet.
#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76
#endif
#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04
#endif

namespace vigil {
namespace {

// The kernel passes at most SCM_MAX_FD (253) descriptors in one message: room for all of them
// (so none is lost unclosed, though the kernel closes what does not fit), plus the credentials
// and the pidfd.
constexpr size_t kControlSize =
    CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(int) * 253);

Status SetFlag(int fd, int option, const char* name) {
  int on = 1;
  if (::setsockopt(fd, SOL_SOCKET, option, &on, sizeof on) != 0) {
    return Status::FromErrno(std::string("setsockopt(") + name + ")", errno);
  }
  return Status();
}

// Whether this kernel attaches pidfds to unix datagrams (Linux 6.5 and later).
bool KernelHasPassPidfd() {
  UniqueFd probe(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  return probe && SetFlag(probe.get(), SO_PASSPIDFD, "SO_PASSPIDFD").ok();
}

// The run's own processes are known by their identity alone: nothing else is read of them (the
// common case, a worker's pings, costs no /proc read and no getpgid).
bool Known(const KnownSenders& known, uint64_t identity) {
  return identity != 0 && (identity == known.leader_identity || identity == known.main_identity);
}

// The sender of a datagram as read from its control messages, looked at now.
NotifySender ReadSender(bool use_pidfd, const ucred* cred, UniqueFd pidfd, int pidfd_error,
                        const KnownSenders& known) {
  NotifySender sender;
  if (cred != nullptr) {
    sender.uid = cred->uid;
    sender.credentials_pid = cred->pid;
  }
  if (use_pidfd) {
    if (!pidfd && pidfd_error == 0) return sender;  // Source kNone: no credentials at all.
    sender.source = NotifySender::Source::kPidfd;
    if (pidfd) {
      const uint64_t identity = PidfdIdentity(pidfd.get());
      if (Known(known, identity)) {
        sender.process = ProcessFacts{sender.credentials_pid, -1, false, identity};
      } else {
        sender.process = InspectPidfd(pidfd.get());
      }
    } else {
      // Kernels before 6.16 cannot make a pidfd of a reaped sender; EMFILE and the like: none.
      sender.pidfd_error = pidfd_error;
      sender.process.pid = pidfd_error == ESRCH || pidfd_error == EINVAL ? -1 : -2;
    }
    return sender;
  }
  if (cred == nullptr) return sender;
  sender.source = NotifySender::Source::kUcred;
  if (cred->pid <= 0) {
    sender.process.pid = 0;  // Not in our PID namespace: the kernel cannot name it.
    return sender;
  }
  if (known.leader_pid > 0 && cred->pid == known.leader_pid) {
    // The unreaped leader: its pid cannot name anyone else (AuthorizeSender says the same).
    sender.process.pid = cred->pid;
    return sender;
  }
  // Opened now, after the fact: the best SCM_CREDENTIALS allows (the pid may name a newer
  // process if the sender has exited and its pid was reused since).
  auto opened = OpenPidfd(cred->pid);
  if (!opened.ok()) {
    sender.pidfd_error = opened.status().os_error();
    sender.process.pid = sender.pidfd_error == ESRCH ? -1 : -2;
    return sender;
  }
  sender.process = InspectPidfd(opened->get());
  return sender;
}

}  // namespace

const char* NotifyCredentialsName(NotifyCredentials credentials) {
  switch (credentials) {
    case NotifyCredentials::kAuto:
      return "auto";
    case NotifyCredentials::kPidfd:
      return "pidfd";
    case NotifyCredentials::kUcred:
      return "ucred";
  }
  return "auto";
}

StatusOr<std::unique_ptr<LinuxNotifyTransport>> LinuxNotifyTransport::Create(
    NotifyDirectory directory, NotifyCredentials credentials) {
  bool pidfd = credentials != NotifyCredentials::kUcred && KernelHasPassPidfd();
  if (credentials == NotifyCredentials::kPidfd && !pidfd) {
    return Status::Error(
        "notify.credentials is pidfd, but this kernel cannot attach pidfds to datagrams "
        "(SO_PASSPIDFD, Linux 6.5 and later): use auto or ucred");
  }
  // Either way senders are read through pidfds and /proc/self/fdinfo: check both work here.
  auto self = OpenPidfd(::getpid());
  if (!self.ok()) {
    return Status::Error("cannot read senders of notify datagrams: " + self.status().message() +
                         " (pidfd_open needs Linux 5.3 or later)");
  }
  if (PidOfPidfdFromProc(self->get()) != ::getpid()) {
    return Status::Error(
        "cannot read senders of notify datagrams: /proc/self/fdinfo does not show pids (is /proc "
        "mounted?)");
  }
  return std::unique_ptr<LinuxNotifyTransport>(
      new LinuxNotifyTransport(std::move(directory), pidfd));
}

StatusOr<NotifyEndpoint> LinuxNotifyTransport::Open(const std::string& label, uid_t owner,
                                                    gid_t group) {
  NotifyEndpoint endpoint;
  endpoint.fd.Reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!endpoint.fd) return Status::FromErrno("notify socket for " + label, errno);
  // Credentials are asked for before the socket has a name: no datagram arrives without them.
  Status s = SetFlag(endpoint.fd.get(), SO_PASSCRED, "SO_PASSCRED");
  if (s.ok() && pidfd_) s = SetFlag(endpoint.fd.get(), SO_PASSPIDFD, "SO_PASSPIDFD");
  if (!s.ok()) return Status::Error("notify socket for " + label + ": " + s.message());
  auto paths = directory_.CreateRun(endpoint.fd.get(), owner, group);
  if (!paths.ok())
    return Status::Error("notify socket for " + label + ": " + paths.status().message());
  endpoint.paths = std::move(*paths);
  return endpoint;
}

void LinuxNotifyTransport::Close(NotifyEndpoint& endpoint) {
  if (!endpoint.fd) return;
  endpoint.fd.Reset();
  if (holding_) {
    held_.push_back(std::move(endpoint.paths));
  } else {
    directory_.RemoveRun(endpoint.paths);
  }
  endpoint.paths = NotifyRunPaths();
}

void LinuxNotifyTransport::ReleaseRemovals() {
  holding_ = false;
  for (const NotifyRunPaths& run : held_)
    directory_.RemoveRun(run);
  held_.clear();
}

namespace {

// Datagrams taken by one recvmmsg(): with two, a lone datagram (a worker's ping) is read and the
// socket found empty in one system call, with no second call to meet EAGAIN.
constexpr unsigned kReadBatch = 2;

// What one received message says: its bytes, size, credentials and sender.
NotifyDatagram Parse(msghdr& msg, size_t size, bool use_pidfd, const KnownSenders& known) {
  NotifyDatagram d;
  d.size = size;
  d.truncated = (msg.msg_flags & MSG_TRUNC) != 0 || d.size > kMaxNotifyDatagram;
  d.data.assign(static_cast<const char*>(msg.msg_iov[0].iov_base),
                std::min(d.size, kMaxNotifyDatagram));
  d.control_truncated = (msg.msg_flags & MSG_CTRUNC) != 0;
  const ucred* cred = nullptr;
  ucred cred_copy;
  UniqueFd pidfd;
  int pidfd_error = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET) continue;
    const size_t payload = c->cmsg_len - CMSG_LEN(0);
    if (c->cmsg_type == SCM_RIGHTS) {
      // Descriptors are never used: each is closed at once, and the datagram refused.
      for (size_t i = 0; i + sizeof(int) <= payload; i += sizeof(int)) {
        int passed;
        std::memcpy(&passed, CMSG_DATA(c) + i, sizeof passed);
        ::close(passed);
        ++d.fds_passed;
      }
    } else if (c->cmsg_type == SCM_CREDENTIALS && payload >= sizeof(ucred)) {
      std::memcpy(&cred_copy, CMSG_DATA(c), sizeof cred_copy);
      cred = &cred_copy;
    } else if (c->cmsg_type == SCM_PIDFD && payload >= sizeof(int)) {
      int value;
      std::memcpy(&value, CMSG_DATA(c), sizeof value);
      if (value >= 0) {
        pidfd.Reset(value);
      } else {
        pidfd_error = -value;
      }
    }
  }
  d.sender = ReadSender(use_pidfd, cred, std::move(pidfd), pidfd_error, known);
  return d;
}

}  // namespace

std::vector<NotifyDatagram> LinuxNotifyTransport::Drain(int fd, size_t max,
                                                        const KnownSenders& known) {
  std::vector<NotifyDatagram> out;
  // One byte more than the protocol allows, so an oversized datagram is seen as such (and
  // MSG_TRUNC gives its real size).
  char buf[kReadBatch][kMaxNotifyDatagram + 1];
  alignas(cmsghdr) char control[kReadBatch][kControlSize];
  while (out.size() < max) {
    const unsigned want = static_cast<unsigned>(std::min<size_t>(kReadBatch, max - out.size()));
    iovec iov[kReadBatch];
    mmsghdr msgs[kReadBatch] = {};
    for (unsigned i = 0; i < want; ++i) {
      iov[i] = iovec{buf[i], sizeof buf[i]};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_control = control[i];
      msgs[i].msg_hdr.msg_controllen = sizeof control[i];
    }
    const int n = ::recvmmsg(fd, msgs, want, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;  // EAGAIN: drained. Anything else: nothing more to read now.
    }
    for (int i = 0; i < n; ++i)
      out.push_back(Parse(msgs[i].msg_hdr, msgs[i].msg_len, pidfd_, known));
    // Fewer than asked for: the socket was empty after the last one.
    if (static_cast<unsigned>(n) < want) break;
  }
  return out;
}

}  // namespace vigil
