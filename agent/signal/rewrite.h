// SignalRewrite: the `--rewrite FROM:TO` table (dumb-init's -r), applied to every signal the
// core receives before it is forwarded. TO = 0 drops the signal. Value type, pure.
#pragma once

#include <array>
#include <string_view>

#include "agent/base/status.h"
#include "agent/signal/signals.h"

namespace vigil {

class SignalRewrite {
 public:
  SignalRewrite();

  // Parses one "FROM:TO" rule (names or numbers, see ParseSignal) and adds it; a later rule for
  // the same FROM replaces the earlier one.
  Status AddRule(std::string_view rule);
  void Set(int from, int to);

  // The signal to forward for `signo`: itself when no rule names it, 0 when it is dropped.
  int Apply(int signo) const;

 private:
  std::array<int, kMaxSignal + 1> map_;
};

}  // namespace vigil
