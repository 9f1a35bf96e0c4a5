// Numeric socket addresses for readiness probes: "127.0.0.1", "::1", or "localhost" (taken as
// 127.0.0.1). Names are not resolved: PID 1 never blocks on DNS. Pure.
#pragma once

#include <sys/socket.h>

#include <string>

#include "agent/base/status.h"

namespace vigil {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family = 0;
};

StatusOr<SocketAddress> ParseSocketAddress(const std::string& host, int port);

}  // namespace vigil
