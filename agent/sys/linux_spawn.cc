// LinuxOs::Spawn: clone(CLONE_VM | CLONE_VFORK | CLONE_FILES) + exec, the child on a small
// stack of its own, reporting the step that failed and exec's errno through memory it shares
// with the parent.
//
// Why not posix_spawn: the child needs steps posix_spawn cannot express on Debian 12's glibc
// (credentials with supplementary groups, a controlling terminal, fd 3 for the control plane),
// and the parent must learn the exec errno to exit 126/127 like a shell.
// Why not fork: fork copies the core's page tables and then takes a copy-on-write fault for
// every page either side touches before exec; a restart's latency (crash -> replacement running,
// docs/performance.md) was mostly that. The parent waited for the exec (an error pipe) anyway,
// so a child that borrows the parent's memory until it execs (CLONE_VFORK suspends the parent)
// costs nothing in concurrency.
// Why CLONE_FILES: without it clone() copies the core's whole descriptor table and exec closes
// every copy again, O(workers) per spawn (spawn_slots.h). The child shares the table instead and
// its first step makes a table of its own holding only the descriptors below a small bound
// (close_range with CLOSE_RANGE_UNSHARE, Linux 5.9); the parent lent the child's descriptors
// slots below that bound. Until that step the child touches no descriptor: the table is the
// parent's (suspended, single-threaded) and must come back to it unchanged.
// What sharing the memory demands of the child (as glibc's own posix_spawn does): it writes
// nothing of the parent's but the result fields of ChildArgs (and errno, the parent's thread's,
// which the parent never reads after a successful clone); it allocates nothing and takes no
// lock; it makes raw system calls only, so no sanitizer interceptor or glibc wrapper touches the
// parent's state (glibc's setuid would even signal the parent's other threads); and no signal
// handler of the parent's may run in it: the parent blocks every signal around clone(), and the
// child resets every disposition before it restores its mask.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>

#include "agent/base/scope_exit.h"
#include "agent/sys/linux_os.h"

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

// The child must not be instrumented: instrumentation keeps per-thread state (a shadow call
// stack, fake frames) in the memory the child shares with the parent.
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 8)
#define VIGIL_SPAWN_CHILD __attribute__((no_sanitize("address", "thread"), noinline))
#else
#define VIGIL_SPAWN_CHILD __attribute__((noinline))
#endif

// TSan intercepts clone() as if it were fork(), and its bookkeeping breaks on a CLONE_VM child
// (a CHECK fails in the parent). Under TSan, glibc's own entry point, which it does not
// intercept: the child runs no instrumented code anyway.
#if defined(__SANITIZE_THREAD__)
#define VIGIL_SPAWN_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define VIGIL_SPAWN_UNDER_TSAN 1
#endif
#endif
#ifdef VIGIL_SPAWN_UNDER_TSAN
extern "C" int __clone(int (*fn)(void*), void* stack, int flags, void* arg, ...);
#define VIGIL_CLONE __clone
#else
#define VIGIL_CLONE ::clone
#endif

namespace vigil {
namespace {

enum Step : int {
  kNoFailure = -1,
  kExec = 0,
  kSetpgid,
  kTcsetpgrp,
  kDup2,
  kChdir,
  kGroups,
  kSetgid,
  kSetuid,
  kSetsid,
  kUnshare,
  kLastStep = kUnshare
};
constexpr const char* kStepNames[] = {"exec",      "setpgid", "tcsetpgrp", "dup2",   "chdir",
                                      "setgroups", "setgid",  "setuid",    "setsid", "unshare"};

// Everything the child reads, prepared by the parent as plain data (the child calls no member
// function of a std:: type: it may be instrumented or allocate), and what it reports back.
struct ChildArgs {
  char* const* argv;
  char* const* envp;
  const char* working_dir;  // nullptr: Vigil's
  bool set_ids;
  uid_t uid;
  gid_t gid;
  const gid_t* groups;
  size_t group_count;
  bool new_session;
  int controlling_tty_fd;
  int foreground_tty_fd;
  int stdout_fd;
  int stderr_fd;
  int pass_fd;
  // When set, the child starts in the parent's descriptor table (CLONE_FILES) and keeps only
  // the descriptors below keep_below in a table of its own (every one it uses is below it).
  bool shared_files;
  unsigned keep_below;
  uint64_t ignored;  // bit signo - 1: the disposition becomes SIG_IGN (tini's `nohup` case)
  sigset_t mask;     // the child's signal mask at exec
  // Written by the child before it exits; read by the parent once clone() has returned, which
  // with CLONE_VFORK is after the child has exec'd or exited.
  volatile int failed_step;
  volatile int failed_errno;
  volatile bool close_range_failed;  // the child fell back to unshare()
};

// The kernel's sigset is NSIG - 1 bits (8 bytes on every Linux architecture glibc supports);
// glibc's sigset_t starts with it.
constexpr size_t kKernelSigsetBytes = (NSIG - 1) / 8;

// The kernel's struct sigaction on architectures with the generic layout (handler first). A
// disposition of SIG_DFL or SIG_IGN needs no restorer, flags or mask.
struct KernelSigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)();
  uint64_t mask;
};

