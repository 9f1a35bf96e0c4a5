// PrepareSocketPath: makes a filesystem path ready for a unix socket's bind().
//
// Its directory is created if missing (like mkdir -p, mode 0755). What is already at the path
// decides the rest:
//   nothing                 -> ready;
//   a socket nobody serves  -> removed (a stale socket of an earlier run);
//   a socket in use         -> error: another server listens there;
//   anything else           -> error naming what it is: Vigil never deletes a file, directory
//                              or link that is not its own stale socket.
// Every error names the path and, where it helps, the fix (a read-only root needs a writable
// volume, such as an emptyDir, at the socket's directory). Blocking syscalls on the local file
// system only: for start-up, before the loop runs.
#pragma once

#include <string>

#include "agent/base/status.h"

namespace vigil {

Status PrepareSocketPath(const std::string& path);

}  // namespace vigil
