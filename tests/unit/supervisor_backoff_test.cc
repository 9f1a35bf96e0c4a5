// BackoffDelay: the pure restart-delay function, min(max, initial * multiplier^(n-1)) with
// symmetric jitter, never above max.
#include "agent/supervisor/backoff.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace vigil {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;

constexpr double kNoJitter = 0.5;           // 1 + j * (2u - 1) == 1
constexpr double kLowest = 0.0;             // 1 - j
constexpr double kAlmostOne = 1.0 - 1e-12;  // Uniform01 never returns 1: just under 1 + j

BackoffConfig Config(Duration initial, Duration max, double multiplier, double jitter) {
  BackoffConfig c;
  c.initial = initial;
  c.max = max;
  c.multiplier = multiplier;
  c.jitter = jitter;
  return c;
}

TEST(BackoffDelayTest, GrowsByTheMultiplierForEachFailureInARow) {
  const BackoffConfig c = Config(1s, 1h, 2.0, 0.0);
  std::vector<Duration> delays;
  for (int n = 1; n <= 6; ++n)
    delays.push_back(BackoffDelay(c, n, kNoJitter));
  EXPECT_THAT(delays, ElementsAre(1s, 2s, 4s, 8s, 16s, 32s));
}

TEST(BackoffDelayTest, IsCappedAtMax) {
  const BackoffConfig c = Config(1s, 30s, 2.0, 0.0);
  EXPECT_EQ(BackoffDelay(c, 5, kNoJitter), 16s);
  EXPECT_EQ(BackoffDelay(c, 6, kNoJitter), 30s);
  EXPECT_EQ(BackoffDelay(c, 7, kNoJitter), 30s);
}

TEST(BackoffDelayTest, HugeFailureCountsStayAtMaxWithoutOverflow) {
  const BackoffConfig c = Config(1s, 30s, 100.0, 0.0);
  for (int n : {10, 64, 65, 1000, 1 << 30})
    EXPECT_EQ(BackoffDelay(c, n, kNoJitter), 30s) << n;
}

TEST(BackoffDelayTest, ZeroOrNegativeCountsAreTheFirstFailure) {
  const BackoffConfig c = Config(1s, 30s, 2.0, 0.0);
  EXPECT_EQ(BackoffDelay(c, 0, kNoJitter), 1s);
  EXPECT_EQ(BackoffDelay(c, -3, kNoJitter), 1s);
}

TEST(BackoffDelayTest, MultiplierOneKeepsTheDelayConstant) {
  const BackoffConfig c = Config(3s, 30s, 1.0, 0.0);
  for (int n = 1; n <= 10; ++n)
    EXPECT_EQ(BackoffDelay(c, n, kNoJitter), 3s);
}

TEST(BackoffDelayTest, FractionalMultiplierAndSubSecondInitial) {
  const BackoffConfig c = Config(100ms, 10s, 1.5, 0.0);
  EXPECT_EQ(BackoffDelay(c, 1, kNoJitter), 100ms);
  EXPECT_EQ(BackoffDelay(c, 2, kNoJitter), 150ms);
  EXPECT_EQ(BackoffDelay(c, 3, kNoJitter), 225ms);
}

TEST(BackoffDelayTest, ZeroInitialMeansRestartAtOnceWhateverTheRest) {
  const BackoffConfig c = Config(0s, 30s, 2.0, 0.5);
  for (int n : {1, 2, 10}) {
    for (double u : {kLowest, kNoJitter, kAlmostOne})
      EXPECT_EQ(BackoffDelay(c, n, u), 0s);
  }
}

TEST(BackoffDelayTest, JitterAtItsLowestTakesTheFractionOff) {
  const BackoffConfig c = Config(1s, 30s, 2.0, 0.2);
  EXPECT_EQ(BackoffDelay(c, 1, kLowest), 800ms);
  EXPECT_EQ(BackoffDelay(c, 3, kLowest), 3200ms);
}

TEST(BackoffDelayTest, JitterJustBelowOneAddsAlmostTheWholeFraction) {
  const BackoffConfig c = Config(1s, 30s, 2.0, 0.2);
  const Duration d = BackoffDelay(c, 1, kAlmostOne);
  EXPECT_LT(d, 1200ms);
  EXPECT_GT(d, 1199ms);
}

TEST(BackoffDelayTest, JitterStaysWithinItsBoundsForEveryDraw) {
  const BackoffConfig c = Config(1s, 30s, 2.0, 0.2);
  for (int n = 1; n <= 4; ++n) {
    const Duration base = BackoffDelay(Config(1s, 30s, 2.0, 0.0), n, kNoJitter);
    for (double u = 0.0; u < 1.0; u += 0.01) {
      const Duration d = BackoffDelay(c, n, u);
      EXPECT_GE(d, base * 8 / 10) << "n=" << n << " u=" << u;
      EXPECT_LE(d, base * 12 / 10) << "n=" << n << " u=" << u;
    }
  }
}

TEST(BackoffDelayTest, JitterNeverTakesADelayAboveMax) {
  const BackoffConfig c = Config(1s, 30s, 2.0, 0.5);
  EXPECT_EQ(BackoffDelay(c, 10, kAlmostOne), 30s);
  EXPECT_EQ(BackoffDelay(c, 10, kLowest), 15s);  // It still spreads downwards.
}

TEST(BackoffDelayTest, FullJitterRangesFromZeroToTwiceTheDelay) {
  const BackoffConfig c = Config(2s, 30s, 2.0, 1.0);
  EXPECT_EQ(BackoffDelay(c, 1, kLowest), 0s);
  EXPECT_EQ(BackoffDelay(c, 1, 0.75), 3s);
}

TEST(BackoffDelayTest, TheDocumentedDefaultsGiveTheDocumentedSeries) {
  // docs/pools.md: with the defaults, a worker that never starts reaches the crash-loop verdict
  // after 1+2+4+8+16 = 31 s of backoff, 25-37 s with the +-20% jitter.
  const BackoffConfig c;
  Duration total{};
  Duration lowest{};
  Duration highest{};
  for (int n = 1; n <= 5; ++n) {
    total += BackoffDelay(c, n, kNoJitter);
    lowest += BackoffDelay(c, n, kLowest);
    highest += BackoffDelay(c, n, kAlmostOne);
  }
  EXPECT_EQ(total, 31s);
  EXPECT_EQ(lowest, 24800ms);
  EXPECT_GT(highest, 37100ms);
  EXPECT_LE(highest, 37200ms);
}

}  // namespace
}  // namespace vigil
