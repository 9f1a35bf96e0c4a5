#include "agent/control/utf8.h"

#include <cstdint>

#include "agent/base/utf8.h"

namespace vigil::control {
namespace {

bool IsControl(std::string_view sequence) {
  const auto c = static_cast<uint8_t>(sequence[0]);
  if (sequence.size() == 1) return c < 0x20 || c == 0x7f;
  return sequence.size() == 2 && c == 0xc2 && static_cast<uint8_t>(sequence[1]) <= 0x9f;
}

void AppendEscaped(std::string_view bytes, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char ch : bytes) {
    const auto c = static_cast<uint8_t>(ch);
    out->append("\\x");
    out->push_back(kHex[c >> 4]);
    out->push_back(kHex[c & 0xf]);
  }
}

}  // namespace

std::string PublicText(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    // Printable ASCII, by far the most common, in one append per run.
    size_t run = i;
    while (run < bytes.size() && bytes[run] >= 0x20 && bytes[run] < 0x7f)
      ++run;
    out.append(bytes.data() + i, run - i);
    i = run;
    if (i == bytes.size()) break;
    const std::string_view rest = bytes.substr(i);
    const size_t n = Utf8SequenceLength(bytes, i);
    if (n == 0) {
      AppendEscaped(rest.substr(0, 1), &out);  // One byte: the next one may start a sequence.
      ++i;
      continue;
    }
    const std::string_view sequence = rest.substr(0, n);
    if (IsControl(sequence)) {
      AppendEscaped(sequence, &out);
    } else {
      out.append(sequence);
    }
    i += n;
  }
  return out;
}

}  // namespace vigil::control
