#include "agent/signal/exit_status.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>

namespace vigil {
namespace {

// The encodings of <sys/wait.h>: exit code in bits 8..15, terminating signal in bits 0..6,
// core-dump flag in bit 7.
constexpr int Exited(int code) {
  return W_EXITCODE(code, 0);
}
constexpr int Killed(int signo) {
  return W_EXITCODE(0, signo);
}
constexpr int KilledWithCore(int signo) {
  return W_EXITCODE(0, signo) | WCOREFLAG;
}

int RealStatus(void (*child)()) {
  pid_t pid = ::fork();
  if (pid == 0) {
    child();
    ::_exit(99);
  }
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  return status;
}

TEST(ExitCodeFromWaitStatus, ExitedNIsN) {
  const ExitCodeSet none;
  for (int code = 0; code <= 255; ++code) {
    EXPECT_EQ(ExitCodeFromWaitStatus(Exited(code), none), code);
  }
}

TEST(ExitCodeFromWaitStatus, SuccessCodesAreReportedAsZero) {
  ExitCodeSet success;
  success.set(3);
  success.set(255);
  EXPECT_EQ(ExitCodeFromWaitStatus(Exited(3), success), 0);
  EXPECT_EQ(ExitCodeFromWaitStatus(Exited(255), success), 0);
  EXPECT_EQ(ExitCodeFromWaitStatus(Exited(4), success), 4);
  EXPECT_EQ(ExitCodeFromWaitStatus(Exited(0), success), 0);
}

TEST(ExitCodeFromWaitStatus, KilledBySignalNIs128PlusN) {
  const ExitCodeSet none;
  for (int signo = 1; signo <= SIGRTMAX; ++signo) {
    EXPECT_EQ(ExitCodeFromWaitStatus(Killed(signo), none), 128 + signo) << signo;
  }
  EXPECT_EQ(ExitCodeFromWaitStatus(Killed(SIGTERM), none), 143);
  EXPECT_EQ(ExitCodeFromWaitStatus(Killed(SIGKILL), none), 137);
}

TEST(ExitCodeFromWaitStatus, CoreDumpDoesNotChangeTheCode) {
  EXPECT_EQ(ExitCodeFromWaitStatus(KilledWithCore(SIGSEGV), ExitCodeSet()), 128 + SIGSEGV);
  EXPECT_EQ(ExitCodeFromWaitStatus(KilledWithCore(SIGABRT), ExitCodeSet()), 134);
}

TEST(ExitCodeFromWaitStatus, SuccessCodesApplyToTheSignalCodeToo) {
  ExitCodeSet success;
  success.set(143);  // -e 143: "killed by SIGTERM" counts as success, as with tini.
  EXPECT_EQ(ExitCodeFromWaitStatus(Killed(SIGTERM), success), 0);
  EXPECT_EQ(ExitCodeFromWaitStatus(Killed(SIGINT), success), 130);
}

TEST(ExitCodeFromWaitStatus, MatchesRealChildren) {
  const ExitCodeSet none;
  EXPECT_EQ(ExitCodeFromWaitStatus(RealStatus([] { ::_exit(7); }), none), 7);
  EXPECT_EQ(ExitCodeFromWaitStatus(RealStatus([] { ::_exit(0); }), none), 0);
  EXPECT_EQ(ExitCodeFromWaitStatus(RealStatus([] {
                                     ::signal(SIGTERM, SIG_DFL);
                                     sigset_t none_blocked;
                                     sigemptyset(&none_blocked);
                                     ::sigprocmask(SIG_SETMASK, &none_blocked, nullptr);
                                     ::kill(::getpid(), SIGTERM);
                                   }),
                                   none),
            143);
  EXPECT_EQ(ExitCodeFromWaitStatus(RealStatus([] { ::kill(::getpid(), SIGKILL); }), none), 137);
}

TEST(ExitCodeForExecError, NotFoundIs127) {
  EXPECT_EQ(ExitCodeForExecError(ENOENT), kExitNotFound);
  EXPECT_EQ(ExitCodeForExecError(ENOTDIR), kExitNotFound);
  EXPECT_EQ(kExitNotFound, 127);
}

TEST(ExitCodeForExecError, NotExecutableIs126) {
  for (int err : {EACCES, ENOEXEC, EISDIR, EPERM, ELOOP, ENAMETOOLONG, ETXTBSY}) {
    EXPECT_EQ(ExitCodeForExecError(err), kExitNotExecutable) << err;
  }
  EXPECT_EQ(kExitNotExecutable, 126);
}

TEST(ExitCodes, UsageAndInternal) {
  EXPECT_EQ(kExitUsage, 2);
  EXPECT_EQ(kExitInternal, 1);
}

}  // namespace
}  // namespace vigil
