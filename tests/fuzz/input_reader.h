// InputReader: takes typed values off a fuzz input, front to back, for targets whose input is a
// structure rather than text (a stand-in for libFuzzer's FuzzedDataProvider, which gcc builds
// do not have). Once the input is used up every value is 0, false or empty.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

namespace vigil::fuzz {

class InputReader {
 public:
  InputReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  size_t remaining() const { return size_ - pos_; }

  // A value in [min, max], from as few bytes as the range needs.
  template <typename T>
  T Range(T min, T max) {
    static_assert(std::is_integral_v<T>);
    using U = std::make_unsigned_t<T>;
    const U span = static_cast<U>(static_cast<U>(max) - static_cast<U>(min));
    U raw = 0;
    for (U seen = 0; seen < span && pos_ < size_; seen = static_cast<U>((seen << 8) | 0xff)) {
      raw = static_cast<U>((raw << 8) | data_[pos_++]);
    }
    if (span != static_cast<U>(~U{0})) raw = static_cast<U>(raw % (static_cast<U>(span + 1)));
    return static_cast<T>(static_cast<U>(min) + raw);
  }

  // Any value of T: its bytes, most significant first (two's complement for signed types).
  template <typename T>
  T Any() {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(Range<U>(0, std::numeric_limits<U>::max()));
  }

  bool Bool() { return (Range<uint8_t>(0, 255) & 1) != 0; }

  // Bytes up to a "\\" not followed by another "\\" (which stands for one), as libFuzzer's
  // ConsumeRandomLengthString does: mutations can grow and shrink a string in place.
  std::string String(size_t max_size) {
    std::string out;
    while (pos_ < size_ && out.size() < max_size) {
      const char c = static_cast<char>(data_[pos_++]);
      if (c == '\\' && pos_ < size_) {
        const char next = static_cast<char>(data_[pos_++]);
        if (next != '\\') break;
      }
      out += c;
    }
    return out;
  }

  // The rest of the input.
  std::string Rest() {
    std::string out(reinterpret_cast<const char*>(data_ + pos_), size_ - pos_);
    pos_ = size_;
    return out;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace vigil::fuzz
