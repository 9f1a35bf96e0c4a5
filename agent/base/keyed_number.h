// KeyedNumber: the value of a "KEY N" line in the small text files the kernel exports
// (memory.events' "oom_kill 3", /proc/stat's "btime 1700000000"). The first line starting with
// `key` followed by a space decides: its rest must be a whole number, else nullopt; no such
// line, nullopt. Pure.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

namespace vigil {

inline std::optional<uint64_t> KeyedNumber(std::string_view text, std::string_view key) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.size() <= key.size() || line.substr(0, key.size()) != key || line[key.size()] != ' ')
      continue;
    const std::string_view number = line.substr(key.size() + 1);
    uint64_t value = 0;
    auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (ec == std::errc() && ptr == number.data() + number.size()) return value;
    return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace vigil
