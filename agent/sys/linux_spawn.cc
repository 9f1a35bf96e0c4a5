// LinuxOs::Spawn: fork + exec with a close-on-exec pipe that reports exec failures.
//
// Why fork and not posix_spawn: the child needs steps posix_spawn cannot express portably on
// Debian 12's glibc (a new session and its controlling terminal, the terminal's foreground
// group, credentials with supplementary groups, a working directory, fd 3 for the control
// plane, every other descriptor closed), and the parent must learn the exec errno to exit
// 126/127 like a shell. The core is single-threaded, so fork is safe.
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "agent/sys/linux_os.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace vigil {
namespace {

// What the child writes to the error pipe when it fails before or at exec.
struct ChildFailure {
  int stage;  // 0: exec; otherwise the setup step that failed (a Step).
  int err;
};

enum Step : int {
  kExec = 0,
  kSetpgid,
  kTcsetpgrp,
  kDup2,
  kChdir,
  kGroups,
  kSetgid,
  kSetuid,
  kSetsid,
  kLastStep = kSetsid
};
constexpr const char* kStepNames[] = {"exec",      "setpgid", "tcsetpgrp", "dup2",  "chdir",
                                      "setgroups", "setgid",  "setuid",    "setsid"};

[[noreturn]] void ChildFail(int pipe_fd, int stage, int err) {
  ChildFailure failure{stage, err};
  // Nothing to do if this write fails: the parent then sees EOF plus an exit status of 127.
  [[maybe_unused]] ssize_t n = ::write(pipe_fd, &failure, sizeof failure);
  ::_exit(127);
}

// Runs in the child between fork and exec. Only async-signal-safe calls.
[[noreturn]] void ChildMain(const SpawnRequest& request, char* const* argv, char* const* envp,
                            int pipe_fd) {  // NOLINT: pipe_fd may move.
  if (request.new_session) {
    // A session of our own (and so a process group): dumb-init's default.
    if (::setsid() < 0) ChildFail(pipe_fd, kSetsid, errno);
    // Fails when there is no terminal or another session still holds it: run without one.
    if (request.controlling_tty_fd >= 0) ::ioctl(request.controlling_tty_fd, TIOCSCTTY, 0);
  } else if (::setpgid(0, 0) != 0) {
    // Our own process group, so signals and kills can target the worker and its descendants.
    ChildFail(pipe_fd, kSetpgid, errno);
  }
  if (request.foreground_tty_fd >= 0 && !request.new_session) {
    // Still blocked here: SIGTTOU, which would otherwise stop us for calling tcsetpgrp from a
    // background group.
    if (::tcsetpgrp(request.foreground_tty_fd, ::getpid()) != 0)
      ChildFail(pipe_fd, kTcsetpgrp, errno);
  }
  if (request.stdout_fd >= 0 && ::dup2(request.stdout_fd, 1) < 0) ChildFail(pipe_fd, kDup2, errno);
  if (request.stderr_fd >= 0 && ::dup2(request.stderr_fd, 2) < 0) ChildFail(pipe_fd, kDup2, errno);
  if (!request.working_dir.empty() && ::chdir(request.working_dir.c_str()) != 0) {
    ChildFail(pipe_fd, kChdir, errno);
  }
  if (request.gid != static_cast<gid_t>(-1) || request.uid != static_cast<uid_t>(-1)) {
    // Groups first: after setuid we could no longer change them. setgroups, not initgroups:
    // the list was read before the fork (user_db.h), and no NSS lookup runs in a forked child.
    if (::setgroups(request.groups.size(), request.groups.data()) != 0) {
      ChildFail(pipe_fd, kGroups, errno);
    }
    if (request.gid != static_cast<gid_t>(-1) && ::setgid(request.gid) != 0) {
      ChildFail(pipe_fd, kSetgid, errno);
    }
    if (request.uid != static_cast<uid_t>(-1) && ::setuid(request.uid) != 0) {
      ChildFail(pipe_fd, kSetuid, errno);
    }
  }
  // Default dispositions for everything (SIG_IGN survives exec; Vigil may have inherited one).
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int signo = 1; signo < NSIG; ++signo) {
    if (signo == SIGKILL || signo == SIGSTOP) continue;
    ::sigaction(signo, &dfl, nullptr);  // EINVAL for glibc's internal signals: ignored.
  }
  if (request.signal_state) {
    // What Vigil was started with comes back (tini's behaviour: `nohup tini -- CMD` works).
    struct sigaction ign;
    std::memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    for (int signo = 1; signo < NSIG; ++signo) {
      if (sigismember(&request.signal_state->ignored, signo) == 1)
        ::sigaction(signo, &ign, nullptr);
    }
  }
  // The one descriptor meant for the child, as its fd 3 (dup2 leaves the copy inheritable).
  unsigned first_closed = 3;
  if (request.pass_fd >= 0) {
    if (request.pass_fd == pipe_fd) ChildFail(pipe_fd, kDup2, EBADF);
    if (request.pass_fd != 3) {
      if (pipe_fd == 3) {
        // Move the error pipe out of the way first.
        const int moved = ::fcntl(pipe_fd, F_DUPFD_CLOEXEC, 4);
        if (moved < 0) ChildFail(pipe_fd, kDup2, errno);
        pipe_fd = moved;
      }
      if (::dup2(request.pass_fd, 3) < 0) ChildFail(pipe_fd, kDup2, errno);
    } else if (::fcntl(3, F_SETFD, 0) != 0) {
      ChildFail(pipe_fd, kDup2, errno);
    }
    first_closed = 4;
  }
  // No other descriptor survives exec; the error pipe is already close-on-exec.
  if (::syscall(SYS_close_range, first_closed, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    for (int fd = static_cast<int>(first_closed); fd < 1024; ++fd) {
      if (fd != pipe_fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
  }
  sigset_t mask;
  if (request.signal_state) {
    mask = request.signal_state->blocked;
  } else {
    sigemptyset(&mask);
  }
  ::sigprocmask(SIG_SETMASK, &mask, nullptr);
  // A pending signal that was blocked could be delivered right here, before exec: with default
  // dispositions that is exactly what would happen to the program itself, which is fine.
  ::execvpe(argv[0], argv, envp);
  ChildFail(pipe_fd, kExec, errno);
}

std::vector<char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const auto& s : strings)
    out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

bool LinuxOs::Spawn(const SpawnRequest& request, SpawnedChild* child, SpawnError* error) {
  if (request.argv.empty()) {
    error->status = Status::Error("spawn: empty command");
    return false;
  }
  const std::string& name = request.argv[0];
  // Everything the child needs is prepared before fork.
  std::vector<char*> argv = CStrings(request.argv);
  std::vector<char*> envp = request.env ? CStrings(*request.env) : std::vector<char*>();
  char* const* env = request.env ? envp.data() : environ;

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    error->status = Status::FromErrno("cannot run '" + name + "': pipe2", errno);
    return false;
  }
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);

