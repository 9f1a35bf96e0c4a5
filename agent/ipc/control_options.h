// ControlOptionsFor: what vigil-control is to serve, from the core's configuration, as the
// control protocol's ControlOptions message (ipc.proto). ControlLink sends it as the first
// frame of every connection, so that each restart of vigil-control gets it again; it replaces
// the command-line flags vigil-control used to be spawned with. Pure; any thread.
#pragma once

#include "agent/config/config.h"
#include "vigil/internal/v1/ipc.pb.h"

namespace vigil {

internal::v1::ControlOptions ControlOptionsFor(const Config& config);

}  // namespace vigil
