// The control protocol's enums (ipc.proto) as the public API's (vigil/v1/lifecycle.proto), and
// the public API's trigger text. Worker states and phases carry vigil.v1's numbers (checked at
// compile time in public_enums.cc); a value the public API does not know (a newer or broken
// core) becomes its UNSPECIFIED, never an out-of-range enum. The drain triggers' public names
// ("signal", "prestop", "api", "worker", "crash_loop", "fast_stop") live here and only here in
// vigil-control. Pure; any thread.
#pragma once

#include <optional>
#include <string_view>

#include "vigil/internal/v1/ipc.pb.h"
#include "vigil/v1/lifecycle.pb.h"

namespace vigil::control {

v1::WorkerState ToPublic(internal::v1::WorkerState state);
v1::Phase ToPublic(internal::v1::Phase phase);
v1::Event::Kind ToPublic(internal::v1::Event::Kind kind);
// DrainProgress.trigger; "" for UNSPECIFIED or a value this build does not know.
const char* TriggerName(internal::v1::DrainTrigger trigger);
// DrainRequest.trigger: "prestop" or "api", and "" for "api"; nullopt for anything else.
std::optional<internal::v1::DrainTrigger> RequestedTrigger(std::string_view text);

}  // namespace vigil::control
