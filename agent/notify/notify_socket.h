// NotifyTransport: the sockets workers send sd_notify datagrams to, and who sent each datagram.
//
// One filesystem datagram socket per worker run, NOTIFY_SOCKET=<dir>/<run>/notify, in a
// directory of its own (mode 0700) owned by the worker's uid (NotifyDirectory), so that no
// process of another uid can reach it: abstract sockets, listed in /proc/net/unix, were open to
// anyone in the network namespace. A message is attributed to its worker by the socket it
// arrives on, and its sender is read at receipt (as systemd does), for the owner to check with
// AuthorizeSender (notify_auth.h): SCM_PIDFD where the kernel has it (6.5+), a handle on the very
// process that sent the datagram, or else SCM_CREDENTIALS (its pid, opened as a pidfd at once).
// Descriptors passed with a datagram (SCM_RIGHTS) are closed unread and reported.
//
// LinuxNotifyTransport is the real one; tests fake the interface. Single-threaded.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agent/base/status.h"
#include "agent/base/unique_fd.h"
#include "agent/config/config.h"
#include "agent/notify/notify_directory.h"
#include "agent/sys/os.h"

namespace vigil {

// How senders' credentials are read (config.h): SCM_PIDFD (race-free), SCM_CREDENTIALS (older
// kernels), or SCM_PIDFD where the kernel has it (the default).
const char* NotifyCredentialsName(NotifyCredentials credentials);  // "auto", "pidfd", "ucred"

// Who sent a datagram, as read when it was received.
struct NotifySender {
  enum class Source { kNone, kPidfd, kUcred };
  Source source = Source::kNone;
  ProcessFacts process;                // pid 0: outside Vigil's PID namespace; -1: gone
  pid_t credentials_pid = 0;           // the pid in SCM_CREDENTIALS (0: none, or outside)
  uid_t uid = static_cast<uid_t>(-1);  // from SCM_CREDENTIALS, for the log; -1: unknown
  int pidfd_error = 0;  // the kernel sent an error instead of a pidfd (EMFILE, ESRCH...)
};

struct NotifyDatagram {
  std::string data;                // at most kMaxNotifyDatagram bytes of it
  size_t size = 0;                 // its real size
  bool truncated = false;          // larger than kMaxNotifyDatagram
  int fds_passed = 0;              // descriptors it carried (SCM_RIGHTS), closed on receipt
  bool control_truncated = false;  // more ancillary data than fits: descriptors, dropped
  NotifySender sender;
};

// The run's own processes, recognised at receipt without reading anything more of them: pidfs
// identities (0: none), and the leader's pid while Vigil has not reaped it (-1: none), which
// cannot name anyone else meanwhile.
struct KnownSenders {
  uint64_t leader_identity = 0;
  uint64_t main_identity = 0;
  pid_t leader_pid = -1;
};

// One run's socket: its descriptor and what NotifyDirectory made for it.
struct NotifyEndpoint {
  UniqueFd fd;
  NotifyRunPaths paths;
};

class NotifyTransport {
 public:
  virtual ~NotifyTransport() = default;
  // A non-blocking socket for one worker run, reachable only by `owner`:`group` (-1: Vigil's).
  // `label` ("web/0") names it in errors.
  virtual StatusOr<NotifyEndpoint> Open(const std::string& label, uid_t owner, gid_t group) = 0;
  // Removes what Open made (only what is still Vigil's) and closes the socket.
  virtual void Close(NotifyEndpoint& endpoint) = 0;
  // Between these, Close() closes the socket at once but leaves the run's directory to
  // ReleaseRemovals(), which removes every one it held: a burst of exits (a drain reaps its
  // workers by the hundred) is reported first and its filesystem work, most of an exit's cost,
  // done after. Holds at most one entry per run closed meanwhile.
  virtual void HoldRemovals() {}
  virtual void ReleaseRemovals() {}
  // Up to `max` datagrams queued on `fd`, oldest first, each with its sender read at receipt
  // (only its identity when it is one of `known`).
  virtual std::vector<NotifyDatagram> Drain(int fd, size_t max, const KnownSenders& known) = 0;
};

class LinuxNotifyTransport final : public NotifyTransport {
 public:
  // Takes the directory (NotifyDirectory::Open) and picks how credentials are read: kPidfd
  // fails on a kernel without SO_PASSPIDFD, kAuto falls back to SCM_CREDENTIALS there.
  static StatusOr<std::unique_ptr<LinuxNotifyTransport>> Create(NotifyDirectory directory,
                                                                NotifyCredentials credentials);

  StatusOr<NotifyEndpoint> Open(const std::string& label, uid_t owner, gid_t group) override;
  ~LinuxNotifyTransport() override { ReleaseRemovals(); }
  void Close(NotifyEndpoint& endpoint) override;
  void HoldRemovals() override { holding_ = true; }
  void ReleaseRemovals() override;
  std::vector<NotifyDatagram> Drain(int fd, size_t max, const KnownSenders& known) override;

  bool uses_pidfd() const { return pidfd_; }
  const NotifyDirectory& directory() const { return directory_; }

 private:
  LinuxNotifyTransport(NotifyDirectory directory, bool pidfd)
      : directory_(std::move(directory)), pidfd_(pidfd) {}

  NotifyDirectory directory_;
  bool holding_ = false;
  std::vector<NotifyRunPaths> held_;  // closed while holding: removed by ReleaseRemovals()
  bool pidfd_;
};

}  // namespace vigil
