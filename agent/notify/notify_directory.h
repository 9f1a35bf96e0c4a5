// NotifyDirectory: the directory of the workers' notify sockets, made safe at start-up and used
// race-free afterwards.
//
// The directory (notify.directory; default `notify` next to the control socket, so
// /run/vigil/notify) belongs to Vigil: created with mode 0711 if missing (missing parents 0755),
// refused at start-up if it is a symbolic link, not a directory, another uid's, or writable by
// group or others. Each worker run gets <dir>/<token>-<n>/ (mode 0700, owned by the worker's uid
// and group) holding the socket `notify` (mode 0600, same owner), so only the worker's uid (and
// root) can reach it. After start-up everything is done relative to a descriptor of the
// directory, so one renamed or replaced by whoever can write its parent (a Kubernetes emptyDir
// is mode 0777) is never written through; binding, which needs a path, first checks that the
// path still leads to it.
//
// Vigil removes only what it made: a run's socket only while it is still the inode Vigil bound,
// the run's directory only when empty. At start-up a run directory of an earlier Vigil (an
// emptyDir outlives container restarts) is removed only if provably stale: named as Vigil names
// them and holding nothing but a socket `notify` that nobody is bound to (connect() refused).
// Single-threaded.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "agent/base/status.h"
#include "agent/base/unique_fd.h"

namespace vigil {

// Where a run's socket lives; NotifyDirectory::RemoveRun needs it back.
struct NotifyRunPaths {
  std::string name;         // the run's directory, inside the notify directory
  std::string socket_path;  // NOTIFY_SOCKET
  uint64_t socket_inode = 0;
};

class NotifyDirectory {
 public:
  // The longest directory path accepted: its runs' socket paths must fit a sockaddr_un.
  static constexpr size_t kMaxPath = 82;

  // Creates or checks `path` (absolute) and removes provably stale runs. Errors name the path,
  // what is wrong, and the fix.
  static StatusOr<NotifyDirectory> Open(const std::string& path);

  // Whether a worker of `uid`/`gid` (with `user`'s supplementary groups, when named) can reach
  // sockets in the directory: search permission on every directory of the path. `who` ("pool
  // web's user nobody") names it in the error.
  Status CheckReachableBy(uid_t uid, gid_t gid, const std::string& user,
                          const std::string& who) const;

  // A new run's directory, with `socket_fd` bound to its `notify`; both then handed to
  // owner:group (-1: unchanged). On failure nothing is left behind.
  StatusOr<NotifyRunPaths> CreateRun(int socket_fd, uid_t owner, gid_t group);
  // Removes what CreateRun made, as far as it is still Vigil's (see above).
  void RemoveRun(const NotifyRunPaths& run);

  const std::string& path() const { return path_; }
  int stale_removed() const { return stale_removed_; }

 private:
  NotifyDirectory() = default;
  Status RemoveStaleRuns();

  std::string path_;
  UniqueFd fd_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  std::string token_;  // 32 random bits per Vigil start, in every run's name
  uint64_t serial_ = 0;
  int stale_removed_ = 0;
};

}  // namespace vigil
