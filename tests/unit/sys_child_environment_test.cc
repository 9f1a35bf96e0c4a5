// ChildEnvironment: the one environment of workers, exec probes and stop hooks.
#include "agent/sys/child_environment.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

namespace vigil {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

TEST(ChildEnvironmentTest, TheOuterSupervisorsVariablesAreNeverInherited) {
  ChildEnvironment env({"PATH=/bin", "NOTIFY_SOCKET=/run/outer", "WATCHDOG_USEC=1",
                        "WATCHDOG_PID=1", "LISTEN_PID=1", "LISTEN_FDS=2", "LISTEN_FDNAMES=a",
                        "HOME=/root"});
  EXPECT_THAT(env.inherited(), ElementsAre("PATH=/bin", "HOME=/root"));
  EXPECT_THAT(env.Build({}, {}), ElementsAre("PATH=/bin", "HOME=/root"));
}

TEST(ChildEnvironmentTest, OnlyTheExactNamesAreSupervisorVariables) {
  EXPECT_TRUE(ChildEnvironment::IsSupervisorVariable("NOTIFY_SOCKET="));
  EXPECT_FALSE(ChildEnvironment::IsSupervisorVariable("NOTIFY_SOCKETS=x"));
  EXPECT_FALSE(ChildEnvironment::IsSupervisorVariable("MY_NOTIFY_SOCKET=x"));
  EXPECT_FALSE(ChildEnvironment::IsSupervisorVariable("WATCHDOG=1"));
}

TEST(ChildEnvironmentTest, ThePoolEnvReplacesInheritedNamesAndOwnVariablesReplaceBoth) {
  ChildEnvironment env({"A=vigil", "B=vigil", "VIGIL_POOL=outer", "C=vigil"});
  const std::vector<std::string> built =
      env.Build({{"B", "pool"}, {"D", "pool"}, {"VIGIL_WORKER", "pool"}},
                {{"VIGIL_POOL", "web"}, {"VIGIL_WORKER", "3"}, {"NOTIFY_SOCKET", "/run/n"}});
  EXPECT_THAT(built,
              UnorderedElementsAre("A=vigil", "B=pool", "C=vigil", "D=pool", "VIGIL_POOL=web",
                                   "VIGIL_WORKER=3", "NOTIFY_SOCKET=/run/n"));
}

TEST(ChildEnvironmentTest, ANameInheritedTwiceKeepsTheOneGetenvWouldFind) {
  ChildEnvironment env({"A=first", "A=second", "odd-entry-without-equals"});
  EXPECT_THAT(env.Build({}, {}), ElementsAre("A=first", "odd-entry-without-equals"));
  EXPECT_THAT(env.Build({{"A", "pool"}}, {}), ElementsAre("A=pool", "odd-entry-without-equals"));
}

TEST(ChildEnvironmentTest, EmptyValuesAreKeptAsValues) {
  ChildEnvironment env({"EMPTY="});
  EXPECT_THAT(env.Build({{"ALSO", ""}}, {{"OWN", ""}}), ElementsAre("EMPTY=", "ALSO=", "OWN="));
}

TEST(ChildEnvironmentTest, ADefaultOneInheritsNothing) {
  EXPECT_THAT(ChildEnvironment().Build({}, {}), IsEmpty());
  EXPECT_THAT(ChildEnvironment().Build({}, {{"VIGIL_HOOK", "h"}}), ElementsAre("VIGIL_HOOK=h"));
}

TEST(ChildEnvironmentTest, FromProcessReadsVigilsEnvironmentLessTheSupervisors) {
  ASSERT_EQ(::setenv("VIGIL_CHILD_ENV_TEST", "here", 1), 0);
  ASSERT_EQ(::setenv("NOTIFY_SOCKET", "/run/outer", 1), 0);
  const ChildEnvironment env = ChildEnvironment::FromProcess();
  ::unsetenv("VIGIL_CHILD_ENV_TEST");
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_THAT(env.inherited(), ::testing::Contains("VIGIL_CHILD_ENV_TEST=here"));
  EXPECT_THAT(env.inherited(), ::testing::Not(::testing::Contains("NOTIFY_SOCKET=/run/outer")));
}

}  // namespace
}  // namespace vigil
