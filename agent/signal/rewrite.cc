#include "agent/signal/rewrite.h"

#include <string>

#include "agent/base/quote.h"
#include "agent/signal/signals.h"

namespace vigil {

SignalRewrite::SignalRewrite() {
  for (int i = 0; i <= kMaxSignal; ++i)
    map_[i] = i;
}

Status SignalRewrite::AddRule(std::string_view rule) {
  const size_t colon = rule.find(':');
  if (colon == std::string_view::npos) {
    return Status::Error("invalid rewrite '" + std::string(rule) +
                         "': expected FROM:TO, e.g. TERM:QUIT or 15:3 (TO=0 drops)");
  }
  auto from = ParseSignal(rule.substr(0, colon));
  if (!from.ok()) {
    return Status::Error("invalid rewrite " + Quoted(std::string(rule)) + ": " +
                         from.status().message());
  }
  auto to = ParseSignal(rule.substr(colon + 1), /*allow_zero=*/true);
  if (!to.ok()) {
    return Status::Error("invalid rewrite " + Quoted(std::string(rule)) + ": " +
                         to.status().message());
  }
  Set(*from, *to);
  return Status();
}

void SignalRewrite::Set(int from, int to) {
  if (from > 0 && from <= kMaxSignal) map_[from] = to;
}

int SignalRewrite::Apply(int signo) const {
  if (signo <= 0 || signo > kMaxSignal) return signo;
  return map_[signo];
}

}  // namespace vigil
