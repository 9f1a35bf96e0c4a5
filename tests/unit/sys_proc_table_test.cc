#include "agent/sys/proc_table.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace vigil {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

// A /proc/PID/stat line as the kernel writes it (fields after sid trimmed to a plausible tail).
std::string StatLine(pid_t pid, const std::string& comm, char state, pid_t ppid, pid_t pgid,
                     pid_t sid) {
  return std::to_string(pid) + " (" + comm + ") " + state + " " + std::to_string(ppid) + " " +
         std::to_string(pgid) + " " + std::to_string(sid) +
         " 34816 4242 4194560 1047 0 0 0 1 0 0 0 20 0 1 0 12345 8605696 905 "
         "18446744073709551615 1 1 0 0 0 0 0 3670020 1266777851 0 0 0 17 1 0 0 0 0 0\n";
}

TEST(ParseProcStat, ParsesARealLookingLine) {
  auto e = ParseProcStat(StatLine(1234, "bash", 'S', 1, 1234, 1200));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->pid, 1234);
  EXPECT_EQ(e->ppid, 1);
  EXPECT_EQ(e->pgid, 1234);
  EXPECT_EQ(e->sid, 1200);
  EXPECT_EQ(e->state, 'S');
}

TEST(ParseProcStat, CommWithSpacesAndParentheses) {
  auto e = ParseProcStat(StatLine(77, "my (weird) prog", 'R', 5, 77, 5));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->pid, 77);
  EXPECT_EQ(e->state, 'R');
  EXPECT_EQ(e->ppid, 5);
  EXPECT_EQ(e->pgid, 77);
  EXPECT_EQ(e->sid, 5);
}

TEST(ParseProcStat, CommThatLooksLikeFieldsIsSkipped) {
  // A process may name itself ") S 1 1 1": only the last ')' ends the name.
  auto e = ParseProcStat(StatLine(88, ") S 1 2 3", 'Z', 9, 88, 9));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->pid, 88);
  EXPECT_EQ(e->state, 'Z');
  EXPECT_EQ(e->ppid, 9);
  EXPECT_EQ(e->pgid, 88);
}

TEST(ParseProcStat, EmptyCommAndMinimalLine) {
  auto e = ParseProcStat("5 () D 1 5 5");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->pid, 5);
  EXPECT_EQ(e->state, 'D');
  EXPECT_EQ(e->sid, 5);
}

TEST(ParseProcStat, KernelThreadWithParentZero) {
  auto e = ParseProcStat(StatLine(2, "kthreadd", 'S', 0, 0, 0));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->ppid, 0);
}

TEST(ParseProcStat, MalformedLinesAreRejected) {
  for (const char* line : {
           "", "garbage",
           "12 (x",          // No closing parenthesis.
           "12(y) S 1 2 3",  // No space before the name.
           "x (y) S 1 2 3",  // Non-numeric pid.
           "-- (y) S 1 2 3",
           "12 (y) SS 1 2 3",    // State is one character.
           "12 (y)",             // Nothing after the name.
           "12 (y) S",           // No ppid.
           "12 (y) S 1 2",       // No session.
           "12 (y) S a 2 3",     // Non-numeric ppid.
           "12 (y) S 1 b 3",     // Non-numeric pgid.
           "12 (y) S 1 2 3x 4",  // Trailing garbage in a number.
           "1 ) (x S 1 2 3",     // ')' before '('.
       }) {
    EXPECT_FALSE(ParseProcStat(line).has_value()) << "'" << line << "'";
  }
}

