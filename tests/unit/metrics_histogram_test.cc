// Histogram: fixed buckets as Prometheus `le` buckets (a value equal to a bound is in that
// bucket), the implied +Inf bucket, sum and count. counts() is per bucket, not cumulative.
// Included first, so the header is checked to be self-contained (it once lacked <cstddef> and
// <utility>).
#include "agent/metrics/histogram.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace vigil {
namespace {

using ::testing::ElementsAre;

TEST(HistogramTest, StartsEmptyWithOneBucketPerBoundPlusInf) {
  Histogram h({1, 2, 5});
  EXPECT_THAT(h.bounds(), ElementsAre(1, 2, 5));
  EXPECT_THAT(h.counts(), ElementsAre(0u, 0u, 0u, 0u));
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.sum(), 0);
}

TEST(HistogramTest, AValueEqualToABoundGoesInThatBucket) {
  Histogram h({1, 2, 5});
  h.Observe(1);
  EXPECT_THAT(h.counts(), ElementsAre(1u, 0u, 0u, 0u));
  h.Observe(2);
  EXPECT_THAT(h.counts(), ElementsAre(1u, 1u, 0u, 0u));
  h.Observe(5);
  EXPECT_THAT(h.counts(), ElementsAre(1u, 1u, 1u, 0u));
}

TEST(HistogramTest, AValueJustAboveABoundGoesInTheNextBucket) {
  Histogram h({1, 2, 5});
  h.Observe(std::nextafter(1.0, 2.0));
  EXPECT_THAT(h.counts(), ElementsAre(0u, 1u, 0u, 0u));
  h.Observe(std::nextafter(2.0, 3.0));
  EXPECT_THAT(h.counts(), ElementsAre(0u, 1u, 1u, 0u));
}

TEST(HistogramTest, AValueJustBelowABoundStaysInThatBucket) {
  Histogram h({1, 2, 5});
  h.Observe(std::nextafter(2.0, 0.0));
  EXPECT_THAT(h.counts(), ElementsAre(0u, 1u, 0u, 0u));
}

TEST(HistogramTest, ZeroAndNegativeValuesGoInTheFirstBucket) {
  Histogram h({1, 2, 5});
  h.Observe(0);
  h.Observe(-3);
  EXPECT_THAT(h.counts(), ElementsAre(2u, 0u, 0u, 0u));
  EXPECT_EQ(h.sum(), -3);
}

TEST(HistogramTest, ValuesAboveTheLastBoundGoInTheInfBucket) {
  Histogram h({1, 2, 5});
  h.Observe(std::nextafter(5.0, 6.0));
  h.Observe(1e9);
  h.Observe(std::numeric_limits<double>::infinity());
  EXPECT_THAT(h.counts(), ElementsAre(0u, 0u, 0u, 3u));
  EXPECT_EQ(h.count(), 3u);
}

TEST(HistogramTest, SumAndCountAddUpEveryObservation) {
  Histogram h({1, 2, 5});
  for (double v : {0.5, 1.5, 3.0, 10.0, 1.0})
    h.Observe(v);
  EXPECT_EQ(h.count(), 5u);
  EXPECT_DOUBLE_EQ(h.sum(), 16.0);
  EXPECT_THAT(h.counts(), ElementsAre(2u, 1u, 1u, 1u));
}

TEST(HistogramTest, WithNoBoundsEverythingIsInTheInfBucket) {
  Histogram h({});
  h.Observe(0);
  h.Observe(42);
  EXPECT_THAT(h.counts(), ElementsAre(2u));
  EXPECT_EQ(h.count(), 2u);
}

TEST(HistogramTest, BootAndDrainBucketsAreStrictlyIncreasingAndPositive) {
  for (const std::vector<double>& b : {BootBuckets(), DrainBuckets()}) {
    ASSERT_FALSE(b.empty());
    EXPECT_GT(b.front(), 0);
    EXPECT_TRUE(std::adjacent_find(b.begin(), b.end(), [](double x, double y) { return y <= x; }) ==
                b.end());
  }
  EXPECT_EQ(BootBuckets().front(), 0.005);
  EXPECT_EQ(BootBuckets().back(), 120);
  EXPECT_EQ(DrainBuckets().front(), 0.01);
  EXPECT_EQ(DrainBuckets().back(), 300);
}

TEST(HistogramTest, EveryBootBucketBoundIsItsOwnBucket) {
  const std::vector<double> bounds = BootBuckets();
  for (size_t i = 0; i < bounds.size(); ++i) {
    Histogram h(bounds);
    h.Observe(bounds[i]);
    std::vector<uint64_t> expected(bounds.size() + 1, 0);
    expected[i] = 1;
    EXPECT_EQ(h.counts(), expected) << "bound " << bounds[i];
  }
}

}  // namespace
}  // namespace vigil
