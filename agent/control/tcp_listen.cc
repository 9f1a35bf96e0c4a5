#include "agent/control/tcp_listen.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "agent/log/log.h"

namespace vigil::control {

StatusOr<int> ListenTcp(const std::string& host_in, int port) {
  std::string host = host_in.empty() ? "0.0.0.0" : host_in;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string address =
      (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    return Status::Error("cannot listen on " + address + ": " + ::gai_strerror(rc));
  }
  std::string error = "no address";
  int fd = -1;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      error = std::strerror(errno);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, 128) != 0) {
      error = std::strerror(errno);
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0) return Status::Error("cannot listen on " + address + ": " + error);
  return fd;
}

StatusOr<int> ListenUnix(const std::string& path, int mode) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return Status::Error("cannot listen on unix socket " + path + ": the path is longer than " +
                         std::to_string(sizeof addr.sun_path - 1) + " bytes");
  }
  path.copy(addr.sun_path, path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return Status::Error("cannot listen on unix socket " + path +
                         ": socket: " + std::strerror(errno));
  const mode_t old_umask = ::umask(0077);
  const bool bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  const int bind_error = errno;
  ::umask(old_umask);
  if (!bound || ::listen(fd, 128) != 0) {
    const std::string error = std::strerror(bound ? errno : bind_error);
    ::close(fd);
    return Status::Error("cannot listen on unix socket " + path + ": " + error);
  }
  if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) {
    // Not fatal: the socket stays private (umask 0077), which fails safe.
    log::Warn("chmod {}: {}", path, std::strerror(errno));
  }
  return fd;
}

}  // namespace vigil::control
