// NotifyTransport: the sockets workers send sd_notify datagrams to.
//
// One socket per worker run, bound to a fresh abstract address (NOTIFY_SOCKET=@name), so a
// message is attributed to its worker by the socket it arrives on, never by guessing from a pid
// that may already be gone (the race of `systemd-notify --ready` exiting at once). SO_PASSCRED
// gives the sender's pid for a second check, done by the owner: pid 0 means a sender outside
// Vigil's PID namespace (another container of the pod), which is refused. Abstract addresses
// need no writable directory and vanish with the socket.
//
// LinuxNotifyTransport is the real one; tests may fake the interface. Single-threaded.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "agent/base/status.h"
#include "agent/base/unique_fd.h"

namespace vigil {

struct NotifyDatagram {
  std::string data;
  pid_t sender_pid = 0;
  bool truncated = false;  // larger than the 4 KiB the protocol allows
};

class NotifyTransport {
 public:
  virtual ~NotifyTransport() = default;
  // A non-blocking datagram socket bound to the abstract address `name` (without the '@').
  virtual StatusOr<UniqueFd> Open(const std::string& name) = 0;
  // Every datagram queued on `fd`, oldest first.
  virtual std::vector<NotifyDatagram> Drain(int fd) = 0;
  // 64 random bits from the kernel, as hex: each worker run's socket name carries its own, so
  // no process can address a worker's socket without reading that worker's environment.
  virtual std::string NewToken();
};

class LinuxNotifyTransport final : public NotifyTransport {
 public:
  StatusOr<UniqueFd> Open(const std::string& name) override;
  std::vector<NotifyDatagram> Drain(int fd) override;
};

}  // namespace vigil
