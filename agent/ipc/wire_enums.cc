#include "agent/ipc/wire_enums.h"

namespace vigil {

namespace v1 = internal::v1;

v1::WorkerState ToWire(WorkerState state) {
  switch (state) {
    case WorkerState::kBackoff:
      return v1::WORKER_STATE_BACKOFF;
    case WorkerState::kStarting:
      return v1::WORKER_STATE_STARTING;
    case WorkerState::kReady:
      return v1::WORKER_STATE_READY;
    case WorkerState::kStopping:
      return v1::WORKER_STATE_STOPPING;
    case WorkerState::kExited:
      return v1::WORKER_STATE_EXITED;
  }
  return v1::WORKER_STATE_UNSPECIFIED;
}

v1::Phase ToWire(AgentPhase phase) {
  switch (phase) {
    case AgentPhase::kStarting:
      return v1::PHASE_STARTING;
    case AgentPhase::kReady:
      return v1::PHASE_READY;
    case AgentPhase::kStopping:
      return v1::PHASE_DRAINING;
    case AgentPhase::kDrained:
      return v1::PHASE_DRAINED;
    case AgentPhase::kDone:
      return v1::PHASE_EXITING;
  }
  return v1::PHASE_UNSPECIFIED;
}

v1::DrainTrigger ToWire(DrainTrigger trigger) {
  switch (trigger) {
    case DrainTrigger::kSignal:
      return v1::DRAIN_TRIGGER_SIGNAL;
    case DrainTrigger::kPreStop:
      return v1::DRAIN_TRIGGER_PRESTOP;
    case DrainTrigger::kApi:
      return v1::DRAIN_TRIGGER_API;
    case DrainTrigger::kWorker:
      return v1::DRAIN_TRIGGER_WORKER;
    case DrainTrigger::kCrashLoop:
      return v1::DRAIN_TRIGGER_CRASH_LOOP;
    case DrainTrigger::kFastStop:
      return v1::DRAIN_TRIGGER_FAST_STOP;
  }
  return v1::DRAIN_TRIGGER_UNSPECIFIED;
}

std::optional<DrainTrigger> RequestedTrigger(v1::DrainTrigger trigger) {
  switch (trigger) {
    case v1::DRAIN_TRIGGER_PRESTOP:
      return DrainTrigger::kPreStop;
    case v1::DRAIN_TRIGGER_API:
      return DrainTrigger::kApi;
    default:
      return std::nullopt;
  }
}

}  // namespace vigil
