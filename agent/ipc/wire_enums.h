// The core's enums as the control protocol's (ipc.proto): worker states, agent phases and drain
// triggers go out as typed enums (numbered as vigil.v1's), and a Drain command's trigger comes
// back in as one. Each mapping is a switch over the core's enum, so a new enumerator fails the
// build (-Wswitch) until it has its protocol value. Pure; any thread.
#pragma once

#include <optional>

#include "agent/supervisor/supervisor.h"
#include "agent/supervisor/worker.h"
#include "vigil/internal/v1/ipc.pb.h"

namespace vigil {

internal::v1::WorkerState ToWire(WorkerState state);
internal::v1::Phase ToWire(AgentPhase phase);
internal::v1::DrainTrigger ToWire(DrainTrigger trigger);

// The trigger of a Drain command: only PRESTOP and API may be asked for (the others are the
// core's own); anything else is nullopt, and the command is refused.
std::optional<DrainTrigger> RequestedTrigger(internal::v1::DrainTrigger trigger);

}  // namespace vigil
