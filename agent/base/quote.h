// Quoted: untrusted text (a config value, a flag, a variable, a name a worker sent) for a
// message. In single quotes, with control characters and bytes that are not UTF-8 written as
// \xNN, and cut after kMaxQuoted bytes with the whole length said ('aaaa...' (1048576 bytes)),
// so that a 1 MB value never makes a 1 MB error line. Pure.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace vigil {

inline constexpr size_t kMaxQuoted = 96;

std::string Quoted(std::string_view text);

}  // namespace vigil
