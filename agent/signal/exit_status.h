// How Vigil turns what happened to its main child into its own exit status (single-command
// mode), following the shell's conventions that tini and dumb-init users expect:
//   child exited N          -> N (0 when N is listed with -e, as tini's -e)
//   child killed by signal N -> 128 + N
//   CMD not found            -> 127 (ENOENT, ENOTDIR)
//   CMD not executable       -> 126 (EACCES, ENOEXEC, EISDIR, EPERM, ...)
//   bad usage                -> 2
// Pure functions.
#pragma once

#include <bitset>

namespace vigil {

inline constexpr int kExitUsage = 2;
inline constexpr int kExitInternal = 1;  // Vigil itself could not run (e.g. no signalfd).
inline constexpr int kExitNotExecutable = 126;
inline constexpr int kExitNotFound = 127;

// The set of child exit codes that count as success (tini's -e).
using ExitCodeSet = std::bitset<256>;

// `wait_status` is a status from waitpid()/waitid() for a terminated (not stopped) child.
int ExitCodeFromWaitStatus(int wait_status, const ExitCodeSet& success_codes);

// The exit status for an exec() failure with errno `err`.
int ExitCodeForExecError(int err);

}  // namespace vigil
