#include "agent/notify/notify_directory.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <vector>

#include "agent/log/log.h"

namespace vigil {
namespace {

constexpr const char* kSocketName = "notify";
constexpr size_t kTokenDigits = 8;
constexpr const char* kOption = "notify.directory (--notify-dir, VIGIL_NOTIFY_DIR)";

std::string Octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

std::string Parent(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

Status CannotCreate(const std::string& path, const std::string& what, int err) {
  return Status::Error("cannot create the notify directory " + path + ": " + what + ": " +
                       std::strerror(err) +
                       ". Vigil needs a directory it can write for its workers' notify sockets: "
                       "mount a writable one there (in Kubernetes, an emptyDir at " +
                       Parent(path) + ") or choose another with " + kOption);
}

Status Unsafe(const std::string& path, const std::string& why) {
  return Status::Error("the notify directory " + path + " is not safe: " + why +
                       ". It must be a directory of Vigil's uid (" + std::to_string(::geteuid()) +
                       ") that no one else can write: remove it (Vigil creates it) or choose "
                       "another with " +
                       kOption);
}

// Run directories are <8 hex digits>-<1 to 16 hex digits>.
bool IsRunName(const std::string& name) {
  auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); };
  const size_t dash = name.find('-');
  if (dash != kTokenDigits || name.size() <= dash + 1 || name.size() > dash + 17) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (i != dash && !hex(name[i])) return false;
  }
  return true;
}

// The names in directory `dirfd` (a duplicate is read, so `dirfd` keeps its offset).
std::vector<std::string> ListNames(int dirfd) {
  std::vector<std::string> names;
  const int dup = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return names;
  DIR* dir = ::fdopendir(dup);
  if (dir == nullptr) {
    ::close(dup);
    return names;
  }
  ::rewinddir(dir);
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(dir);
  return names;
}

Status BindPath(int socket_fd, const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() + 1 > sizeof addr.sun_path) {
    return Status::Error("notify socket path too long: " + path);
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  const socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  if (::bind(socket_fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    return Status::FromErrno("bind " + path, errno);
  }
  return Status();
}

// Nobody is bound to the socket at `path`: a datagram connect() is refused.
bool NobodyBound(const std::string& path) {
  UniqueFd probe(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!probe) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() + 1 > sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, path.data(), path.size());
  return ::connect(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 &&
         errno == ECONNREFUSED;
}

std::string NewToken() {
  uint32_t value = 0;
  if (::getrandom(&value, sizeof value, GRND_NONBLOCK) != sizeof value) {
    value =
        static_cast<uint32_t>(::getpid()) * 2654435761u ^ static_cast<uint32_t>(::time(nullptr));
  }
  char buf[kTokenDigits + 1];
  std::snprintf(buf, sizeof buf, "%08x", value);
  return buf;
}

}  // namespace

StatusOr<NotifyDirectory> NotifyDirectory::Open(const std::string& requested) {
  std::string path = requested;
  while (path.size() > 1 && path.back() == '/')
    path.pop_back();
  if (path.empty() || path.front() != '/') {
    return Status::Error("the notify directory must be an absolute path, got '" + requested +
                         "'; set " + kOption);
  }
  if (path.size() > kMaxPath) {
    return Status::Error("the notify directory " + path + " is " + std::to_string(path.size()) +
                         " bytes long: at most " + std::to_string(kMaxPath) +
                         ", so that its sockets' paths fit a unix socket address; choose a "
                         "shorter one with " +
                         kOption);
  }
  // Missing parents first (like mkdir -p), then the directory itself.
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    const std::string parent = path.substr(0, slash);
    if (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) {
      return CannotCreate(path, "mkdir " + parent, errno);
    }
  }
  bool created = true;
  if (::mkdir(path.c_str(), 0711) != 0) {
    if (errno != EEXIST) return CannotCreate(path, "mkdir", errno);
    created = false;
  }
  NotifyDirectory dir;
  dir.path_ = path;
  dir.fd_.Reset(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.fd_) {
    const int err = errno;
    struct stat link;
    if (::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) {
      return Unsafe(path, "it is a symbolic link");
    }
    if (err == ENOTDIR) return Unsafe(path, "it is not a directory");
    return CannotCreate(path, "open", err);
  }
  struct stat st;
  if (::fstat(dir.fd_.get(), &st) != 0) return CannotCreate(path, "fstat", errno);
  if (st.st_uid != ::geteuid()) {
    return Unsafe(path, "it belongs to uid " + std::to_string(st.st_uid));
  }
  if (created) {
    // Exactly 0711 whatever the umask: others may pass through to their own run's directory.
    if (::fchmod(dir.fd_.get(), 0711) != 0) return CannotCreate(path, "chmod", errno);
    st.st_mode = (st.st_mode & ~07777) | 0711;
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return Unsafe(path, "group or others can write it (mode " + Octal(st.st_mode) + ")");
  }
  dir.dev_ = st.st_dev;
  dir.ino_ = st.st_ino;
  dir.token_ = NewToken();
  if (Status s = dir.RemoveStaleRuns(); !s.ok()) return s;
  return dir;
}

