#include "agent/ipc/frame.h"

namespace vigil {

std::string EncodeFrame(std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 4);
  const uint32_t n = static_cast<uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out.append(payload);
  return out;
}

std::optional<std::string> FrameDecoder::Next(bool* corrupt) {
  *corrupt = false;
  if (buffered() < 4) return std::nullopt;
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) {
    n |=
        static_cast<uint32_t>(static_cast<unsigned char>(buffer_[offset_ + static_cast<size_t>(i)]))
        << (8 * i);
  }
  if (n > kMaxFrame) {
    *corrupt = true;
    error_ = "a frame of " + std::to_string(n) + " bytes, over the limit of " +
             std::to_string(kMaxFrame);
    return std::nullopt;
  }
  if (buffered() < 4 + static_cast<size_t>(n)) return std::nullopt;
  std::string payload = buffer_.substr(offset_ + 4, n);
  offset_ += 4 + n;
  // Compact once the consumed prefix dominates, so the buffer does not grow without bound.
  if (offset_ > 65536 && offset_ * 2 > buffer_.size()) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  return payload;
}

}  // namespace vigil
