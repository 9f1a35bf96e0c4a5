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
#include "agent/config/agent_options.h"
#include "agent/config/pool_options.h"
#include "agent/init/single_command.h"
#include "agent/log/log.h"

namespace vigil {

struct CliOptions {
  enum class Action { kRun, kHelp, kVersion, kCheck };
  // Single-command mode (a drop-in for tini) unless a config file or --replicas/VIGIL_REPLICAS
  // asks for pools.
  enum class Mode { kSingle, kPools };
  Action action = Action::kRun;
  Mode mode = Mode::kSingle;
  SingleCommandOptions single;  // In pool mode only `command` (the shorthand pool's) and the
                                // rewrite rules (applied to every pool) are used.
  log::Level log_level = log::Level::kWarn;
  log::Format log_format = log::Format::kText;
  bool log_level_set = false;  // by flag or environment: the config file may not override it
  bool log_format_set = false;

  // Pool mode.
  std::string config_path;         // --config / VIGIL_CONFIG
  std::string pool_name = "main";  // --name: the shorthand pool's name
  std::vector<std::pair<const AgentOption*, std::string>> agent_flags;  // in command-line order
  std::vector<std::pair<const PoolOption*, std::string>> pool_flags;    // in command-line order
  std::string single_only_flag;  // the first single-command-only flag given, for pool-mode errors

  // Set only by the tini/dumb-init command lines (compat_cli.h).
  int parent_death_signal = 0;  // tini -p: prctl(PR_SET_PDEATHSIG), forwarded like any other
  bool chdir_root_after_start = false;  // dumb-init: Vigil leaves CMD's working directory
  bool forward_fault_signals = false;   // dumb-init: SEGV, FPE, ... sent to Vigil are forwarded
};

// Returns the value of an environment variable, or nullptr.
using EnvLookup = std::function<const char*(const char* name)>;

StatusOr<CliOptions> ParseCommandLine(const std::vector<std::string>& args, const EnvLookup& env);

// The text of `vigil --help`.
std::string UsageText();

}  // namespace vigil
