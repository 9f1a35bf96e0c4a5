// UTF-8 checks for text that comes from workers, config files, argv and the environment: bytes
// until proven otherwise. Pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace vigil {

// The length of the well-formed UTF-8 sequence that starts at text[pos] (1 to 4), or 0 if the
// bytes there are not one (a stray continuation byte, an overlong form, a surrogate, a code
// point above U+10FFFF, a sequence cut short).
size_t Utf8SequenceLength(std::string_view text, size_t pos);

bool IsValidUtf8(std::string_view text);

// `text` with every byte that is not part of well-formed UTF-8 written as the four characters
// \xNN (lower-case hex); valid text is returned unchanged. The result is always valid UTF-8.
std::string EscapeInvalidUtf8(std::string_view text);

}  // namespace vigil
