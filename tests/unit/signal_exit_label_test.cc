// The one text of an exit (agent/signal/exit_label.h): the worker_exited line's detail field, the
// crash_loop verdict's last_exit, the termination message, vigilctl's LAST EXIT column and the
// control_exited line all come from here.
#include "agent/signal/exit_label.h"

#include <signal.h>
#include <sys/wait.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <string>

#include "agent/supervisor/exit_reason.h"
#include "tests/fakes/log_capture.h"
#include "tests/fakes/supervisor_harness.h"

namespace vigil {
namespace {

TEST(ExitLabelTest, CodeSignalOrNeither) {
  EXPECT_EQ(ExitLabel("exited", 0, 0), "exited(0)");
  EXPECT_EQ(ExitLabel("boot_failure", 1, 0), "boot_failure(1)");
  EXPECT_EQ(ExitLabel("stop_timeout_killed", -1, SIGKILL), "stop_timeout_killed(SIGKILL)");
  EXPECT_EQ(ExitLabel("spawn_failed", -1, 0), "spawn_failed");
  EXPECT_EQ(ExitLabel("signaled", -1, SIGRTMIN + 3), "signaled(SIGRTMIN+3)");
}

// The signal wins over a code: a killed process has none (and a stray one is not shown).
TEST(ExitLabelTest, SignalWinsOverCode) {
  EXPECT_EQ(ExitLabel("signaled", 3, SIGTERM), "signaled(SIGTERM)");
  const ExitDetail detail = DetailOfExit(3, SIGTERM);
  EXPECT_TRUE(detail.by_signal);
  EXPECT_EQ(detail.signal_name, "SIGTERM");
}

TEST(ExitLabelTest, DetailIsTheCodeWhenNoSignal) {
  ExitDetail detail = DetailOfExit(2, 0);
  EXPECT_FALSE(detail.by_signal);
  EXPECT_EQ(detail.code, 2);
  detail = DetailOfExit(-7, 0);
  EXPECT_EQ(detail.code, -1);  // The worker_exited line's "no code".
}

// Today's choice where the five formats disagreed: vigilctl showed "signaled(sig 9)" (two
// columns of its table), the crash_loop verdict "exited (code 1)", the termination message
// "exited(1)"/"signaled(SIGKILL)". Every one now shows the termination message's form.
TEST(ExitLabelTest, ExitRecordLabelIsTheTerminationMessageForm) {
  ExitRecord exited;
  exited.code = 1;
  EXPECT_EQ(ExitLabel(exited), "exited(1)");
  ExitRecord killed;
  killed.reason = ExitReason::kSignaled;
  killed.signal = SIGKILL;
  EXPECT_EQ(ExitLabel(killed), "signaled(SIGKILL)");
  ExitRecord admin;
  admin.reason = ExitReason::kAdmin;
  EXPECT_EQ(ExitLabel(admin), "admin");
}

TEST(ExitLabelTest, WaitStatusLabel) {
  EXPECT_EQ(WaitStatusLabel(W_EXITCODE(0, 0)), "exited(0)");
  EXPECT_EQ(WaitStatusLabel(W_EXITCODE(70, 0)), "exited(70)");
  EXPECT_EQ(WaitStatusLabel(W_EXITCODE(0, SIGKILL)), "signaled(SIGKILL)");
  EXPECT_EQ(WaitStatusLabel(W_EXITCODE(0, SIGSEGV) | WCOREFLAG), "core_dump(SIGSEGV)");
}

using ::testing::HasSubstr;
using ::testing::Not;
using ::vigil::testing::ExitedWith;
using ::vigil::testing::KilledBy;
using ::vigil::testing::LogCapture;
using ::vigil::testing::MakePool;

class ExitLineTest : public ::vigil::testing::SupervisorHarness {};

// worker_exited gives the detail as a field of its own: the signal's name, or the code.
TEST_F(ExitLineTest, WorkerExitedGivesTheSignalOrTheCode) {
  config_.pools = {MakePool("a")};
  config_.pools[0].backoff.initial = std::chrono::seconds(1);
  Start();
  LogCapture log;
  Reap(100, KilledBy(SIGKILL));
  scheduler_.AdvanceBy(std::chrono::seconds(1));
  Reap(101, ExitedWith(7));
  const std::string text = log.text();
  EXPECT_THAT(text, HasSubstr("worker exited pool=a slot=0 pid=100 reason=signaled signal=SIGKILL "
                              "before_ready=false"));
  EXPECT_THAT(text, HasSubstr("worker exited pool=a slot=0 pid=101 reason=exited code=7 "
                              "before_ready=false"));
}

// The crash_loop verdict's last_exit is the label (was "exited (code 1)").
TEST_F(ExitLineTest, CrashLoopLastExitIsTheLabel) {
  config_.pools = {MakePool("a")};
  config_.pools[0].crash_loop.max_restarts = 0;
  Start();
  LogCapture log;
  Reap(100, ExitedWith(1));
  EXPECT_THAT(log.text(), HasSubstr("last_exit=exited(1)"));
  EXPECT_THAT(log.text(), Not(HasSubstr("(code")));
}

}  // namespace
}  // namespace vigil
