#include "agent/sys/linux_os.h"

#include <dirent.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include "agent/sys/oom_counter.h"
#include "agent/sys/pidfd.h"
#include "agent/sys/proc_table.h"

namespace vigil {

pid_t LinuxOs::GetPid() {
  return ::getpid();
}
pid_t LinuxOs::GetProcessGroup() {
  return ::getpgrp();
}

Status LinuxOs::SignalPidfd(int pidfd, int signo) {
  if (::syscall(SYS_pidfd_send_signal, pidfd, signo, nullptr, 0) != 0) {
    return Status::FromErrno("pidfd_send_signal", errno);
  }
  return Status();
}

Status LinuxOs::SignalPid(pid_t pid, int signo) {
  if (::kill(pid, signo) != 0) return Status::FromErrno("kill " + std::to_string(pid), errno);
  return Status();
}

Status LinuxOs::SignalGroup(pid_t pgid, int signo) {
  if (::kill(-pgid, signo) != 0) {
    return Status::FromErrno("kill process group " + std::to_string(pgid), errno);
  }
  return Status();
}

Status LinuxOs::SignalAll(int signo) {
  if (::kill(-1, signo) != 0) return Status::FromErrno("kill -1", errno);
  return Status();
}

StatusOr<WaitResult> LinuxOs::WaitAny() {
  WaitResult result;
  int status = 0;
  pid_t pid;
  do {
    pid = ::waitpid(-1, &status, WNOHANG | WUNTRACED);
  } while (pid < 0 && errno == EINTR);
  if (pid > 0) {
    result.kind = WaitResult::Kind::kReaped;
    result.pid = pid;
    result.status = status;
  } else if (pid == 0) {
    result.kind = WaitResult::Kind::kNone;
  } else if (errno == ECHILD) {
    result.kind = WaitResult::Kind::kNoChildren;
  } else {
    return Status::FromErrno("waitpid", errno);
  }
  return result;
}

std::vector<pid_t> LinuxOs::ListDescendants() {
  return ReadProcTable("/proc").DescendantsOf(::getpid());
}

Status LinuxOs::SetChildSubreaper() {
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    return Status::FromErrno("prctl(PR_SET_CHILD_SUBREAPER)", errno);
  }
  return Status();
}

std::optional<uint64_t> LinuxOs::OomKillCount() {
  return ReadOomKillCount();
}

pid_t LinuxOs::ProcessGroupOf(pid_t pid) {
  return ::getpgid(pid);
}

StatusOr<UniqueFd> LinuxOs::OpenPidfd(pid_t pid) {
  return vigil::OpenPidfd(pid);
}

ProcessFacts LinuxOs::InspectPidfd(int pidfd) {
  return vigil::InspectPidfd(pidfd);
}

StatusOr<UniqueFd> LinuxOs::StartConnect(const SocketAddress& address, ConnectState* state) {
  UniqueFd fd(::socket(address.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return Status::FromErrno("socket", errno);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address.storage), address.length) ==
      0) {
    *state = ConnectState::kConnected;
  } else {
    *state = errno == EINPROGRESS ? ConnectState::kInProgress : ConnectState::kFailed;
  }
  return fd;
}

Status LinuxOs::ConnectError(int fd) {
  int error = 0;
  socklen_t len = sizeof error;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0) {
    return Status::FromErrno("getsockopt(SO_ERROR)", errno);
  }
  if (error != 0) return Status::FromErrno("connect", error);
  return Status();
}

bool LinuxOs::IsForegroundOfTerminal(int fd) {
  if (::isatty(fd) != 1) return false;
  const pid_t foreground = ::tcgetpgrp(fd);
  const pid_t own = ::getpgrp();
  if (foreground > 0 && own > 0) return foreground == own;
  // A 0 means the group lives outside our PID namespace (Vigil as PID 1 under `unshare`):
  // the ids cannot be compared. Ask the terminal instead: the line discipline checks job
  // control before anything else, and a background reader with SIGTTIN blocked (as it is in
  // the core) gets EIO, even for a zero-byte read, which never consumes input or blocks.
  char c;
  return ::read(fd, &c, 0) == 0;
}

Status LinuxOs::SetForegroundGroup(int tty_fd, pid_t pgid) {
  // SIGTTOU is blocked in the core, so a background Vigil may take the terminal back.
  if (::tcsetpgrp(tty_fd, pgid) != 0) return Status::FromErrno("tcsetpgrp", errno);
  return Status();
}

Status LinuxOs::StopSelf() {
  if (::kill(::getpid(), SIGSTOP) != 0) return Status::FromErrno("kill(self, SIGSTOP)", errno);
  return Status();
}

}  // namespace vigil
