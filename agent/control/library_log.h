// The libraries vigil-control links write their own log lines to stderr (gRPC through
// gpr_log, protobuf through its LogHandler), which with --log-format json would be the only
// lines that are not JSON. RouteLibraryLogs() sends them through Vigil's logger instead, as
// lines of logger "grpc" or "protobuf" with their file and line, and with any byte that is not
// UTF-8 replaced (U+FFFD), so that every line stays valid JSON.
//
// gRPC drops lines below GRPC_VERBOSITY (its default: ERROR) before they get here, and Vigil's
// --log-level applies after. Call once, from main(), before anything uses gRPC.
// Not covered: abseil's raw logging (ABSL_RAW_LOG), which writes to stderr itself and is only
// used for abseil's own fatal errors, just before the process aborts.
#pragma once

#include <string>
#include <string_view>

namespace vigil::control {

void RouteLibraryLogs();

// `text` with every byte sequence that is not UTF-8 replaced by U+FFFD. Pure.
std::string ValidUtf8(std::string_view text);

}  // namespace vigil::control