  pid_t pid = ::fork();
  if (pid < 0) {
    error->status = Status::FromErrno("cannot run '" + name + "': fork", errno);
    return false;
  }
  if (pid == 0) ChildMain(request, argv.data(), env, write_end.get());

  write_end.Reset();
  ChildFailure failure{};
  ssize_t n;
  do {
    n = ::read(read_end.get(), &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);

  if (n <= 0) {
    // EOF: the pipe was closed by a successful exec. (A read error cannot happen on our own
    // pipe; were it to, assuming success is safe: the exit is still reaped and reported.)
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    child->pid = pid;
    child->pidfd = std::move(pidfd);  // May be invalid on kernels < 5.3; callers fall back to pid.
    return true;
  }

  // The child failed: reap it now so it never shows up as a zombie or a stray exit.
  int status;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (n == static_cast<ssize_t>(sizeof failure) && failure.stage == 0) {
    error->exec_errno = failure.err;
    error->status = Status::FromErrno("cannot run '" + name + "'", failure.err);
  } else if (n == static_cast<ssize_t>(sizeof failure) && failure.stage > 0 &&
             failure.stage <= kLastStep) {
    error->status =
        Status::FromErrno("cannot start '" + name + "': " + kStepNames[failure.stage], failure.err);
  } else {
    error->status = Status::Error("cannot start '" + name + "': child failed before exec");
  }
  return false;
}

}  // namespace vigil