#if defined(__x86_64__) || defined(__aarch64__) || defined(__riscv) || defined(__i386__) || \
    defined(__arm__) || defined(__powerpc64__) || defined(__s390x__) || defined(__loongarch64)
#define VIGIL_RAW_SIGACTION 1
#endif

#if defined(SYS_setuid32)
constexpr long kSysSetuid = SYS_setuid32, kSysSetgid = SYS_setgid32,
               kSysSetgroups = SYS_setgroups32;
#else
constexpr long kSysSetuid = SYS_setuid, kSysSetgid = SYS_setgid, kSysSetgroups = SYS_setgroups;
#endif

[[noreturn]] VIGIL_SPAWN_CHILD void ChildFail(ChildArgs* args, int step, int err) {
  args->failed_errno = err;
  args->failed_step = step;
  ::syscall(SYS_exit_group, 127);
  __builtin_unreachable();
}

VIGIL_SPAWN_CHILD bool SetDisposition(int signo, bool ignore) {
#ifdef VIGIL_RAW_SIGACTION
  KernelSigaction action{};
  action.handler = ignore ? SIG_IGN : SIG_DFL;
  return ::syscall(SYS_rt_sigaction, signo, &action, nullptr, kKernelSigsetBytes) == 0;
#else
  struct sigaction action {};
  action.sa_handler = ignore ? SIG_IGN : SIG_DFL;
  return ::sigaction(signo, &action, nullptr) == 0;
#endif
}

// fd onto target, as dup2 does (a no-op when they are equal, once fd is known to be open).
VIGIL_SPAWN_CHILD bool MoveFd(int fd, int target) {
  if (fd == target) return ::syscall(SYS_fcntl, fd, F_GETFD) >= 0;
  return ::syscall(SYS_dup3, fd, target, 0) >= 0;
}

