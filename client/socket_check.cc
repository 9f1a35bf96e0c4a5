#include "client/socket_check.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vigil::client {
namespace {

constexpr const char* kElsewhere =
    "or its socket is elsewhere (set --socket or VIGIL_SOCKET to Vigil's control.socket)";

std::string Kind(mode_t mode) {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISLNK(mode)) return "a symbolic link to something else";
  return "not a socket";
}

}  // namespace

SocketCheck CheckSocketPath(const std::string& path) {
  SocketCheck check;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISSOCK(st.st_mode)) return check;
    struct stat link;
    const bool is_link = ::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode);
    check.state = SocketCheck::kUnusable;
    check.message =
        path + " is not a socket (it is " +
        (is_link ? std::string("a symbolic link to something else") : Kind(st.st_mode)) +
        "): Vigil is not serving there, " + kElsewhere;
    return check;
  }
  const int err = errno;
  if (err != ENOENT) {
    check.state = SocketCheck::kUnusable;
    check.message = "cannot reach " + path + ": " + std::strerror(err);
    if (err == EACCES) {
      check.message += " (vigilctl runs as uid " + std::to_string(::geteuid()) +
                       ": run it as Vigil's user, or as root)";
    }
    return check;
  }
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  struct stat dir_st;
  if (::stat(dir.c_str(), &dir_st) != 0 && errno == ENOENT) {
    check.state = SocketCheck::kNoDirectory;
    check.message = "no socket at " + path + ": the directory " + dir +
                    " does not exist: Vigil is not running in this container, " + kElsewhere;
    return check;
  }
  check.state = SocketCheck::kMissing;
  check.message = "no socket at " + path +
                  ": Vigil's control plane is not serving (Vigil not running, or vigil-control "
                  "starting or restarting: see Vigil's log), " +
                  kElsewhere;
  return check;
}

}  // namespace vigil::client
