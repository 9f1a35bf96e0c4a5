// Checks of the Lifecycle API's requests, made before anything reaches the core: every field
// in its range (limits.h), or INVALID_ARGUMENT naming the field, its bound and the value given
// (cut to a readable length). The core checks what only it knows (does the pool exist, is it
// draining). Pure functions.
#pragma once

#include <grpcpp/grpcpp.h>

#include <string>
#include <string_view>

#include "vigil/v1/lifecycle.pb.h"

namespace vigil::control {

grpc::Status CheckDrain(const v1::DrainRequest& request);
grpc::Status CheckScale(const v1::ScaleRequest& request);
grpc::Status CheckRestart(const v1::RestartRequest& request);
// On success `*signo` holds the signal's number.
grpc::Status CheckSignal(const v1::SignalRequest& request, int* signo);
grpc::Status CheckShutdown(const v1::ShutdownRequest& request);

// `value` for an error message: quoted, at most `max` bytes of it, control bytes escaped, and
// "... (N bytes)" when it was cut.
std::string Excerpt(std::string_view value, size_t max = 64);

}  // namespace vigil::control
