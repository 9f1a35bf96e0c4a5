#include "agent/base/status.h"

#include <cstring>

namespace vigil {

Status Status::FromErrno(const std::string& what, int err) {
  return Status(what + ": " + std::strerror(err), err);
}

}  // namespace vigil
