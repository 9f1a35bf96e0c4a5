#include "agent/config/config.h"

namespace vigil {

const char* RestartPolicyName(RestartPolicy policy) {
  switch (policy) {
    case RestartPolicy::kAlways:
      return "always";
    case RestartPolicy::kOnFailure:
      return "on-failure";
    case RestartPolicy::kNever:
      return "never";
  }
  return "?";
}

const char* ReadinessModeName(ReadinessMode mode) {
  switch (mode) {
    case ReadinessMode::kStarted:
      return "started";
    case ReadinessMode::kNotify:
      return "notify";
    case ReadinessMode::kExec:
      return "exec";
    case ReadinessMode::kTcp:
      return "tcp";
    case ReadinessMode::kHttp:
      return "http";
  }
  return "?";
}

}  // namespace vigil
