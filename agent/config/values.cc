#include "agent/config/values.h"

#include <charconv>
#include <string>

#include "agent/base/duration.h"
#include "agent/base/quote.h"

namespace vigil {
namespace {

// "1s", "24h", "500ms": the bound as people would write it, for messages.
std::string FormatBound(Duration d) {
  using std::chrono::duration_cast;
  const auto ns = d.count();
  if (ns % std::chrono::nanoseconds(std::chrono::hours(1)).count() == 0 && ns != 0) {
    return std::to_string(duration_cast<std::chrono::hours>(d).count()) + "h";
  }
  if (ns % std::chrono::nanoseconds(std::chrono::minutes(1)).count() == 0 && ns != 0) {
    return std::to_string(duration_cast<std::chrono::minutes>(d).count()) + "m";
  }
  if (ns % std::chrono::nanoseconds(std::chrono::seconds(1)).count() == 0) {
    return std::to_string(duration_cast<std::chrono::seconds>(d).count()) + "s";
  }
  if (ns % std::chrono::nanoseconds(std::chrono::milliseconds(1)).count() == 0) {
    return std::to_string(duration_cast<std::chrono::milliseconds>(d).count()) + "ms";
  }
  return std::to_string(ns) + "ns";
}

}  // namespace

StatusOr<bool> ParseBoolValue(std::string_view text) {
  if (text == "true" || text == "yes" || text == "on" || text == "1") return true;
  if (text == "false" || text == "no" || text == "off" || text == "0") return false;
  return Status::Error("expected true or false (yes/no, on/off, 1/0), got " + Quoted(text));
}

StatusOr<int> ParseIntValue(std::string_view text, int min, int max) {
  int value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ptr != text.data() + text.size() ||
      (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    return Status::Error("expected a whole number, got " + Quoted(text));
  }
  if (ec == std::errc::result_out_of_range || value < min || value > max) {
    return Status::Error("must be between " + std::to_string(min) + " and " + std::to_string(max) +
                         ", got " + (text.size() <= 32 ? std::string(text) : Quoted(text)));
  }
  return value;
}

StatusOr<int> ParsePortValue(std::string_view text, int min_port) {
  int port = -1;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || port < min_port ||
      port > kMaxPort) {
    return Status::Error("expected a port number " + std::to_string(min_port) + ".." +
                         std::to_string(kMaxPort) + (min_port == 0 ? " (0: off)" : "") + ", got " +
                         Quoted(text));
  }
  return port;
}

StatusOr<Duration> ParseDurationValue(std::string_view text, Duration min, Duration max) {
  StatusOr<Duration> d = ParseDuration(text);
  if (!d.ok()) return d.status();
  if (*d < min || *d > max) {
    return Status::Error("must be between " + FormatBound(min) + " and " + FormatBound(max) +
                         ", got " + Quoted(text));
  }
  return *d;
}

}  // namespace vigil
