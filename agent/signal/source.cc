#include "agent/signal/source.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "agent/signal/signals.h"

namespace vigil {

namespace {
ChildSignalState g_at_start;  // Written once, by BlockCoreSignals, before anything reads it.
}  // namespace

void BlockCoreSignals() {
  const sigset_t set = CoreSignalSet();
  sigemptyset(&g_at_start.blocked);
  sigemptyset(&g_at_start.ignored);
  // Nothing useful can be done if this fails (it cannot with a valid set); carry on regardless.
  ::sigprocmask(SIG_SETMASK, &set, &g_at_start.blocked);
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int signo = 1; signo < NSIG; ++signo) {
    struct sigaction current;
    if (::sigaction(signo, nullptr, &current) != 0) continue;  // glibc's own two (32, 33)
    if (current.sa_handler == SIG_IGN) sigaddset(&g_at_start.ignored, signo);
    // Only a disposition that is not SIG_DFL needs a reset: execve() left every one SIG_DFL or
    // SIG_IGN with no flags, and nothing before main() installs a handler. One syscall per
    // signal at start-up instead of two for the ~50 that are already SIG_DFL.
    if (current.sa_handler != SIG_DFL && sigismember(&set, signo) == 1) {
      ::sigaction(signo, &dfl, nullptr);
    }
  }
}

void BlockFaultSignals() {
  sigset_t faults;
  sigemptyset(&faults);
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int signo = 1; signo < NSIG; ++signo) {
    if (!IsFaultSignal(signo)) continue;
    sigaddset(&faults, signo);
    ::sigaction(signo, &dfl, nullptr);  // An ignored one would be discarded, not queued.
  }
  ::sigprocmask(SIG_BLOCK, &faults, nullptr);
}

const ChildSignalState& SignalStateAtStart() {
  return g_at_start;
}

StatusOr<SignalSource> SignalSource::Create(bool with_fault_signals) {
  const sigset_t set = CoreSignalSet(with_fault_signals);
  UniqueFd fd(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fd) return Status::FromErrno("signalfd", errno);
  return SignalSource(std::move(fd));
}

std::vector<ReceivedSignal> SignalSource::ReadPending() {
  std::vector<ReceivedSignal> out;
  signalfd_siginfo infos[16];
  for (;;) {
    ssize_t n = ::read(fd_.get(), infos, sizeof infos);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EAGAIN: drained.
    const size_t count = static_cast<size_t>(n) / sizeof(signalfd_siginfo);
    for (size_t i = 0; i < count; ++i) {
      out.push_back(ReceivedSignal{static_cast<int>(infos[i].ssi_signo),
                                   static_cast<pid_t>(infos[i].ssi_pid), infos[i].ssi_code});
    }
    if (count < 16) break;
  }
  return out;
}

}  // namespace vigil
