// FakeRandom: a deterministic Random for jitter. Returns the scripted values in order, then
// `fallback` forever. With the default 0.5, symmetric jitter (backoff: 1 + j * (2u - 1)) is
// exactly zero; 0.0 gives the lowest value and values just under 1.0 the highest.
#pragma once

#include <deque>

#include "agent/base/random.h"

namespace vigil::testing {

class FakeRandom final : public Random {
 public:
  explicit FakeRandom(double value = 0.5) : fallback(value) {}

  double Uniform01() override {
    ++calls;
    if (!sequence.empty()) {
      const double next = sequence.front();
      sequence.pop_front();
      return next;
    }
    return fallback;
  }

  double fallback;
  std::deque<double> sequence;
  int calls = 0;
};

}  // namespace vigil::testing
