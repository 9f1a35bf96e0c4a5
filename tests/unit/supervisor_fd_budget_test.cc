// The descriptor budget (fd_budget.h) and its two uses: the start-up check and Scale's refusal.
#include "agent/supervisor/fd_budget.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/fakes/supervisor_harness.h"

namespace vigil {
namespace {

using ::testing::HasSubstr;
using ::testing::Optional;

TEST(FdBudgetTest, AWorkerCostsItsSocketAndPidfdPlusRelayPipesAndAProbe) {
  PoolConfig pool;
  EXPECT_EQ(DescriptorsPerWorker(pool), 2);
  pool.log_prefix = true;
  EXPECT_EQ(DescriptorsPerWorker(pool), 4);
  pool.readiness.mode = ReadinessMode::kNotify;
  EXPECT_EQ(DescriptorsPerWorker(pool), 4);
  pool.readiness.mode = ReadinessMode::kHttp;
  EXPECT_EQ(DescriptorsPerWorker(pool), 5);
}

TEST(FdBudgetTest, PoolsThatFitAreAcceptedUpToTheLimitItself) {
  PoolConfig web, jobs;
  web.log_prefix = true;
  // 20 + 2 pools' spare sockets + 10 x 4 + 4 x 2 = 70.
  EXPECT_EQ(DescriptorShortfall({{&web, 10}, {&jobs, 4}}, 70), std::nullopt);
  EXPECT_NE(DescriptorShortfall({{&web, 10}, {&jobs, 4}}, 69), std::nullopt);
  EXPECT_EQ(DescriptorShortfall({{&web, 100000}}, UINT64_MAX), std::nullopt);
}

TEST(FdBudgetTest, AShortfallNamesTheLimitTheWorkersAndTheirNeed) {
  PoolConfig web, jobs;
  web.log_prefix = true;
  EXPECT_THAT(DescriptorShortfall({{&web, 10}, {&jobs, 5}}, 64),
              Optional(std::string("RLIMIT_NOFILE is 64, but 15 workers need at least 72 file "
                                   "descriptors in vigil: raise it (e.g. docker run --ulimit "
                                   "nofile=144) or run fewer replicas")));
}

class FdBudgetSupervisorTest : public testing::SupervisorHarness {};

TEST_F(FdBudgetSupervisorTest, TheStartUpCheckRefusesPoolsThatCannotFit) {
  config_.pools[0].replicas = 20;  // 20 + 2 + 21 x 2 = 64
  Start();
  sup().SetDescriptorLimit(64);
  EXPECT_TRUE(sup().CheckDescriptors().ok());
  sup().SetDescriptorLimit(63);
  EXPECT_THAT(sup().CheckDescriptors().message(), HasSubstr("RLIMIT_NOFILE is 63, but 21"));
}

TEST_F(FdBudgetSupervisorTest, AScaleThatCannotFitIsRefusedAndStartsNothing) {
  Start();
  sup().SetDescriptorLimit(70);  // 20 + 2 + 24 x 2 = 70
  const size_t spawned = os_.spawn_requests.size();
  Supervisor::CommandResult r = sup().Scale("a", 24);
  EXPECT_EQ(r.code, 8);  // RESOURCE_EXHAUSTED
  EXPECT_THAT(r.message, HasSubstr("cannot scale 'a' to 24: RLIMIT_NOFILE is 70, but 25 workers"));
  EXPECT_EQ(os_.spawn_requests.size(), spawned);
  EXPECT_EQ(pool(0).desired(), 1);
  r = sup().Scale("a", 23);
  EXPECT_EQ(r.code, 0) << r.message;
  EXPECT_EQ(pool(0).desired(), 23);
  EXPECT_EQ(os_.spawn_requests.size(), spawned + 22);
}

}  // namespace
}  // namespace vigil
