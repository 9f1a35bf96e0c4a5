#include "agent/control/public_enums.h"

namespace vigil::control {
namespace {

namespace in = internal::v1;

// ipc.proto numbers these as vigil.v1 does, so that the mapping is a checked cast.
#define VIGIL_SAME_NUMBER(name) \
  static_assert(static_cast<int>(in::name) == static_cast<int>(v1::name), #name)
VIGIL_SAME_NUMBER(WORKER_STATE_UNSPECIFIED);
VIGIL_SAME_NUMBER(WORKER_STATE_BACKOFF);
VIGIL_SAME_NUMBER(WORKER_STATE_STARTING);
VIGIL_SAME_NUMBER(WORKER_STATE_READY);
VIGIL_SAME_NUMBER(WORKER_STATE_STOPPING);
VIGIL_SAME_NUMBER(WORKER_STATE_EXITED);
VIGIL_SAME_NUMBER(PHASE_UNSPECIFIED);
VIGIL_SAME_NUMBER(PHASE_STARTING);
VIGIL_SAME_NUMBER(PHASE_READY);
VIGIL_SAME_NUMBER(PHASE_DRAINING);
VIGIL_SAME_NUMBER(PHASE_DRAINED);
VIGIL_SAME_NUMBER(PHASE_EXITING);
#undef VIGIL_SAME_NUMBER
static_assert(static_cast<int>(v1::WorkerState_MAX) == static_cast<int>(in::WorkerState_MAX),
              "a worker state is missing");
static_assert(static_cast<int>(v1::Phase_MAX) == static_cast<int>(in::Phase_MAX),
              "a phase is missing");

}  // namespace

v1::WorkerState ToPublic(in::WorkerState state) {
  return v1::WorkerState_IsValid(state) ? static_cast<v1::WorkerState>(state)
                                        : v1::WORKER_STATE_UNSPECIFIED;
}

v1::Phase ToPublic(in::Phase phase) {
  return v1::Phase_IsValid(phase) ? static_cast<v1::Phase>(phase) : v1::PHASE_UNSPECIFIED;
}

v1::Event::Kind ToPublic(in::Event::Kind kind) {
  switch (kind) {
    case in::Event::WORKER_STATE:
      return v1::Event::WORKER_STATE;
    case in::Event::WORKER_EXITED:
      return v1::Event::WORKER_EXITED;
    case in::Event::READINESS:
      return v1::Event::READINESS;
    case in::Event::DRAIN:
      return v1::Event::DRAIN;
    case in::Event::POOL:
      return v1::Event::POOL;
    default:
      return v1::Event::KIND_UNSPECIFIED;
  }
}

const char* TriggerName(in::DrainTrigger trigger) {
  switch (trigger) {
    case in::DRAIN_TRIGGER_SIGNAL:
      return "signal";
    case in::DRAIN_TRIGGER_PRESTOP:
      return "prestop";
    case in::DRAIN_TRIGGER_API:
      return "api";
    case in::DRAIN_TRIGGER_WORKER:
      return "worker";
    case in::DRAIN_TRIGGER_CRASH_LOOP:
      return "crash_loop";
    case in::DRAIN_TRIGGER_FAST_STOP:
      return "fast_stop";
    default:
      return "";
  }
}

std::optional<in::DrainTrigger> RequestedTrigger(std::string_view text) {
  if (text.empty() || text == "api") return in::DRAIN_TRIGGER_API;
  if (text == "prestop") return in::DRAIN_TRIGGER_PRESTOP;
  return std::nullopt;
}

}  // namespace vigil::control
