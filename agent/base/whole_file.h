// ReadWholeFile: a small file's contents (the config, the control token), at most 1 MiB, or an
// error naming the file as `what`. Blocking; any thread. In base/ because the core and
// vigil-control both read the token file with it (config/token_file.h).
#pragma once

#include <string>

#include "agent/base/status.h"

namespace vigil {

StatusOr<std::string> ReadWholeFile(const std::string& path,
                                    const std::string& what = "config file");

}  // namespace vigil
