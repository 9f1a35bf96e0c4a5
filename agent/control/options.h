// vigil-control's options: what the core sends as the first frame of the connection on fd 3
// (ipc.proto's ControlOptions, built by the core's ControlOptionsFor from its `control.*`
// configuration). vigil-control takes no command-line flags: it reads this frame before it
// serves anything, and exits with an error naming what came instead when the first frame is not
// its options (or not valid ones). The core sends them again on every restart.
//
// ReadFirstFrame blocks (vigil-control's main thread, before any other thread exists), at most
// `timeout`; OptionsFromFrame is pure, and every error names the field at fault.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "agent/base/status.h"
#include "agent/log/log.h"

namespace vigil::control {

// The descriptor the core hands vigil-control its end of the socketpair on.
inline constexpr int kCoreFd = 3;
// The options are a few paths and numbers: a first frame larger than this is not them.
inline constexpr size_t kMaxOptionsFrame = 64u << 10;

struct Options {
  std::string socket;
  int socket_mode = 0600;
  int health_port = 0;
  int api_port = 0;
  std::string api_address = "0.0.0.0";
  std::string token_file;
  int http_port = 0;
  bool http_drain = false;
  std::string metrics_address;  // empty: no /metrics
  // gRPC goes down once no call has been in flight this long (grpc_runtime.h).
  std::chrono::milliseconds grpc_idle_linger{30000};
  log::Level log_level = log::Level::kWarn;
  log::Format log_format = log::Format::kText;
};

// Reads exactly one frame from `fd` (its payload), and not a byte more: what follows (the
// snapshot) is the core connection's to read.
StatusOr<std::string> ReadFirstFrame(int fd, std::chrono::milliseconds timeout);

// The options in a first frame's payload: a CoreMessage holding ControlOptions, checked.
StatusOr<Options> OptionsFromFrame(std::string_view payload);

}  // namespace vigil::control
