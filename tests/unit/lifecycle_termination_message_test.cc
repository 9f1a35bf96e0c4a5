// BuildTerminationMessage and WriteTerminationMessage (agent/lifecycle/termination_message.h):
// the summary built from a Supervisor run against the fakes, its 4 KiB cap, and the file it is
// written to (only one that already exists).
#include "agent/lifecycle/termination_message.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/fakes/supervisor_harness.h"

namespace vigil {
namespace {

using namespace std::chrono_literals;
using ::vigil::testing::ExitedWith;
using ::vigil::testing::KilledBy;
using ::vigil::testing::MakePool;
using ::vigil::testing::SupervisorHarness;

class TerminationMessageTest : public SupervisorHarness {};

// The example of the header, end to end: jobs ignores its SIGTERM and is SIGKILLed at its stop
// timeout (a straggler, exit 4), then web's three workers exit 0.
TEST_F(TerminationMessageTest, TheHeadersExample) {
  config_.pools = {MakePool("web"), MakePool("jobs")};
  config_.pools[0].replicas = 3;       // pids 100-102
  config_.pools[1].stop_timeout = 5s;  // pid 103
  Start();
  const MonoTime started = clock_.Now();
  Signal(SIGTERM);
  scheduler_.AdvanceBy(5s);  // Pools stop in reverse order: jobs first, SIGKILLed now.
  Reap(103, KilledBy(SIGKILL));
  for (pid_t pid : {100, 101, 102})
    Reap(pid, ExitedWith(0));
  ASSERT_TRUE(sup().finished());
  EXPECT_EQ(BuildTerminationMessage(sup(), started + 12300ms),
            "vigil exited 4: drain complete (trigger signal, 12.3s), 1 straggler(s) signalled or "
            "killed at a deadline\n"
            "pool web: 3/3 ended gracefully: exited(0) x3\n"
            "pool jobs: 0/1 ended gracefully: stop_timeout_killed(SIGKILL) x1\n");
}

// propagation_delay: auto says how long the drain waited for the traffic to stop, and why.
TEST_F(TerminationMessageTest, ThePropagationDelayHasItsLine) {
  config_.drain.propagation_auto = true;
  tcp_.listening[100] = {8000};
  config_.pools = {MakePool("web")};
  Start();
  const MonoTime started = clock_.Now();
  Signal(SIGTERM);
  for (int i = 0; i < 5; ++i) {
    tcp_.Connect(8000);
    scheduler_.AdvanceBy(100ms);
  }
  scheduler_.AdvanceBy(1s);
  Reap(100, ExitedWith(0));
  ASSERT_TRUE(sup().finished());
  EXPECT_EQ(BuildTerminationMessage(sup(), started + 1600ms),
            "vigil exited 0: drain complete (trigger signal, 1.6s)\n"
            "propagation 1.45s (quiet, 5 new connection(s) after readiness off)\n"
            "pool web: 1/1 ended gracefully: exited(0) x1\n");
}

// A crash loop with nothing left to stop ends the agent without a drain.
TEST_F(TerminationMessageTest, ACrashLoopWithNothingLeftToStop) {
  config_.pools = {MakePool("app")};
  config_.pools[0].crash_loop.max_restarts = 1;
  config_.pools[0].backoff.initial = 1s;
  Start();
  Reap(100, ExitedWith(2));
  scheduler_.AdvanceBy(1s);
  Reap(101, KilledBy(SIGSEGV));  // The second unstable run in a row: crash loop.
  ASSERT_TRUE(sup().finished()) << "on_pool_failure: exit, with nothing left to stop";
  EXPECT_EQ(BuildTerminationMessage(sup(), clock_.Now()),
            "vigil exited 3: every worker ended for good\n"
            "pool app: 0/1 ended gracefully, FAILED (crash loop: 2 unstable runs in a row): "
            "signaled(SIGSEGV) x1\n");
}

// Regression (issue 12): workers all waiting to restart after failures when SIGTERM came read
// "pool app: 2/2 ended gracefully: exited(1) x2", and Vigil exited 0.
TEST_F(TerminationMessageTest, WorkersWaitingToRestartAfterFailuresHadFailed) {
  config_.pools = {MakePool("app")};
  config_.pools[0].replicas = 2;
  Start();
  const MonoTime started = clock_.Now();
  Reap(100, ExitedWith(1));
  Reap(101, ExitedWith(1));
  Signal(SIGTERM);
  ASSERT_TRUE(sup().finished());
  EXPECT_EQ(BuildTerminationMessage(sup(), started),
            "vigil exited 5: drain complete (trigger signal, 0s)\n"
            "pool app: 0/2 ended gracefully, 2 had failed and were waiting to restart: "
            "exited(1) x2\n");
}

// The window rule names its own count and period.
TEST_F(TerminationMessageTest, ACrashLoopByTheWindowRule) {
  config_.pools = {MakePool("app")};
  config_.pools[0].crash_loop.max_restarts = 1;
  config_.pools[0].crash_loop.stability_period = 0s;  // Every run that got ready is stable.
  config_.pools[0].backoff.initial = 1s;
  Start();
  Reap(100, ExitedWith(2));
  scheduler_.AdvanceBy(1s);
  Reap(101, ExitedWith(2));
  ASSERT_TRUE(sup().finished());
  EXPECT_EQ(BuildTerminationMessage(sup(), clock_.Now()),
            "vigil exited 3: every worker ended for good\n"
            "pool app: 0/1 ended gracefully, FAILED (crash loop: 2 failures within 60s): "
            "exited(2) x1\n");
}

TEST_F(TerminationMessageTest, CutToFourKibAtALineBoundary) {
  config_.pools.clear();
  for (int i = 0; i < 80; ++i)  // 80 lines of ~90 bytes: about 7 KiB.
    config_.pools.push_back(MakePool(std::string(60, 'p') + std::to_string(100 + i)));
  Start();
  Signal(SIGTERM);
  for (int i = 79; i >= 0; --i)
    Reap(100 + i, ExitedWith(0));
  ASSERT_TRUE(sup().finished());
  const std::string text = BuildTerminationMessage(sup(), clock_.Now());
  EXPECT_LE(text.size(), kMaxTerminationMessage);
  EXPECT_GT(text.size(), kMaxTerminationMessage - 200);  // Not cut more than a line's worth.
  ASSERT_GE(text.size(), 4u);
  EXPECT_EQ(text.substr(text.size() - 4), "...\n");
  const std::string kept = text.substr(0, text.size() - 4);
  EXPECT_EQ(kept.back(), '\n') << "ends in half a line";
  EXPECT_EQ(kept.rfind("vigil exited 0: drain complete (trigger signal, 0s)\n", 0), 0u) << kept;
  std::istringstream lines(kept.substr(kept.find('\n') + 1));
  int pools = 0;
  for (std::string line; std::getline(lines, line); ++pools) {
    EXPECT_EQ(line, "pool " + std::string(60, 'p') + std::to_string(100 + pools) +
                        ": 1/1 ended gracefully: exited(0) x1");
  }
  EXPECT_GT(pools, 30);
}

// Exactly at the cap nothing is cut; one byte more and the last 5 bytes make room for "...\n":
// with no line boundary in the second half, it is cut mid-line (one line cannot be kept whole).
TEST(TerminationMessage, TheCapIsExact) {
  const size_t fixed = BuildSingleCommandTerminationMessage("", 0).size();
  EXPECT_EQ(BuildSingleCommandTerminationMessage("", 0),
            "vigil exited 0: main process '' ended with status 0\n");
  const std::string at_cap =
      BuildSingleCommandTerminationMessage(std::string(kMaxTerminationMessage - fixed, 'x'), 0);
  EXPECT_EQ(at_cap.size(), kMaxTerminationMessage);
  EXPECT_EQ(at_cap.substr(at_cap.size() - 22), "' ended with status 0\n");
  const std::string over =
      BuildSingleCommandTerminationMessage(std::string(kMaxTerminationMessage - fixed + 1, 'x'), 0);
  EXPECT_EQ(over.size(), kMaxTerminationMessage);
  EXPECT_EQ(over.substr(over.size() - 13), "with stat...\n");
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/vigil-termination-XXXXXX";
    path_ = ::mkdtemp(tmpl) ? tmpl : "";
  }
  ~TempDir() { (void)std::system(("rm -rf '" + path_ + "'").c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(WriteTerminationMessage, OnlyAFileThatExistsIsWritten) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string missing = dir.path() + "/termination-log";
  EXPECT_TRUE(WriteTerminationMessage(missing, "text\n").ok());
  EXPECT_NE(::access(missing.c_str(), F_OK), 0) << "created a file outside Kubernetes";
  EXPECT_TRUE(WriteTerminationMessage("", "text\n").ok());  // No path: nothing to do.
}

TEST(WriteTerminationMessage, ReplacesTheFilesContentCutToTheCap) {
  TempDir dir;
  const std::string path = dir.path() + "/termination-log";
  { std::ofstream(path) << std::string(10000, 'o'); }
  ASSERT_TRUE(WriteTerminationMessage(path, "short\n").ok());
  EXPECT_EQ(Slurp(path), "short\n");
  ASSERT_TRUE(WriteTerminationMessage(path, std::string(9000, 'z')).ok());
  const std::string written = Slurp(path);
  EXPECT_EQ(written.size(), kMaxTerminationMessage);
  EXPECT_EQ(written.substr(written.size() - 4), "...\n");
}

TEST(WriteTerminationMessage, AnErrorNamesThePath) {
  TempDir dir;
  const Status s = WriteTerminationMessage(dir.path(), "text\n");  // A directory.
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(dir.path()), std::string::npos) << s.message();
}

}  // namespace
}  // namespace vigil