// Runs in the child, on its own stack, in the parent's memory, until exec. Raw system calls only
// (see the top of the file).
VIGIL_SPAWN_CHILD int ChildMain(void* arg) {
  ChildArgs* args = static_cast<ChildArgs*>(arg);
  if (args->shared_files &&
      ::syscall(SYS_close_range, args->keep_below, ~0U, CLOSE_RANGE_UNSHARE) != 0) {
    // A table of our own first, copied only below keep_below. A kernel before 5.9 (ENOSYS,
    // EINVAL) or a seccomp profile that refuses close_range gets unshare(), which copies the
    // whole table: slower, the same result. A profile that refuses both fails this step, and
    // the parent spawns again without CLONE_FILES.
    args->close_range_failed = true;
    if (::syscall(SYS_unshare, CLONE_FILES) != 0) ChildFail(args, kUnshare, errno);
  }
  // Every signal is blocked here (the parent blocked them all before clone()). Dispositions
  // first: from the mask's restore below on, no handler of the parent's may run in this child.
  // SIG_IGN survives exec, so an ignored one Vigil inherited is reset too, unless asked for.
  for (int signo = 1; signo < NSIG; ++signo) {
    if (signo == SIGKILL || signo == SIGSTOP) continue;
    // EINVAL for numbers the kernel does not have: nothing to reset.
    SetDisposition(signo, (args->ignored >> (signo - 1)) & 1);
  }
  if (args->new_session) {
    // A session of our own (and so a process group): dumb-init's default.
    if (::syscall(SYS_setsid) < 0) ChildFail(args, kSetsid, errno);
    // Fails when there is no terminal or another session still holds it: run without one.
    if (args->controlling_tty_fd >= 0) ::syscall(SYS_ioctl, args->controlling_tty_fd, TIOCSCTTY, 0);
  } else if (::syscall(SYS_setpgid, 0, 0) != 0) {
    // Our own process group, so signals and kills can target the worker and its descendants.
    ChildFail(args, kSetpgid, errno);
  }
  if (args->foreground_tty_fd >= 0 && !args->new_session) {
    // tcsetpgrp from a background group: SIGTTOU is still blocked here, which would otherwise
    // stop us.
    pid_t self = static_cast<pid_t>(::syscall(SYS_getpid));
    if (::syscall(SYS_ioctl, args->foreground_tty_fd, TIOCSPGRP, &self) != 0)
      ChildFail(args, kTcsetpgrp, errno);
  }
  if (args->stdout_fd >= 0 && !MoveFd(args->stdout_fd, 1)) ChildFail(args, kDup2, errno);
  if (args->stderr_fd >= 0 && !MoveFd(args->stderr_fd, 2)) ChildFail(args, kDup2, errno);
  if (args->working_dir != nullptr && ::syscall(SYS_chdir, args->working_dir) != 0)
    ChildFail(args, kChdir, errno);
  if (args->set_ids) {
    // Groups first: after setuid we could no longer change them. setgroups, not initgroups:
    // the list was read before the clone (user_db.h), and no NSS lookup runs in the child.
    if (::syscall(kSysSetgroups, args->group_count, args->groups) != 0)
      ChildFail(args, kGroups, errno);
    if (args->gid != static_cast<gid_t>(-1) && ::syscall(kSysSetgid, args->gid) != 0)
      ChildFail(args, kSetgid, errno);
    if (args->uid != static_cast<uid_t>(-1) && ::syscall(kSysSetuid, args->uid) != 0)
      ChildFail(args, kSetuid, errno);
  }
  // The one descriptor meant for the child, as its fd 3 (dup3 leaves the copy inheritable).
  unsigned first_closed = 3;
  if (args->pass_fd >= 0) {
    if (args->pass_fd != 3) {
      if (::syscall(SYS_dup3, args->pass_fd, 3, 0) < 0) ChildFail(args, kDup2, errno);
    } else if (::syscall(SYS_fcntl, 3, F_SETFD, 0) != 0) {
      ChildFail(args, kDup2, errno);
    }
    first_closed = 4;
  }
  // No other descriptor survives exec.
  if (::syscall(SYS_close_range, first_closed, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    for (int fd = static_cast<int>(first_closed); fd < 1024; ++fd)
      ::syscall(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC);
  }
  ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &args->mask, nullptr, kKernelSigsetBytes);
  // A pending signal that was blocked could be delivered right here, before exec: with the
  // dispositions reset that is exactly what would happen to the program itself, which is fine.
  // execvpe allocates nothing (glibc 2.24 and later: it searches PATH in a buffer on the stack).
  ::execvpe(args->argv[0], args->argv, args->envp);
  ChildFail(args, kExec, errno);
}

std::vector<char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const auto& s : strings)
    out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// How much stack the child needs: what its callees put on it (execvpe copies PATH's longest
// entry plus the file name, and, for a script without #!, argv).
size_t ChildStackBytes(size_t argc) {
  return 64 * 1024 + 2 * PATH_MAX + (argc + 2) * sizeof(char*);
}

// Blocks every signal for the scope (the calling thread's mask), so none is handled in the
// child between clone() and the reset of its dispositions.
class AllSignalsBlocked {
 public:
  AllSignalsBlocked() {
    sigset_t all;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &saved_);
  }
  ~AllSignalsBlocked() { ::pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
  AllSignalsBlocked(const AllSignalsBlocked&) = delete;
  AllSignalsBlocked& operator=(const AllSignalsBlocked&) = delete;

 private:
  sigset_t saved_;
};

}  // namespace

