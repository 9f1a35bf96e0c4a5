#include "agent/sys/pidfd.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

namespace vigil {
namespace {

constexpr long kPidfsMagic = 0x50494446;  // "PIDF": pidfds on pidfs (Linux 6.9 and later)

// PIDFD_GET_INFO's argument as of Linux 6.13 (its first, 64-byte version; later kernels accept
// it), declared here because Debian 12's headers predate it.
struct PidfdInfo {
  uint64_t mask;
  uint64_t cgroupid;
  uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
  int32_t exit_code;
};
static_assert(sizeof(PidfdInfo) == 64);
constexpr uint64_t kPidfdInfoPid = 1;
constexpr unsigned long kPidfdGetInfo = _IOWR(0xFF, 11, PidfdInfo);

// Whether pidfds live on pidfs, probed on the first pidfd seen: a property of the kernel.
bool OnPidfs(int pidfd) {
  static int cached = -1;
  if (cached < 0) {
    struct statfs fs;
    if (::fstatfs(pidfd, &fs) != 0) return false;
    cached = static_cast<long>(fs.f_type) == kPidfsMagic ? 1 : 0;
  }
  return cached == 1;
}

// Signal 0 through the pidfd: 0 (or EPERM: it exists, we may not signal it) while the process
// is unreaped, zombies included; ESRCH once it has been reaped.
bool Unreaped(int pidfd) {
  if (::syscall(SYS_pidfd_send_signal, pidfd, 0, nullptr, 0) == 0) return true;
  return errno == EPERM;
}

// POLLIN on a pidfd: the process has exited (it may still be a zombie).
bool Exited(int pidfd) {
  pollfd p{pidfd, POLLIN, 0};
  int n;
  do {
    n = ::poll(&p, 1, 0);
  } while (n < 0 && errno == EINTR);
  return n > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

}  // namespace

StatusOr<UniqueFd> OpenPidfd(pid_t pid) {
  UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!fd) return Status::FromErrno("pidfd_open " + std::to_string(pid), errno);
  // pidfd_open() sets close-on-exec itself (its only flag is PIDFD_NONBLOCK).
  return fd;
}

pid_t PidOfPidfd(int pidfd) {
  // PIDFD_GET_INFO (Linux 6.13+) first: one ioctl, no /proc. It fails with ESRCH both for a
  // reaped process and for one outside our namespace, which only fdinfo tells apart.
  static bool have_ioctl = true;
  if (have_ioctl) {
    PidfdInfo info{};
    info.mask = kPidfdInfoPid;
    if (::ioctl(pidfd, kPidfdGetInfo, &info) == 0 && info.pid > 0) {
      return static_cast<pid_t>(info.pid);
    }
    if (errno == ENOTTY || errno == EINVAL || errno == EOPNOTSUPP) have_ioctl = false;
  }
  return PidOfPidfdFromProc(pidfd);
}

pid_t PidOfPidfdFromProc(int pidfd) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
  UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd) return -2;
  char buf[1024];
  ssize_t n;
  do {
    n = ::read(fd.get(), buf, sizeof buf - 1);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return -2;
  const std::string_view text(buf, static_cast<size_t>(n));
  const size_t at = text.find("\nPid:");
  if (at == std::string_view::npos) return -2;
  size_t pos = at + 5;
  while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t'))
    ++pos;
  int pid = 0;
  auto [ptr, ec] = std::from_chars(text.data() + pos, text.data() + text.size(), pid);
  if (ec != std::errc() || ptr == text.data() + pos) return -2;
  return pid < 0 ? -1 : pid;
}

uint64_t PidfdIdentity(int pidfd) {
  if (!OnPidfs(pidfd)) return 0;
  struct stat st;
  if (::fstat(pidfd, &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_ino);
}

ProcessFacts InspectPidfd(int pidfd) {
  ProcessFacts facts;
  facts.identity = PidfdIdentity(pidfd);
  facts.pid = PidOfPidfd(pidfd);
  if (facts.pid > 0) {
    const pid_t pgid = ::getpgid(facts.pid);
    // Still unreaped after getpgid(): the pid was not reused in between, the group is its own.
    if (Unreaped(pidfd)) {
      facts.pgid = pgid;
    } else {
      facts.pid = -1;
    }
  }
  facts.exited = facts.pid < 0 || Exited(pidfd);
  return facts;
}

}  // namespace vigil
