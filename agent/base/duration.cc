#include "agent/base/duration.h"

#include <cstdint>

#include <cstdio>
#include "agent/base/quote.h"

namespace vigil {
namespace {

// Nanoseconds per unit, or 0 when `unit` is not one.
int64_t UnitNanos(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us") return 1'000;
  if (unit == "ms") return 1'000'000;
  if (unit == "s") return 1'000'000'000;
  if (unit == "m") return 60'000'000'000;
  if (unit == "h") return 3'600'000'000'000;
  return 0;
}

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

// Fraction digits read: 18 resolve far below a nanosecond of an hour; later ones are ignored.
constexpr size_t kFractionDigits = 18;

}  // namespace

StatusOr<Duration> ParseDuration(std::string_view text) {
  auto invalid = [&](const char* why) {
    return Status::Error("invalid duration " + Quoted(text) + ": " + why +
                         " (examples: 30s, 500ms, 1m30s)");
  };
  if (text.empty()) return invalid("empty");
  if (text.front() == '-') return invalid("must not be negative");
  // Exact integer arithmetic, in 128 bits so that no step can overflow before the range check
  // (a double is exact only to 2^53 ns, about 104 days: "3472326098.227849265s" was 463 ns off).
  using Wide = unsigned __int128;
  constexpr Wide kLimit = static_cast<Wide>(kMaxDuration.count());
  Wide total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (IsDigit(text[i]) || text[i] == '.'))
      ++i;
    if (start == i) return invalid("expected a number");
    const std::string_view number = text.substr(start, i - start);
    const size_t dot = number.find('.');
    const std::string_view whole = number.substr(0, dot);
    const std::string_view fraction =
        dot == std::string_view::npos ? std::string_view() : number.substr(dot + 1);
    if (fraction.find('.') != std::string_view::npos || (whole.empty() && fraction.empty())) {
      return invalid("bad number");
    }
    size_t unit_start = i;
    while (i < text.size() && !IsDigit(text[i]) && text[i] != '.')
      ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit.empty()) {
      // A bare number is seconds, but only as the whole text ("30"), never as "1m30".
      if (start != 0 || i != text.size()) return invalid("missing unit");
      unit = "s";
    }
    const Wide nanos = static_cast<Wide>(UnitNanos(unit));
    if (nanos == 0) return invalid("unknown unit");
    Wide value = 0;
    for (char c : whole) {
      value = value * 10 + static_cast<Wide>(c - '0');
      if (value > kLimit) return invalid("too large: at most 87600h (10 years)");
    }
    Wide numerator = 0;
    Wide denominator = 1;
    for (size_t k = 0; k < fraction.size() && k < kFractionDigits; ++k) {
      numerator = numerator * 10 + static_cast<Wide>(fraction[k] - '0');
      denominator *= 10;
    }
    // The fraction, rounded to the nearest nanosecond (half up): "1.5ns" is 2 ns.
    total += value * nanos + (2 * numerator * nanos + denominator) / (2 * denominator);
    if (total > kLimit) return invalid("too large: at most 87600h (10 years)");
  }
  return Duration(static_cast<int64_t>(total));
}

std::string FormatDuration(Duration d) {
  const int64_t ns = d.count();
  char buf[64];
  if (ns % 1000000000 == 0) {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(ns / 1000000000));
  } else if (ns >= 1000000000) {
    // Whole seconds and the fraction, trailing zeros trimmed: exact, and ParseDuration reads it.
    int n = std::snprintf(buf, sizeof buf, "%lld.%09lld", static_cast<long long>(ns / 1000000000),
                          static_cast<long long>(ns % 1000000000));
    while (n > 0 && buf[n - 1] == '0')
      buf[--n] = '\0';
    std::snprintf(buf + n, sizeof buf - static_cast<size_t>(n), "s");
  } else if (ns % 1000000 == 0) {
    std::snprintf(buf, sizeof buf, "%lldms", static_cast<long long>(ns / 1000000));
  } else if (ns % 1000 == 0) {
    std::snprintf(buf, sizeof buf, "%lldus", static_cast<long long>(ns / 1000));
  } else {
    std::snprintf(buf, sizeof buf, "%lldns", static_cast<long long>(ns));
  }
  return buf;
}

}  // namespace vigil
