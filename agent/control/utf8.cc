#include "agent/control/utf8.h"

#include <cstdint>

namespace vigil::control {
namespace {

// The length of the well-formed UTF-8 sequence at the start of `s` (RFC 3629, the Unicode
// standard's table 3-7), or 0 when there is none.
size_t WellFormedLength(std::string_view s) {
  const auto b = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  const auto in = [&](size_t i, uint8_t lo, uint8_t hi) {
    return i < s.size() && b(i) >= lo && b(i) <= hi;
  };
  const uint8_t c = b(0);
  if (c <= 0x7f) return 1;
  if (c >= 0xc2 && c <= 0xdf) return in(1, 0x80, 0xbf) ? 2 : 0;
  if (c == 0xe0) return in(1, 0xa0, 0xbf) && in(2, 0x80, 0xbf) ? 3 : 0;  // no overlong form
  if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) {
    return in(1, 0x80, 0xbf) && in(2, 0x80, 0xbf) ? 3 : 0;
  }
  if (c == 0xed) return in(1, 0x80, 0x9f) && in(2, 0x80, 0xbf) ? 3 : 0;  // no surrogate
  if (c == 0xf0) {
    return in(1, 0x90, 0xbf) && in(2, 0x80, 0xbf) && in(3, 0x80, 0xbf) ? 4 : 0;
  }
  if (c >= 0xf1 && c <= 0xf3) {
    return in(1, 0x80, 0xbf) && in(2, 0x80, 0xbf) && in(3, 0x80, 0xbf) ? 4 : 0;
  }
  if (c == 0xf4) {  // nothing above U+10FFFF
    return in(1, 0x80, 0x8f) && in(2, 0x80, 0xbf) && in(3, 0x80, 0xbf) ? 4 : 0;
  }
  return 0;
}

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
    const size_t n = WellFormedLength(rest);
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
