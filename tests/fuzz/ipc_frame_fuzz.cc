// Fuzz target: the framing of the control socket (agent/ipc/frame.h), on both sides the same
// code: the core decodes vigil-control's commands with it, vigil-control the core's messages.
//
// The input is (1) a byte stream as read from the socket, fed to a FrameDecoder in chunks whose
// sizes come from the input itself, and (2) a list of payloads to encode and decode again.
// Invariants: the payloads handed out, re-encoded, are exactly the bytes consumed; how the
// stream is cut into reads changes nothing; the decoder reports corruption exactly when a
// length is over kMaxFrame, never hands out a payload over it, and buffers only what it has not
// handed out; EncodeFrame -> decode is the identity, across the buffer's compaction (frames of
// more than 64 KiB in total).
#include <cstdint>
#include <string>
#include <vector>

#include "agent/ipc/frame.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/input_reader.h"

namespace vigil {
namespace {

struct Decoded {
  std::vector<std::string> payloads;
  bool corrupt = false;
  size_t buffered = 0;
};

// Feeds `stream` to a decoder in chunks of the given sizes (cycled; 0 means the rest).
Decoded Decode(const std::string& stream, const std::vector<size_t>& chunks) {
  Decoded out;
  FrameDecoder decoder;
  size_t fed = 0;
  size_t taken = 0;  // bytes of the stream handed out as frames
  for (size_t c = 0; fed < stream.size() && !out.corrupt; ++c) {
    size_t n = chunks.empty() ? 0 : chunks[c % chunks.size()];
    if (n == 0 || n > stream.size() - fed) n = stream.size() - fed;
    decoder.Append(stream.data() + fed, n);
    fed += n;
    for (;;) {
      bool corrupt = true;
      std::optional<std::string> payload = decoder.Next(&corrupt);
      if (corrupt) {
        FUZZ_CHECK(!payload, "a payload handed out with the corrupt flag");
        out.corrupt = true;
        break;
      }
      if (!payload) break;
      FUZZ_CHECK(payload->size() <= kMaxFrame, "a payload over kMaxFrame");
      taken += 4 + payload->size();
      out.payloads.push_back(std::move(*payload));
    }
    FUZZ_CHECK(decoder.buffered() == fed - taken, "buffered " + std::to_string(decoder.buffered()) +
                                                      ", expected " + std::to_string(fed - taken));
  }
  out.buffered = decoder.buffered();
  return out;
}

uint32_t LengthAt(const std::string& s, size_t at) {
  uint32_t n = 0;
  for (size_t i = 0; i < 4; ++i)
    n |= static_cast<uint32_t>(static_cast<unsigned char>(s[at + i])) << (8 * i);
  return n;
}

}  // namespace
}  // namespace vigil

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil;
  fuzz::InputReader in(data, size);
  std::vector<size_t> chunks;
  for (int i = in.Range<int>(0, 8); i > 0; --i)
    chunks.push_back(in.Range<size_t>(0, 64));
  const std::string stream = in.String(size);

  // (1) The stream, as read.
  const Decoded whole = Decode(stream, {});
  const Decoded cut = Decode(stream, chunks);
  FUZZ_CHECK(whole.payloads == cut.payloads && whole.corrupt == cut.corrupt,
             "cutting the stream into reads changed what was decoded");
  std::string consumed;
  for (const std::string& p : whole.payloads)
    consumed += EncodeFrame(p);
  FUZZ_CHECK(stream.compare(0, consumed.size(), consumed) == 0,
             "the frames handed out are not the bytes consumed");
  const size_t rest = stream.size() - consumed.size();
  if (whole.corrupt) {
    FUZZ_CHECK(rest >= 4 && LengthAt(stream, consumed.size()) > kMaxFrame,
               "corrupt without a length over kMaxFrame");
  } else {
    FUZZ_CHECK(rest < 4 || rest < 4 + static_cast<size_t>(LengthAt(stream, consumed.size())),
               "a complete frame was left in the buffer");
    FUZZ_CHECK(whole.buffered == rest, "the rest is not buffered");
  }

  // (2) Payloads of the remaining input's sizes (some past 64 KiB in total, so the decoder
  // compacts its buffer), encoded and decoded.
  std::vector<std::string> payloads;
  while (in.remaining() > 0 && payloads.size() < 16) {
    const size_t n = in.Range<size_t>(0, 40000);
    payloads.push_back(std::string(n, static_cast<char>('a' + payloads.size())));
  }
  std::string encoded;
  for (const std::string& p : payloads) {
    const std::string frame = EncodeFrame(p);
    FUZZ_CHECK(frame.size() == 4 + p.size() && LengthAt(frame, 0) == p.size(), "a bad header");
    encoded += frame;
  }
  const Decoded back = Decode(encoded, chunks.empty() ? std::vector<size_t>{4096} : chunks);
  FUZZ_CHECK(!back.corrupt && back.payloads == payloads && back.buffered == 0,
             "EncodeFrame -> FrameDecoder is not the identity for " +
                 std::to_string(payloads.size()) + " payloads");
  return 0;
}
