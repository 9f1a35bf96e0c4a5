// SignalSource and BlockCoreSignals against the real kernel. Every test restores the signal
// mask and dispositions it changed, and leaves no signal pending.
#include "agent/signal/source.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "agent/signal/signals.h"

namespace vigil {
namespace {

// Blocks the core set for the scope; on exit, discards whatever is still pending and restores
// the previous mask.
class ScopedCoreSignalsBlocked {
 public:
  ScopedCoreSignalsBlocked() {
    const sigset_t set = CoreSignalSet();
    ::sigprocmask(SIG_BLOCK, &set, &saved_);
  }
  ~ScopedCoreSignalsBlocked() {
    const sigset_t set = CoreSignalSet();
    const timespec zero{0, 0};
    while (::sigtimedwait(&set, nullptr, &zero) > 0) {
    }
    ::sigprocmask(SIG_SETMASK, &saved_, nullptr);
  }

 private:
  sigset_t saved_;
};

TEST(SignalSource, CreateGivesANonBlockingCloseOnExecFd) {
  auto source = SignalSource::Create();
  ASSERT_TRUE(source.ok()) << source.status().message();
  EXPECT_GE(source->fd(), 0);
  EXPECT_NE(::fcntl(source->fd(), F_GETFL) & O_NONBLOCK, 0);
  EXPECT_NE(::fcntl(source->fd(), F_GETFD) & FD_CLOEXEC, 0);
}

TEST(SignalSource, ReadPendingWithNothingPendingReturnsEmptyWithoutBlocking) {
  ScopedCoreSignalsBlocked blocked;
  auto source = SignalSource::Create();
  ASSERT_TRUE(source.ok());
  EXPECT_TRUE(source->ReadPending().empty());
}

TEST(SignalSource, ReadsASignalWithItsSender) {
  ScopedCoreSignalsBlocked blocked;
  auto source = SignalSource::Create();
  ASSERT_TRUE(source.ok());
  ASSERT_EQ(::kill(::getpid(), SIGUSR1), 0);
  std::vector<ReceivedSignal> got = source->ReadPending();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].signo, SIGUSR1);
  EXPECT_EQ(got[0].sender_pid, ::getpid());
  EXPECT_EQ(got[0].code, SI_USER);
  EXPECT_TRUE(source->ReadPending().empty());  // Consumed.
}

TEST(SignalSource, ReadsEverythingPendingEvenBeyondOneReadBatch) {
  ScopedCoreSignalsBlocked blocked;
  auto source = SignalSource::Create();
  ASSERT_TRUE(source.ok());
  // Real-time signals queue one entry per send; 40 is more than one 16-entry read.
  const int rt = SIGRTMIN + 1;
  for (int i = 0; i < 40; ++i) {
    ASSERT_EQ(::sigqueue(::getpid(), rt, sigval{i}), 0);
  }
  ASSERT_EQ(::kill(::getpid(), SIGHUP), 0);
  std::vector<ReceivedSignal> got = source->ReadPending();
  EXPECT_EQ(
      std::count_if(got.begin(), got.end(), [&](const ReceivedSignal& s) { return s.signo == rt; }),
      40);
  EXPECT_EQ(std::count_if(got.begin(), got.end(),
                          [](const ReceivedSignal& s) { return s.signo == SIGHUP; }),
            1);
  EXPECT_EQ(got.size(), 41u);
}

TEST(SignalSource, ExactlySixteenPendingAreAllReadAndTheNextReadIsEmpty) {
  ScopedCoreSignalsBlocked blocked;
  auto source = SignalSource::Create();
  ASSERT_TRUE(source.ok());
  for (int i = 0; i < 16; ++i)
    ASSERT_EQ(::sigqueue(::getpid(), SIGRTMIN, sigval{i}), 0);
  EXPECT_EQ(source->ReadPending().size(), 16u);
  EXPECT_TRUE(source->ReadPending().empty());
}

TEST(BlockCoreSignals, BlocksTheCoreSetAndResetsIgnoredSignalsToDefault) {
  sigset_t saved_mask;
  ::sigprocmask(SIG_SETMASK, nullptr, &saved_mask);
  struct sigaction saved_hup;
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGHUP, &ignore, &saved_hup), 0);  // As under nohup.

  BlockCoreSignals();

  sigset_t mask;
  ::sigprocmask(SIG_SETMASK, nullptr, &mask);
  struct sigaction hup;
  ::sigaction(SIGHUP, nullptr, &hup);
  // Restore before asserting, so a failure cannot leave the binary with everything blocked.
  ::sigaction(SIGHUP, &saved_hup, nullptr);
  ::sigprocmask(SIG_SETMASK, &saved_mask, nullptr);

  for (int signo : {SIGTERM, SIGHUP, SIGINT, SIGCHLD, SIGUSR1, SIGTSTP, SIGTTOU}) {
    EXPECT_EQ(sigismember(&mask, signo), 1) << SignalName(signo);
  }
  EXPECT_EQ(sigismember(&mask, SIGRTMIN), 1);
  EXPECT_EQ(sigismember(&mask, SIGRTMAX), 1);
  for (int signo : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) {
    EXPECT_EQ(sigismember(&mask, signo), 0) << SignalName(signo);
  }
  EXPECT_EQ(hup.sa_handler, SIG_DFL) << "an inherited SIG_IGN would discard SIGHUP";
}

TEST(BlockCoreSignals, IgnoredSignalsAreQueuedForTheSignalfdAfterwards) {
  sigset_t saved_mask;
  ::sigprocmask(SIG_SETMASK, nullptr, &saved_mask);
  struct sigaction saved_usr2;
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGUSR2, &ignore, &saved_usr2), 0);

  BlockCoreSignals();
  std::vector<ReceivedSignal> got;
  {
    auto source = SignalSource::Create();
    if (source.ok()) {
      ::kill(::getpid(), SIGUSR2);
      got = source->ReadPending();
    }
  }
  const sigset_t set = CoreSignalSet();
  const timespec zero{0, 0};
  while (::sigtimedwait(&set, nullptr, &zero) > 0) {
  }
  ::sigaction(SIGUSR2, &saved_usr2, nullptr);
  ::sigprocmask(SIG_SETMASK, &saved_mask, nullptr);

  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].signo, SIGUSR2);
}

}  // namespace
}  // namespace vigil
