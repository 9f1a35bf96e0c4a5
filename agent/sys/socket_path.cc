#include "agent/sys/socket_path.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "agent/base/unique_fd.h"

namespace vigil {
namespace {

const char* KindOf(mode_t mode) {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "not a socket";
}

Status MakeParents(const std::string& path) {
  for (size_t pos = path.find('/', 1); pos != std::string::npos; pos = path.find('/', pos + 1)) {
    const std::string dir = path.substr(0, pos);
    if (::mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST) continue;
    const int err = errno;
    std::string fix;
    if (err == EROFS || err == EACCES || err == EPERM) {
      fix = " (mount a writable volume there, e.g. an emptyDir, or choose another path)";
    }
    return Status::Error("cannot create directory '" + dir + "' for the socket '" + path +
                         "': " + std::strerror(err) + fix);
  }
  return Status();
}

// Whether a server accepts connections on the stream socket at `path` now.
bool SomeoneListens(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return false;
  // Non-blocking: a full backlog (EAGAIN) still means a live server.
  const int rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  return rc == 0 || errno == EAGAIN || errno == EINPROGRESS;
}

}  // namespace

Status PrepareSocketPath(const std::string& path) {
  if (path.empty() || path.front() != '/') {
    return Status::Error("socket path '" + path + "' must be absolute");
  }
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    return Status::Error("socket path '" + path + "' is longer than " +
                         std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes");
  }
  if (Status s = MakeParents(path); !s.ok()) return s;
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status();
    return Status::FromErrno("cannot inspect socket path '" + path + "'", errno);
  }
  if (!S_ISSOCK(st.st_mode)) {
    return Status::Error("socket path '" + path + "' is " + KindOf(st.st_mode) +
                         ": Vigil removes only stale sockets; move it away or choose another path");
  }
  if (SomeoneListens(path)) {
    return Status::Error("socket path '" + path +
                         "' is in use: another server listens there (another vigil?)");
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Status::FromErrno("cannot remove the stale socket '" + path + "'", errno);
  }
  return Status();
}

}  // namespace vigil