Status NotifyDirectory::RemoveStaleRuns() {
  for (const std::string& name : ListNames(fd_.get())) {
    if (!IsRunName(name)) continue;
    UniqueFd run(
        ::openat(fd_.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!run) continue;
    const std::vector<std::string> inside = ListNames(run.get());
    struct stat st;
    if (inside != std::vector<std::string>{kSocketName} ||
        ::fstatat(run.get(), kSocketName, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISSOCK(st.st_mode) ||
        !NobodyBound(path_ + "/" + name + "/" + kSocketName)) {
      continue;
    }
    if (::unlinkat(run.get(), kSocketName, 0) == 0 &&
        ::unlinkat(fd_.get(), name.c_str(), AT_REMOVEDIR) == 0) {
      ++stale_removed_;
    }
  }
  return Status();
}

Status NotifyDirectory::CheckReachableBy(uid_t uid, gid_t gid, const std::string& user,
                                         const std::string& who) const {
  if (uid == 0) return Status();
  std::vector<gid_t> groups{gid};
  if (!user.empty()) {
    int count = 256;
    std::vector<gid_t> list(static_cast<size_t>(count));
    if (::getgrouplist(user.c_str(), gid, list.data(), &count) >= 0) {
      groups.insert(groups.end(), list.begin(), list.begin() + count);
    }
  }
  // Every directory on the way, the notify directory included, needs search permission.
  std::vector<std::string> dirs{"/"};
  for (size_t slash = path_.find('/', 1); slash != std::string::npos;
       slash = path_.find('/', slash + 1)) {
    dirs.push_back(path_.substr(0, slash));
  }
  dirs.push_back(path_);
  for (const std::string& dir : dirs) {
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0) continue;  // Open() made it; a race is CreateRun's error.
    mode_t bit = S_IXOTH;
    if (st.st_uid == uid) {
      bit = S_IXUSR;
    } else if (std::find(groups.begin(), groups.end(), st.st_gid) != groups.end()) {
      bit = S_IXGRP;
    }
    if ((st.st_mode & bit) == 0) {
      return Status::Error("the notify directory " + path_ + " is out of reach of " + who +
                           " (uid " + std::to_string(uid) + "): " + dir + " (mode " +
                           Octal(st.st_mode) + ", owner uid " + std::to_string(st.st_uid) +
                           ") does not let it through; give it search permission (chmod o+x " +
                           dir + ") or choose another directory with " + kOption);
    }
  }
  return Status();
}

StatusOr<NotifyRunPaths> NotifyDirectory::CreateRun(int socket_fd, uid_t owner, gid_t group) {
  // Bound by path: the path must still lead to the directory opened at start-up.
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0 || st.st_dev != dev_ || st.st_ino != ino_) {
    return Status::Error("the notify directory " + path_ +
                         " was moved or replaced since Vigil started: no socket is made in it");
  }
  NotifyRunPaths run;
  char serial[24];
  std::snprintf(serial, sizeof serial, "%llx", static_cast<unsigned long long>(++serial_));
  run.name = token_ + "-" + serial;
  run.socket_path = path_ + "/" + run.name + "/" + kSocketName;
  if (::mkdirat(fd_.get(), run.name.c_str(), 0700) != 0) {
    return Status::FromErrno("mkdir " + path_ + "/" + run.name, errno);
  }
  UniqueFd dir(
      ::openat(fd_.get(), run.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  bool bound = false;
  auto undo = [&](Status error) -> Status {
    if (bound && dir) ::unlinkat(dir.get(), kSocketName, 0);
    ::unlinkat(fd_.get(), run.name.c_str(), AT_REMOVEDIR);
    return error;
  };
  if (!dir) return undo(Status::FromErrno("open " + path_ + "/" + run.name, errno));
  // Until the end, only Vigil can enter the run's directory: nothing in it can be swapped.
  if (::fchmod(dir.get(), 0700) != 0) return undo(Status::FromErrno("chmod " + run.name, errno));
  if (Status s = BindPath(socket_fd, run.socket_path); !s.ok()) return undo(s);
  bound = true;
  if (::fstatat(dir.get(), kSocketName, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISSOCK(st.st_mode)) {
    return undo(Status::Error("the socket just bound at " + run.socket_path + " is not there"));
  }
  run.socket_inode = static_cast<uint64_t>(st.st_ino);
  if (::fchmodat(dir.get(), kSocketName, 0600, 0) != 0) {
    return undo(Status::FromErrno("chmod " + run.socket_path, errno));
  }
  if (owner != static_cast<uid_t>(-1) || group != static_cast<gid_t>(-1)) {
    if (::fchownat(dir.get(), kSocketName, owner, group, AT_SYMLINK_NOFOLLOW) != 0 ||
        ::fchown(dir.get(), owner, group) != 0) {
      return undo(Status::FromErrno(
          "chown " + run.socket_path + " to " + std::to_string(owner) + ":" + std::to_string(group),
          errno));
    }
  }
  return run;
}

void NotifyDirectory::RemoveRun(const NotifyRunPaths& run) {
  if (run.name.empty()) return;
  UniqueFd dir(
      ::openat(fd_.get(), run.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir) {
    if (errno != ENOENT) {
      log::Warn("notify directory: left {}/{} alone: {}", path_, run.name, std::strerror(errno));
    }
    return;
  }
  // The worker owns the run's directory and may have replaced the socket: only the inode Vigil
  // bound is removed.
  struct stat st;
  if (::fstatat(dir.get(), kSocketName, &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISSOCK(st.st_mode) && static_cast<uint64_t>(st.st_ino) == run.socket_inode) {
      ::unlinkat(dir.get(), kSocketName, 0);
    } else {
      log::Warn("notify directory: left {} alone: not the socket Vigil made", run.socket_path);
    }
  }
  if (::unlinkat(fd_.get(), run.name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    log::Warn("notify directory: left {}/{} in place: {}", path_, run.name, std::strerror(errno));
  }
}

}  // namespace vigil
