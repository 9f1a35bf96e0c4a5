#include "agent/base/duration.h"

#include "agent/base/quote.h"

#include <cmath>
#include <cstdio>

namespace vigil {
namespace {

// Nanoseconds per unit, or 0 when `unit` is not one.
double UnitNanos(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us") return 1e3;
  if (unit == "ms") return 1e6;
  if (unit == "s") return 1e9;
  if (unit == "m") return 60e9;
  if (unit == "h") return 3600e9;
  return 0;
}

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

StatusOr<Duration> ParseDuration(std::string_view text) {
  auto invalid = [&](const char* why) {
    return Status::Error("invalid duration " + Quoted(std::string(text)) + ": " + why +
                         " (examples: 30s, 500ms, 1m30s)");
  };
  if (text.empty()) return invalid("empty");
  if (text.front() == '-') return invalid("must not be negative");
  double total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (IsDigit(text[i]) || text[i] == '.'))
      ++i;
    if (start == i) return invalid("expected a number");
    std::string number(text.substr(start, i - start));
    char* end = nullptr;
    double value = std::strtod(number.c_str(), &end);
    if (end != number.c_str() + number.size()) return invalid("bad number");
    size_t unit_start = i;
    while (i < text.size() && !IsDigit(text[i]) && text[i] != '.')
      ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit.empty()) {
      // A bare number is seconds, but only as the whole text ("30"), never as "1m30".
      if (start != 0 || i != text.size()) return invalid("missing unit");
      unit = "s";
    }
    double nanos = UnitNanos(unit);
    if (nanos == 0) return invalid("unknown unit");
    total += value * nanos;
  }
  if (!std::isfinite(total) || total > static_cast<double>(kMaxDuration.count())) {
    return invalid("too large: at most 87600h (10 years)");
  }
  return Duration(static_cast<int64_t>(std::llround(total)));
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
