// CheckSocketPath: what is at the agent's unix socket path, looked at before a call so that
// vigilctl says at once, in words naming the path, why it cannot reach the agent, instead of
// gRPC's generic error or a retry that cannot succeed.
//
//   a socket                      -> kPresent (a call may still be refused: nobody listening);
//   nothing, its directory there  -> kMissing: vigil-control not (yet, or for a moment) serving;
//   nothing, no directory         -> kNoDirectory: Vigil is not running here, or the socket is
//                                    elsewhere (Vigil makes the directory before anything else);
//   anything else                 -> kUnusable: not a socket, or not reachable by this uid.
// `message` says which, naming the path and what to do; empty for kPresent.
#pragma once

#include <string>

namespace vigil::client {

struct SocketCheck {
  enum State { kPresent, kMissing, kNoDirectory, kUnusable };
  State state = kPresent;
  std::string message;
};

SocketCheck CheckSocketPath(const std::string& path);

}  // namespace vigil::client
