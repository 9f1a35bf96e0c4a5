// OomCounterPaths and ParseOomKill: which memory-cgroup files hold the OOM-kill counter for a
// given /proc/self/cgroup (v1 first, then v2, then the root fallbacks), and the `oom_kill N`
// line of memory.events (v2) and memory.oom_control (v1). Pure; nothing reads the real files.
#include "agent/sys/oom_counter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vigil {
namespace {

using ::testing::ElementsAre;

constexpr const char* kRootEvents = "/sys/fs/cgroup/memory.events";
constexpr const char* kRootOomControl = "/sys/fs/cgroup/memory/memory.oom_control";

// ---------------------------------------------------------------------------------------------
// OomCounterPaths
// ---------------------------------------------------------------------------------------------

TEST(OomCounterPathsTest, EmptyInputGivesOnlyTheRootFallbacks) {
  EXPECT_THAT(OomCounterPaths(""), ElementsAre(kRootEvents, kRootOomControl));
}

TEST(OomCounterPathsTest, CgroupV1MemoryLine) {
  EXPECT_THAT(OomCounterPaths("4:memory:/process_api/abc\n"),
              ElementsAre("/sys/fs/cgroup/memory/process_api/abc/memory.oom_control", kRootEvents,
                          kRootOomControl));
}

TEST(OomCounterPathsTest, CgroupV1MemoryCoMountedWithOtherControllers) {
  EXPECT_THAT(
      OomCounterPaths("5:cpu,memory:/x"),
      ElementsAre("/sys/fs/cgroup/memory/x/memory.oom_control", kRootEvents, kRootOomControl));
  EXPECT_THAT(
      OomCounterPaths("5:memory,cpu:/x"),
      ElementsAre("/sys/fs/cgroup/memory/x/memory.oom_control", kRootEvents, kRootOomControl));
}

TEST(OomCounterPathsTest, CgroupV1LinesWithoutMemoryAreSkipped) {
  EXPECT_THAT(OomCounterPaths("3:cpu,cpuacct:/x\n2:memorysomething:/y\n1:name=systemd:/z\n"),
              ElementsAre(kRootEvents, kRootOomControl));
}

TEST(OomCounterPathsTest, CgroupV2Line) {
  EXPECT_THAT(OomCounterPaths("0::/kubepods/pod1\n"),
              ElementsAre("/sys/fs/cgroup/kubepods/pod1/memory.events",
                          "/sys/fs/cgroup/unified/kubepods/pod1/memory.events", kRootEvents,
                          kRootOomControl));
}

TEST(OomCounterPathsTest, CgroupV2AtTheRootOfItsNamespace) {
  EXPECT_THAT(OomCounterPaths("0::/\n"),
              ElementsAre("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/unified/memory.events",
                          kRootEvents, kRootOomControl));
}

TEST(OomCounterPathsTest, CgroupV1AtTheRootOfItsNamespace) {
  EXPECT_THAT(
      OomCounterPaths("7:memory:/\n"),
      ElementsAre("/sys/fs/cgroup/memory/memory.oom_control", kRootEvents, kRootOomControl));
}

TEST(OomCounterPathsTest, HybridPutsV1FirstThenV2ThenTheRoot) {
  // v2 listed first in the file; v1 still comes first in the result.
  const std::string hybrid =
      "0::/user.slice/app\n"
      "12:pids:/user.slice\n"
      "4:memory:/user.slice/app\n"
      "1:name=systemd:/user.slice/app\n";
  EXPECT_THAT(OomCounterPaths(hybrid),
              ElementsAre("/sys/fs/cgroup/memory/user.slice/app/memory.oom_control",
                          "/sys/fs/cgroup/user.slice/app/memory.events",
                          "/sys/fs/cgroup/unified/user.slice/app/memory.events", kRootEvents,
                          kRootOomControl));
}

TEST(OomCounterPathsTest, AnotherCgroupRoot) {
  EXPECT_THAT(OomCounterPaths("0::/a\n", "/tmp/cg"),
              ElementsAre("/tmp/cg/a/memory.events", "/tmp/cg/unified/a/memory.events",
                          "/tmp/cg/memory.events", "/tmp/cg/memory/memory.oom_control"));
}

TEST(OomCounterPathsTest, LastLineWithoutNewlineAndGarbageLines) {
  EXPECT_THAT(
      OomCounterPaths("garbage\n\nno-second-colon:x\n4:memory:/m"),
      ElementsAre("/sys/fs/cgroup/memory/m/memory.oom_control", kRootEvents, kRootOomControl));
}

TEST(OomCounterPathsTest, AV2LikeLineWithControllersIsNotV2) {
  // Hierarchy 0 with controllers named is not the unified hierarchy.
  EXPECT_THAT(OomCounterPaths("0:cpu:/x\n"), ElementsAre(kRootEvents, kRootOomControl));
}

// ---------------------------------------------------------------------------------------------
// ParseOomKill
// ---------------------------------------------------------------------------------------------

TEST(ParseOomKillTest, CgroupV2MemoryEvents) {
  EXPECT_EQ(ParseOomKill("low 0\nhigh 0\nmax 3\noom 2\noom_kill 1\n"), 1u);
}

TEST(ParseOomKillTest, CgroupV2MemoryEventsWithOomGroupKill) {
  EXPECT_EQ(ParseOomKill("low 0\nhigh 0\nmax 3\noom 2\noom_kill 5\noom_group_kill 9\n"), 5u);
}

TEST(ParseOomKillTest, CgroupV1OomControlIsNotFooledByOomKillDisable) {
  EXPECT_EQ(ParseOomKill("oom_kill_disable 0\nunder_oom 0\noom_kill 7\n"), 7u);
}

TEST(ParseOomKillTest, WithoutTrailingNewline) {
  EXPECT_EQ(ParseOomKill("oom 2\noom_kill 12"), 12u);
}

TEST(ParseOomKillTest, LargeValue) {
  EXPECT_EQ(ParseOomKill("oom_kill 18446744073709551615\n"), 18446744073709551615u);
}

TEST(ParseOomKillTest, AbsentKeyIsNullopt) {
  EXPECT_EQ(ParseOomKill(""), std::nullopt);
  EXPECT_EQ(ParseOomKill("low 0\nhigh 0\nmax 3\noom 2\n"), std::nullopt);
  // Old v1 kernels (before 4.13) have no oom_kill line.
  EXPECT_EQ(ParseOomKill("oom_kill_disable 0\nunder_oom 0\n"), std::nullopt);
}

TEST(ParseOomKillTest, GarbageValueIsNullopt) {
  EXPECT_EQ(ParseOomKill("oom_kill abc\n"), std::nullopt);
  EXPECT_EQ(ParseOomKill("oom_kill 12x\n"), std::nullopt);
  EXPECT_EQ(ParseOomKill("oom_kill -1\n"), std::nullopt);
  EXPECT_EQ(ParseOomKill("oom_kill \n"), std::nullopt);
  EXPECT_EQ(ParseOomKill("oom_kill 99999999999999999999\n"), std::nullopt);  // overflow
}

TEST(ParseOomKillTest, TheKeyMustStartTheLine) {
  EXPECT_EQ(ParseOomKill("xoom_kill 3\n"), std::nullopt);
  EXPECT_EQ(ParseOomKill("oom_killer 3\n"), std::nullopt);
}

}  // namespace
}  // namespace vigil
