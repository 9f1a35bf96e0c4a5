// LoadConfig: pool mode's Config from its three sources, validated as a whole.
//
//   defaults < the YAML file (--config / VIGIL_CONFIG) < VIGIL_* environment < flags
//
// Without a file, the one-pool shorthand `vigil --replicas N [pool flags] -- CMD ARGS` describes
// a single pool named by --name (default "main"). Pool flags and VIGIL_* variables apply to every
// pool. Every error names where the bad value came from: "vigil.yaml:12: pools[1] (web):
// replicas: expected a whole number, got 'four'", or the flag or the variable. Nothing is started
// from a configuration that failed to load.
#pragma once

#include <functional>
#include <string>

#include "agent/base/status.h"
#include "agent/base/whole_file.h"  // ReadWholeFile, for the callers of LoadConfig
#include "agent/config/cli.h"
#include "agent/config/config.h"

namespace vigil {

// Returns the file's contents or an error naming it.
using FileReader = std::function<StatusOr<std::string>(const std::string& path)>;

StatusOr<Config> LoadConfig(const CliOptions& cli, const EnvLookup& env, const FileReader& read);

// Parses YAML text into a Config (defaults filled in), before overrides and validation.
// `source` names the text in error messages.
StatusOr<Config> ParseConfigYaml(const std::string& text, const std::string& source);

// Cross-field checks and user/group resolution, after every source has been applied.
Status ValidateConfig(Config* config);

}  // namespace vigil
