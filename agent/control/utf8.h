// PublicText: bytes from the core (worker, config, argv or environment text, carried as
// protobuf `bytes` in ipc.proto) turned into a string the public API may carry. It is the one
// place where that happens: every text vigil-control copies from the core into a vigil.v1 or
// grpc.health message, a gRPC status message or a metric passes through it.
//
// The rule (docs/control.md, "Text from workers"): well-formed UTF-8 is kept as it is, except
// control characters; every other byte is written as `\xNN` (a backslash, 'x', two lower-case hex
// digits), one escape per byte. Escaped are: bytes that do not start or continue a well-formed
// sequence (a stray continuation byte, 0xc0, 0xc1, 0xf5..0xff, a sequence cut short, an overlong
// form, a UTF-16 surrogate, anything above U+10FFFF), and every byte of a control character (C0
// U+0000..U+001F, DEL U+007F, C1 U+0080..U+009F), so that a worker cannot move a terminal's
// cursor or break a table line in `vigilctl status`. A backslash is kept as it is: the result is
// for people and for UTF-8 consumers, not a reversible encoding. The output is valid UTF-8 and
// at most 4 times as long as the input. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace vigil::control {

std::string PublicText(std::string_view bytes);

}  // namespace vigil::control
