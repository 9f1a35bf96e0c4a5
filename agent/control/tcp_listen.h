// ListenTcp: a non-blocking, close-on-exec TCP listening socket on host:port, for vigil-control's
// own listeners (http_listener.h, grpc_front_door.h). `host` is a numeric IPv4 or IPv6 address
// (brackets allowed), a name (resolved once, now), or "" for every IPv4 address.
// ListenUnix: the same on a unix socket at `path` (ready for bind: PrepareSocketPath), born
// private (umask 0077 around bind, so that no client can connect before the mode is set) and then
// given `mode`. The umask is the process's: call it before other threads create files.
#pragma once

#include <string>

#include "agent/base/status.h"

namespace vigil::control {

// The descriptor, or an error naming the address and the reason.
StatusOr<int> ListenTcp(const std::string& host, int port);
StatusOr<int> ListenUnix(const std::string& path, int mode);

}  // namespace vigil::control
