// Histogram: a fixed-bucket distribution of durations in seconds, as Prometheus histograms are
// (cumulative buckets, sum and count), kept by the core and sent to vigil-control on a scrape.
//
// Bounds are fixed at construction and never change, so the memory is bounded and every scrape
// sees the same buckets. Observe() is O(buckets) with no allocation. Pure, single-threaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace vigil {

class Histogram {
 public:
  // `bounds`: increasing upper bounds of the finite buckets (a +Inf bucket is implied).
  explicit Histogram(std::vector<double> bounds)
      : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

  void Observe(double value) {
    size_t i = 0;
    while (i < bounds_.size() && value > bounds_[i])
      ++i;
    ++counts_[i];
    sum_ += value;
    ++count_;
  }

  const std::vector<double>& bounds() const { return bounds_; }
  // Observations in bucket i alone (not cumulative); the last is the +Inf bucket.
  const std::vector<uint64_t>& counts() const { return counts_; }
  double sum() const { return sum_; }
  uint64_t count() const { return count_; }

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;
  double sum_ = 0;
  uint64_t count_ = 0;
};

// Buckets for a worker's boot (spawn to ready): from a fast native server to a JVM.
inline std::vector<double> BootBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
}

// Buckets for a drain or a preStop hold: up to the longest grace periods in use.
inline std::vector<double> DrainBuckets() {
  return {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300};
}

}  // namespace vigil
