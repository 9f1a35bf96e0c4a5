// Random: the source of jitter (backoff, recycling), injectable so tests are deterministic.
// Not for anything secret. Single-threaded.
#pragma once

#include <cstdint>

namespace vigil {

class Random {
 public:
  virtual ~Random() = default;
  // Uniform in [0, 1).
  virtual double Uniform01() = 0;
};

// xorshift64*: fast, tiny state, good enough for spreading restarts.
class XorShiftRandom final : public Random {
 public:
  explicit XorShiftRandom(uint64_t seed) : state_(seed != 0 ? seed : 0x9E3779B97F4A7C15ULL) {}
  double Uniform01() override {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    const uint64_t x = state_ * 0x2545F4914F6CDD1DULL;
    return static_cast<double>(x >> 11) * (1.0 / 9007199254740992.0);
  }

 private:
  uint64_t state_;
};

}  // namespace vigil
