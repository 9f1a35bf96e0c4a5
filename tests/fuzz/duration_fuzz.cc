// Fuzz target: durations as written in flags, VIGIL_* variables and the config file
// (agent/base/duration.h).
//
// Invariants: a duration accepted is never negative and never past kMaxDuration (so it cannot
// have overflowed); what FormatDuration writes, ParseDuration reads back exactly (for the value
// parsed, and for any duration in range taken from the input's first bytes); a rejection says
// why.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "agent/base/duration.h"
#include "tests/fuzz/fuzz_check.h"

namespace vigil {
namespace {

void CheckRoundTrip(Duration d) {
  const std::string text = FormatDuration(d);
  auto again = ParseDuration(text);
  FUZZ_CHECK(again.ok(), "FormatDuration(" + std::to_string(d.count()) + "ns) = '" + text +
                             "' is not read back: " + again.status().message());
  FUZZ_CHECK(*again == d, "FormatDuration(" + std::to_string(d.count()) + "ns) = '" + text +
                              "' reads back as " + std::to_string(again->count()) + "ns");
  FUZZ_CHECK(FormatDuration(*again) == text, "formatting is not stable for '" + text + "'");
}

}  // namespace
}  // namespace vigil

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = ParseDuration(text);
  if (parsed.ok()) {
    FUZZ_CHECK(*parsed >= Duration::zero(), "'" + fuzz::Printable(text) + "' parsed negative");
    FUZZ_CHECK(*parsed <= kMaxDuration, "'" + fuzz::Printable(text) + "' parsed past the maximum");
    CheckRoundTrip(*parsed);
  } else {
    FUZZ_CHECK(!parsed.status().message().empty(), "a rejection without a message");
  }
  // Any duration in range, from the first eight bytes.
  if (size >= 8) {
    uint64_t raw;
    std::memcpy(&raw, data, sizeof raw);
    CheckRoundTrip(
        Duration(static_cast<int64_t>(raw % (static_cast<uint64_t>(kMaxDuration.count()) + 1))));
  }
  return 0;
}
