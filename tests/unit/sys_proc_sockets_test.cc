// ProcSocketScan: the socket inodes some processes and their process groups hold, read from a
// /proc built in a temporary directory (stat files, fd links to "socket:[N]"), a bounded
// number of reads at a time.
#include "agent/sys/proc_sockets.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <climits>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/fakes/fake_proc.h"

namespace vigil {
namespace {

using ::testing::UnorderedElementsAre;
using ::testing::UnorderedElementsAreArray;
using ::vigil::testing::FakeProc;
using ::vigil::testing::Socket;

std::vector<uint32_t> ScanAll(ProcSocketScan& scan) {
  std::vector<uint32_t> out;
  while (!scan.Step(SIZE_MAX, &out)) {
  }
  return out;
}

TEST(ProcSocketScanTest, FindsTheSocketsOfTheProcessesAndTheirGroups) {
  FakeProc proc;
  proc.Add(100, 100, {"/dev/null", Socket(11), "pipe:[5]"});  // a worker
  proc.Add(150, 100, {Socket(12)});                           // its child, same group
  proc.Add(160, 100, {Socket(13)}, 'Z');                      // a zombie of the group
  proc.Add(200, 200, {Socket(21)});                           // another group
  proc.Add(300, 300, {Socket(31), Socket(32)});               // another worker
  ProcSocketScan scan(proc.root(), {100, 300, 0}, SIZE_MAX);
  EXPECT_THAT(ScanAll(scan), UnorderedElementsAre(11u, 12u, 31u, 32u));
  EXPECT_TRUE(scan.done());
  EXPECT_FALSE(scan.truncated());
  std::vector<uint32_t> more;
  EXPECT_TRUE(scan.Step(10, &more));  // Over: no read at all.
  EXPECT_TRUE(more.empty());
}

TEST(ProcSocketScanTest, EachStepDoesAtMostItsBudgetOfReads) {
  FakeProc proc;
  std::vector<pid_t> workers;
  std::vector<uint32_t> expected;
  for (pid_t pid = 1000; pid < 1300; ++pid) {
    proc.Add(pid, pid, {"/dev/null", "/dev/null", Socket(static_cast<uint32_t>(pid))});
    workers.push_back(pid);
    expected.push_back(static_cast<uint32_t>(pid));
  }
  for (pid_t pid = 2000; pid < 2100; ++pid)
    proc.Add(pid, pid, {Socket(7)});           // other processes: a stat read each
  for (pid_t pid = 3000; pid < 3050; ++pid) {  // workers' children: stat, fds, link
    proc.Add(pid, pid - 2000, {Socket(static_cast<uint32_t>(pid))});
    expected.push_back(static_cast<uint32_t>(pid));
  }

  ProcSocketScan scan(proc.root(), workers, SIZE_MAX);
  std::vector<uint32_t> found;
  int steps = 0;
  uint64_t reads = 0;
  while (!scan.Step(10, &found)) {
    ++steps;
    EXPECT_LE(scan.reads() - reads, 10u) << "step " << steps;
    reads = scan.reads();
  }
  EXPECT_LE(scan.reads() - reads, 10u);
  // 350 fd directories, 950 links, 150 stats: 1,450 reads, so 145 steps at least.
  EXPECT_EQ(scan.reads(), 1450u);
  EXPECT_GE(steps, 144);
  EXPECT_THAT(found, UnorderedElementsAreArray(expected));
}

TEST(ProcSocketScanTest, ResumesWithinAProcessWithManyDescriptors) {
  FakeProc proc;
  std::vector<std::string> targets;
  std::vector<uint32_t> expected;
  for (uint32_t i = 1; i <= 200; ++i) {
    targets.push_back(Socket(i));
    expected.push_back(i);
  }
  proc.Add(100, 100, targets);
  ProcSocketScan scan(proc.root(), {100}, SIZE_MAX);
  std::vector<uint32_t> found;
  int steps = 0;
  while (!scan.Step(3, &found))
    ++steps;
  EXPECT_GE(steps, 66);
  EXPECT_THAT(found, UnorderedElementsAreArray(expected));
}

TEST(ProcSocketScanTest, StopsAtTheLinkLimitAndSaysSo) {
  FakeProc proc;
  for (pid_t pid = 100; pid < 110; ++pid)
    proc.Add(pid, pid, {Socket(1), Socket(2), Socket(3)});
  std::vector<pid_t> pids;
  for (pid_t pid = 100; pid < 110; ++pid)
    pids.push_back(pid);
  ProcSocketScan scan(proc.root(), pids, 7);
  EXPECT_EQ(ScanAll(scan).size(), 7u);
  EXPECT_TRUE(scan.truncated());
}

TEST(ProcSocketScanTest, NoProcOrNoProcessIsOverAtOnce) {
  std::vector<uint32_t> found;
  ProcSocketScan missing("/nonexistent/proc", {100}, SIZE_MAX);
  EXPECT_TRUE(missing.Step(1, &found));
  FakeProc proc;
  proc.Add(100, 100, {Socket(1)});
  ProcSocketScan none(proc.root(), {}, SIZE_MAX);
  EXPECT_TRUE(none.Step(1, &found));
  EXPECT_EQ(none.reads(), 0u);
  EXPECT_TRUE(found.empty());
}

TEST(ProcSocketScanTest, AProcessGoneOrUnreadableIsSkipped) {
  FakeProc proc;
  proc.Add(100, 100, {Socket(1)});
  proc.Add(200, 200, {Socket(2)});
  std::filesystem::remove_all(proc.root() + "/100/fd");  // exited between the listing and now
  ProcSocketScan scan(proc.root(), {100, 200}, SIZE_MAX);
  EXPECT_THAT(ScanAll(scan), UnorderedElementsAre(2u));
}

}  // namespace
}  // namespace vigil
