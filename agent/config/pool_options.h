// The table of pool options. Each option has one dotted key ("backoff.initial") from which its
// YAML key path, its flag (--backoff-initial) and its environment variable
// (VIGIL_BACKOFF_INITIAL) are derived, and one setter that parses and checks a value. Every
// source of configuration goes through the same setter, so a value means the same thing and is
// rejected with the same message wherever it comes from.
//
// Values arrive as text (a YAML scalar, a flag, an environment variable) or, for list options,
// as a YAML sequence; from flags and the environment lists are comma-separated (codes, rewrite
// rules, KEY=VALUE pairs) or space-separated (commands). Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "agent/base/status.h"
#include "agent/config/config.h"

namespace vigil {

struct PoolOption {
  enum class Kind {
    kScalar,  // a single value
    kBool,    // a single value; as a flag it may stand alone (--log-prefix)
    kList,    // a YAML sequence, or a comma/space-separated string
    kMap,     // a YAML mapping of strings, or comma-separated KEY=VALUE pairs
  };
  const char* key;
  Kind kind;
  // Whether a flag or VIGIL_* variable may set it for every pool. The name and the command
  // identify a pool, so they are only set from the file or by the one-pool shorthand.
  bool overridable;
  Status (*set)(PoolConfig* pool, const std::vector<std::string>& values);
};

const std::vector<PoolOption>& PoolOptions();

// By dotted key, e.g. "backoff.initial", or nullptr.
const PoolOption* FindPoolOption(std::string_view key);
// By flag name without dashes, e.g. "backoff-initial" (also "readiness" for "readiness.mode").
const PoolOption* FindPoolOptionByFlag(std::string_view flag);

std::string PoolOptionFlag(const PoolOption& option);  // "--backoff-initial"
std::string PoolOptionEnv(const PoolOption& option);   // "VIGIL_BACKOFF_INITIAL"

// Splits a flag or environment value the way `option` expects its list elements.
std::vector<std::string> SplitOptionValue(const PoolOption& option, std::string_view text);

}  // namespace vigil
