// The command line and environment of `vigil`, parsed into one validated CliOptions.
//
//   vigil [OPTIONS] [--] CMD [ARGS...]
//
// Precedence: flag > environment (VIGIL_*) > default. Errors name the flag or variable and the
// value; the caller prints them and exits 2 (usage). Pure: the environment is passed in.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "agent/base/status.h"
#include "agent/init/single_command.h"
#include "agent/log/log.h"

namespace vigil {

struct CliOptions {
  enum class Action { kRun, kHelp, kVersion };
  Action action = Action::kRun;
  SingleCommandOptions single;
  log::Level log_level = log::Level::kWarn;
  log::Format log_format = log::Format::kText;
};

// Returns the value of an environment variable, or nullptr.
using EnvLookup = std::function<const char*(const char* name)>;

StatusOr<CliOptions> ParseCommandLine(const std::vector<std::string>& args, const EnvLookup& env);

// The text of `vigil --help`.
std::string UsageText();

}  // namespace vigil
