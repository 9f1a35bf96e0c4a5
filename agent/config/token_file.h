// The bearer token of the control plane's TCP listeners (control.token_file), read the same way
// by the core, which checks it before any worker starts, and by vigil-control, which serves it.
//
// The file holds the token; trailing newlines, carriage returns and spaces are dropped (what
// `echo` and Kubernetes secrets add). A missing, unreadable or empty file is an error naming it.
// Pure but for the injected reader (ReadTokenFromDisk reads the real file).
#pragma once

#include <string>

#include "agent/base/status.h"
#include "agent/config/config.h"
#include "agent/config/config_loader.h"

namespace vigil {

StatusOr<std::string> ReadTokenFile(const std::string& path, const FileReader& read);
// The real file system's reader for it: errors say "token file".
StatusOr<std::string> ReadTokenFromDisk(const std::string& path);

// For the core at start-up (not `--check`, which validates a config away from its secrets):
// when the control plane will need the token file, it must be readable and not empty. The error
// names the file, line, flag or variable that set control.token_file.
Status CheckTokenFile(const Config& config, const FileReader& read);

}  // namespace vigil
