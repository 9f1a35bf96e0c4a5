#include "agent/sys/socket_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace vigil {

StatusOr<SocketAddress> ParseSocketAddress(const std::string& host, int port) {
  if (port < 1 || port > 65535) return Status::Error("port must be 1..65535");
  const std::string numeric = host == "localhost" ? "127.0.0.1" : host;
  SocketAddress out;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
  if (::inet_pton(AF_INET, numeric.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    out.length = sizeof(sockaddr_in);
    out.family = AF_INET;
    return out;
  }
  std::memset(&out.storage, 0, sizeof out.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  if (::inet_pton(AF_INET6, numeric.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    out.length = sizeof(sockaddr_in6);
    out.family = AF_INET6;
    return out;
  }
  return Status::Error("'" + host +
                       "' is not a numeric IPv4 or IPv6 address (names are not "
                       "resolved)");
}

}  // namespace vigil
