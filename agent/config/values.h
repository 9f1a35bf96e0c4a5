// Values: the parsers of the scalar values options share, whichever way an option is written (a
// flag, a VIGIL_* variable, a YAML scalar): booleans, bounded whole numbers, ports and bounded
// durations. One kind of value is read the same way everywhere:
//   bool      true, yes, on, 1 / false, no, off, 0
//   integer   decimal digits (a leading '-' for negatives), within [min, max]
//   port      an integer in [min_port, 65535]; min_port 0 means "0 turns it off"
//   duration  base/duration.h's syntax ("1m30s", "500ms", "30"), within [min, max]
// An empty value is an error for each of them (`VIGIL_PGROUP=` is not "false", as
// `VIGIL_CONTROL=` is not): an empty variable is more often a template that rendered nothing
// than a choice. Options whose empty value is documented to mean something (a metrics address,
// "off") do not use these, nor do tini's and dumb-init's own variables (compat_cli.h), which keep
// their tools' semantics.
//
// Errors say what was expected and quote what was given (base/quote.h); the caller prefixes the
// option's name (flag, variable or YAML key). Pure functions, no thread affinity.
#pragma once

#include <string_view>

#include "agent/base/clock.h"
#include "agent/base/status.h"

namespace vigil {

StatusOr<bool> ParseBoolValue(std::string_view text);

StatusOr<int> ParseIntValue(std::string_view text, int min, int max);

inline constexpr int kMaxPort = 65535;
StatusOr<int> ParsePortValue(std::string_view text, int min_port);

StatusOr<Duration> ParseDurationValue(std::string_view text, Duration min, Duration max);

}  // namespace vigil
