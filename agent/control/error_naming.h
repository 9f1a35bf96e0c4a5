// Error naming: what vigil-control answers for a request it cannot parse (not protobuf, or a
// string field that is not UTF-8) and for a method the listener does not serve, where gRPC's
// own answer would be UNIMPLEMENTED with an empty message (grpc_server.h, reactors.h):
//   INVALID_ARGUMENT "malformed request: the message is not a valid vigil.v1.DrainRequest ..."
//   UNIMPLEMENTED    "this listener does not serve vigil.v1.Lifecycle (it serves ...)"
// Every other status is the services' own, naming what is wrong.
#pragma once

#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

namespace vigil::control {

// What to say instead of an empty UNIMPLEMENTED for `method` ("/pkg.Service/Method", as the
// client sent it) on a listener serving `services` (full names). Pure.
grpc::Status NameEmptyUnimplemented(const std::string& method,
                                    const std::vector<std::string>& services);

}  // namespace vigil::control