bool LinuxOs::Spawn(const SpawnRequest& request, SpawnedChild* child, SpawnError* error) {
  if (request.argv.empty()) {
    error->status = Status::Error("spawn: empty command");
    return false;
  }
  const std::string& name = request.argv[0];
  // Everything the child needs is prepared before the clone.
  std::vector<char*> argv = CStrings(request.argv);
  std::vector<char*> envp = request.env ? CStrings(*request.env) : std::vector<char*>();

  ChildArgs args{};
  args.argv = argv.data();
  args.envp = request.env ? envp.data() : environ;
  args.working_dir = request.working_dir.empty() ? nullptr : request.working_dir.c_str();
  args.set_ids = request.gid != static_cast<gid_t>(-1) || request.uid != static_cast<uid_t>(-1);
  args.uid = request.uid;
  args.gid = request.gid;
  args.groups = request.groups.data();
  args.group_count = request.groups.size();
  args.new_session = request.new_session;
  args.controlling_tty_fd = request.controlling_tty_fd;
  args.foreground_tty_fd = request.foreground_tty_fd;
  // The child's own descriptors move to slots low in the table, returned once it has exec'd.
  slots_.Reserve();
  ScopeExit return_slots([this] { slots_.ReturnAll(); });
  args.stdout_fd = slots_.Lend(request.stdout_fd);
  args.stderr_fd = slots_.Lend(request.stderr_fd);
  args.pass_fd = slots_.Lend(request.pass_fd);
  args.shared_files = share_files_;
  args.keep_below = 3;
  for (int fd : {args.stdout_fd, args.stderr_fd, args.pass_fd, args.controlling_tty_fd,
                 args.foreground_tty_fd})
    args.keep_below = std::max(args.keep_below, static_cast<unsigned>(fd + 1));
  args.ignored = 0;
  sigemptyset(&args.mask);
  if (request.signal_state) {
    // What Vigil was started with comes back (tini's behaviour: `nohup tini -- CMD` works).
    for (int signo = 1; signo < NSIG && signo <= 64; ++signo) {
      if (sigismember(&request.signal_state->ignored, signo) == 1)
        args.ignored |= uint64_t{1} << (signo - 1);
    }
    args.mask = request.signal_state->blocked;
  }

  void* const stack_top = stack_.Top(ChildStackBytes(argv.size()));
  if (stack_top == nullptr) {
    error->status = Status::FromErrno("cannot run '" + name + "': child stack", errno);
    return false;
  }
  int pidfd = -1;
  pid_t pid;
  int clone_errno = 0;
  const auto clone_child = [&] {
    args.failed_step = kNoFailure;
    args.failed_errno = 0;
    args.close_range_failed = false;
    pidfd = -1;
    AllSignalsBlocked blocked;
#ifdef VIGIL_SPAWN_FOR_VALGRIND
    // scripts/hot-text.sh's profiling copy only, never a build that ships: valgrind runs
    // clone(CLONE_VM | CLONE_VFORK) as a fork but refuses CLONE_FILES.
    args.shared_files = false;
#endif
    // SIGCHLD: the child is reaped like any other. CLONE_PIDFD (Linux 5.2): its pidfd without
    // a race and a second call; a kernel that ignores the bit leaves pidfd at -1, one that
    // refuses it gets the call again without it.
    const int flags = CLONE_VM | CLONE_VFORK | SIGCHLD | (args.shared_files ? CLONE_FILES : 0);
    pid = VIGIL_CLONE(ChildMain, stack_top, flags | CLONE_PIDFD, &args, &pidfd);
    if (pid < 0 && errno == EINVAL) pid = VIGIL_CLONE(ChildMain, stack_top, flags, &args);
    if (pid < 0) clone_errno = errno;
  };
  clone_child();
  if (pid >= 0 && args.failed_step == kUnshare) {
    // Neither close_range nor unshare is allowed here: from now on, clone() copies the table.
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (pidfd >= 0) ::close(pidfd);
    share_files_ = false;
    args.shared_files = false;
    clone_child();
  }
  if (pid < 0) {
    error->status = Status::FromErrno("cannot run '" + name + "': clone", clone_errno);
    return false;
  }
  // unshare() costs what clone() without CLONE_FILES does, and one call more.
  if (args.close_range_failed) share_files_ = false;
  UniqueFd pidfd_owner(pidfd);

  const int step = args.failed_step;
  if (step == kNoFailure) {
    // The child has exec'd (or died past exec's point of no return: its exit is reaped and
    // reported like any other).
    if (!pidfd_owner) pidfd_owner = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    child->pid = pid;
    child->pidfd = std::move(pidfd_owner);  // Invalid on kernels < 5.3: callers use the pid.
    return true;
  }

  // The child failed: reap it now so it never shows up as a zombie or a stray exit.
  int status;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const int err = args.failed_errno;
  if (step == kExec) {
    error->exec_errno = err;
    error->status = Status::FromErrno("cannot run '" + name + "'", err);
  } else if (step > 0 && step <= kLastStep) {
    error->status = Status::FromErrno("cannot start '" + name + "': " + kStepNames[step], err);
  } else {
    error->status = Status::Error("cannot start '" + name + "': child failed before exec");
  }
  return false;
}

}  // namespace vigil
