#include "agent/control/request_checks.h"

#include "agent/control/limits.h"
#include "agent/control/public_enums.h"
#include "agent/signal/signals.h"

namespace vigil::control {
namespace {

grpc::Status Invalid(std::string message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::move(message));
}

grpc::Status CheckRange(const char* field, int64_t value, int64_t min, int64_t max,
                        const char* unit = "") {
  if (value >= min && value <= max) return grpc::Status::OK;
  return Invalid(std::string(field) + " must be between " + std::to_string(min) + " and " +
                 std::to_string(max) + unit + "; got " + std::to_string(value));
}

grpc::Status CheckLength(const char* field, const std::string& value, size_t max) {
  if (value.size() <= max) return grpc::Status::OK;
  return Invalid(std::string(field) + " is " + std::to_string(value.size()) + " bytes; at most " +
                 std::to_string(max));
}

grpc::Status CheckPool(const std::string& pool) {
  if (pool.empty()) return Invalid("pool is required");
  return CheckLength("pool name", pool, limits::kMaxPoolNameBytes);
}

}  // namespace

grpc::Status CheckDrain(const v1::DrainRequest& r) {
  if (auto s =
          CheckRange("deadline_ms", r.deadline_ms(), 0, limits::kMaxDrainDeadlineMs, " (365 days)");
      !s.ok()) {
    return s;
  }
  if (!RequestedTrigger(r.trigger())) {
    return Invalid("trigger must be \"api\", \"prestop\" or empty; got " + Excerpt(r.trigger()));
  }
  return CheckLength("reason", r.reason(), limits::kMaxReasonBytes);
}

grpc::Status CheckScale(const v1::ScaleRequest& r) {
  if (auto s = CheckPool(r.pool()); !s.ok()) return s;
  return CheckRange("replicas", r.replicas(), 0, limits::kMaxReplicas);
}

grpc::Status CheckRestart(const v1::RestartRequest& r) {
  if (auto s = CheckPool(r.pool()); !s.ok()) return s;
  return CheckRange("max_unavailable", r.max_unavailable(), 0, limits::kMaxReplicas);
}

grpc::Status CheckSignal(const v1::SignalRequest& r, int* signo) {
  if (auto s = CheckPool(r.pool()); !s.ok()) return s;
  if (r.slot() < -1 || r.slot() >= limits::kMaxReplicas) {
    return Invalid("slot must be between -1 (every worker) and " +
                   std::to_string(limits::kMaxReplicas - 1) + "; got " + std::to_string(r.slot()));
  }
  if (r.signal().empty()) {
    return Invalid("signal is required (a name such as HUP or SIGUSR1, or a number)");
  }
  if (auto s = CheckLength("signal", r.signal(), limits::kMaxSignalBytes); !s.ok()) return s;
  auto parsed = ParseSignal(r.signal());
  if (!parsed.ok()) return Invalid(parsed.status().message());
  *signo = *parsed;
  return grpc::Status::OK;
}

grpc::Status CheckShutdown(const v1::ShutdownRequest& r) {
  return CheckLength("reason", r.reason(), limits::kMaxReasonBytes);
}

}  // namespace vigil::control
