// Fuzz target: signal names and numbers (agent/signal/signals.h) and `--rewrite FROM:TO` rules
// (agent/signal/rewrite.h), as given by flags, VIGIL_* variables and the config file.
//
// Invariants: a signal accepted is 1..SIGRTMAX (0 only where allowed: a rewrite's TO); names
// are case-insensitive, with or without SIG; a signal's name and its number parse back to it; a
// rule accepted maps exactly FROM to TO and leaves every other signal alone; a rewrite never
// yields a signal outside 0..64, whatever signal it is applied to.
#include <signal.h>

#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/signal/rewrite.h"
#include "agent/signal/signals.h"
#include "tests/fuzz/fuzz_check.h"

namespace vigil {
namespace {

std::string Upper(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

void CheckSignal(std::string_view text, bool allow_zero) {
  const std::string shown = "'" + fuzz::Printable(text) + "'";
  auto parsed = ParseSignal(text, allow_zero);
  auto upper = ParseSignal(Upper(text), allow_zero);
  FUZZ_CHECK(parsed.ok() == upper.ok() && (!parsed.ok() || *parsed == *upper),
             shown + " and its upper case parse differently");
  if (!parsed.ok()) {
    FUZZ_CHECK(!parsed.status().message().empty(), shown + " rejected without a message");
    return;
  }
  const int signo = *parsed;
  FUZZ_CHECK((signo >= 1 && signo <= SIGRTMAX) || (allow_zero && signo == 0),
             shown + " parsed as " + std::to_string(signo));
  if (signo == 0) return;
  auto by_number = ParseSignal(std::to_string(signo));
  FUZZ_CHECK(by_number.ok() && *by_number == signo, "the number of " + shown + " does not parse");
  const std::string name = SignalName(signo);
  if (name.rfind("SIG", 0) == 0) {
    auto by_name = ParseSignal(name);
    FUZZ_CHECK(by_name.ok() && *by_name == signo,
               "SignalName(" + std::to_string(signo) + ") = " + name + " does not parse back");
    auto bare = ParseSignal(std::string_view(name).substr(3));
    FUZZ_CHECK(bare.ok() && *bare == signo, name + " without SIG does not parse back");
  }
}

void CheckRule(std::string_view rule) {
  const std::string shown = "'" + fuzz::Printable(rule) + "'";
  SignalRewrite rewrite;
  const Status s = rewrite.AddRule(rule);
  for (int signo = -1; signo <= 70; ++signo) {
    const int to = rewrite.Apply(signo);
    if (signo < 1 || signo > 64) {
      FUZZ_CHECK(to == signo, "a rewrite changed out-of-range signal " + std::to_string(signo));
    } else {
      FUZZ_CHECK(to >= 0 && to <= 64,
                 shown + " maps " + std::to_string(signo) + " to " + std::to_string(to));
    }
  }
  if (!s.ok()) {
    FUZZ_CHECK(!s.message().empty(), shown + " rejected without a message");
    for (int signo = 1; signo <= 64; ++signo)
      FUZZ_CHECK(rewrite.Apply(signo) == signo, "a rejected rule " + shown + " changed the table");
    return;
  }
  const size_t colon = rule.find(':');
  FUZZ_CHECK(colon != std::string_view::npos, "accepted without a colon: " + shown);
  auto from = ParseSignal(rule.substr(0, colon));
  auto to = ParseSignal(rule.substr(colon + 1), /*allow_zero=*/true);
  FUZZ_CHECK(from.ok() && to.ok(), shown + " accepted, but its sides do not parse");
  for (int signo = 1; signo <= 64; ++signo) {
    const int expected = signo == *from ? *to : signo;
    FUZZ_CHECK(rewrite.Apply(signo) == expected, shown + " maps " + std::to_string(signo) + " to " +
                                                     std::to_string(rewrite.Apply(signo)));
  }
}

}  // namespace
}  // namespace vigil

// The first byte picks what the rest is: a signal (even: zero allowed) or a rewrite rule.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      vigil::CheckSignal(text, /*allow_zero=*/false);
      break;
    case 1:
      vigil::CheckSignal(text, /*allow_zero=*/true);
      break;
    default:
      vigil::CheckRule(text);
  }
  return 0;
}