TEST(ParseProcStat, ParsesOurOwnProcEntry) {
  std::ifstream in("/proc/self/stat");
  ASSERT_TRUE(in.good());
  std::string line((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto e = ParseProcStat(line);
  ASSERT_TRUE(e.has_value()) << line;
  EXPECT_EQ(e->pid, ::getpid());
  EXPECT_EQ(e->ppid, ::getppid());
  EXPECT_EQ(e->pgid, ::getpgrp());
  EXPECT_EQ(e->sid, ::getsid(0));
  EXPECT_EQ(e->state, 'R');
}

ProcEntry Entry(pid_t pid, pid_t ppid, char state = 'S') {
  ProcEntry e;
  e.pid = pid;
  e.ppid = ppid;
  e.pgid = pid;
  e.sid = 1;
  e.state = state;
  return e;
}

// 1 ── 10 (root) ─┬─ 11 ─┬─ 13 ── 15
//                 │      └─ 14 (X, dead)
//                 ├─ 12 (Z, zombie)
//                 └─ 16 (T, stopped) ── 17 (D)
//      20 (unrelated) ── 21
TEST(ProcTable, DescendantsOfFindsGrandchildrenAndSkipsZombiesAndStrangers) {
  ProcTable table({Entry(1, 0), Entry(10, 1), Entry(11, 10), Entry(12, 10, 'Z'), Entry(13, 11),
                   Entry(14, 11, 'X'), Entry(15, 13, 'R'), Entry(16, 10, 'T'), Entry(17, 16, 'D'),
                   Entry(20, 1), Entry(21, 20)});
  EXPECT_THAT(table.DescendantsOf(10), UnorderedElementsAre(11, 13, 15, 16, 17));
}

TEST(ProcTable, DescendantsComeParentsFirst) {
  ProcTable table({Entry(15, 13), Entry(13, 11), Entry(11, 10), Entry(10, 1), Entry(12, 11)});
  std::vector<pid_t> d = table.DescendantsOf(10);
  ASSERT_THAT(d, UnorderedElementsAre(11, 12, 13, 15));
  auto index = [&](pid_t pid) { return std::find(d.begin(), d.end(), pid) - d.begin(); };
  EXPECT_LT(index(11), index(13));
  EXPECT_LT(index(11), index(12));
  EXPECT_LT(index(13), index(15));
}

TEST(ProcTable, ChildrenOfAZombieThreadGroupLeaderAreStillFound) {
  // A zombie leader whose other threads still run keeps its children (their ppid is its tgid).
  ProcTable table({Entry(10, 1), Entry(11, 10, 'Z'), Entry(12, 11)});
  EXPECT_THAT(table.DescendantsOf(10), ElementsAre(12));
}

TEST(ProcTable, NoChildrenGivesNothing) {
  ProcTable table({Entry(1, 0), Entry(10, 1), Entry(20, 1)});
  EXPECT_THAT(table.DescendantsOf(10), IsEmpty());
  EXPECT_THAT(table.DescendantsOf(99), IsEmpty());
  EXPECT_THAT(ProcTable({}).DescendantsOf(1), IsEmpty());
}

TEST(ProcTable, RootIsNeverItsOwnDescendantEvenInACycle) {
  // Malformed snapshot (a pid reused while we read): must terminate and not list the root.
  ProcTable table({Entry(10, 11), Entry(11, 10)});
  EXPECT_THAT(table.DescendantsOf(10), ElementsAre(11));
}

class ReadProcTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vigil-proc-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  void Write(const std::string& dir, const std::string& content) {
    std::filesystem::create_directories(root_ / dir);
    std::ofstream(root_ / dir / "stat") << content;
  }

  std::filesystem::path root_;
};

TEST_F(ReadProcTableTest, ReadsNumericDirectoriesAndSkipsTheRest) {
  Write("1", StatLine(1, "init", 'S', 0, 1, 1));
  Write("10", StatLine(10, "vigil", 'S', 1, 10, 1));
  Write("11", StatLine(11, "sh -c (x)", 'S', 10, 11, 1));
  Write("12", "not a stat line");
  Write("self", StatLine(99, "self", 'S', 10, 99, 1));  // Not a pid directory.
  Write("0", StatLine(98, "zero", 'S', 10, 98, 1));     // Pids start at 1.
  std::filesystem::create_directories(root_ / "13");    // Exited: no stat file.
  ProcTable table = ReadProcTable(root_.string());
  std::vector<pid_t> pids;
  for (const auto& e : table.entries())
    pids.push_back(e.pid);
  EXPECT_THAT(pids, UnorderedElementsAre(1, 10, 11));
  EXPECT_THAT(table.DescendantsOf(10), ElementsAre(11));
}

TEST_F(ReadProcTableTest, MissingRootGivesAnEmptyTable) {
  EXPECT_THAT(ReadProcTable((root_ / "nope").string()).entries(), IsEmpty());
}

TEST(ReadProcTable, RealProcHasUsWithOurParent) {
  ProcTable table = ReadProcTable("/proc");
  auto it = std::find_if(table.entries().begin(), table.entries().end(),
                         [](const ProcEntry& e) { return e.pid == ::getpid(); });
  ASSERT_NE(it, table.entries().end());
  EXPECT_EQ(it->ppid, ::getppid());
}

}  // namespace
}  // namespace vigil
