// The table of agent-wide options (drain, control plane, logging, pool failure policy), the
// counterpart of pool_options.h: one dotted key gives the YAML path, the flag and the
// environment variable (drain.grace_period: --grace-period... see each entry's flag), and one
// setter parses and checks the value. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "agent/base/status.h"
#include "agent/config/config.h"

namespace vigil {

struct AgentOption {
  const char* key;   // YAML path: "drain.grace_period"
  const char* flag;  // "--grace-period"
  const char* env;   // "VIGIL_GRACE_PERIOD"
  bool is_bool;
  Status (*set)(Config* config, const std::string& value);
};

const std::vector<AgentOption>& AgentOptions();
const AgentOption* FindAgentOption(std::string_view key);
const AgentOption* FindAgentOptionByFlag(std::string_view flag);  // with the dashes

}  // namespace vigil
