// Framing of the control socket: a 4-byte little-endian length, then that many bytes of one
// serialized protobuf message. Pure; used by the core and by vigil-control.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vigil {

inline constexpr size_t kMaxFrame = 16u << 20;

std::string EncodeFrame(std::string_view payload);

// Accumulates bytes read from the socket and hands out whole payloads.
class FrameDecoder {
 public:
  void Append(const char* data, size_t size) { buffer_.append(data, size); }
  // The next complete payload, if any. Sets *corrupt when a length exceeds kMaxFrame (the
  // stream cannot be trusted after that).
  std::optional<std::string> Next(bool* corrupt);
  size_t buffered() const { return buffer_.size() - offset_; }
  // What was wrong once Next() set *corrupt: "a frame of N bytes, over the limit of M".
  const std::string& error() const { return error_; }

 private:
  std::string buffer_;
  std::string error_;
  size_t offset_ = 0;
};

}  // namespace vigil
