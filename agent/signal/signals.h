// Signal names and numbers, and the set of signals the core takes over.
//
// Names are accepted as "TERM", "SIGTERM", "term", a number ("15"), or a real-time signal as
// "RTMIN", "RTMIN+3", "RTMAX-1" (and with the SIG prefix). Pure functions, no thread affinity.
#pragma once

#include <signal.h>

#include <string>
#include <string_view>

#include "agent/base/status.h"

namespace vigil {

// The highest signal number on Linux (SIGRTMAX; glibc's SIGRTMAX is a function call, not a
// constant): arrays indexed by signal number have kMaxSignal + 1 entries, 1..kMaxSignal used.
inline constexpr int kMaxSignal = 64;
static_assert(kMaxSignal == _NSIG - 1, "signal numbers on this platform are not 1..64");

// Returns 1..SIGRTMAX for a valid name or number. `allow_zero` admits "0" (used by rewrite
// rules, where 0 means "drop").
StatusOr<int> ParseSignal(std::string_view text, bool allow_zero = false);

// "SIGTERM", "SIGRTMIN+3", or "signal 77" for numbers with no name.
std::string SignalName(int signo);

// Synchronous fault signals (SEGV, FPE, ILL, BUS, ABRT, TRAP, SYS). The core leaves them
// unblocked so a real fault in Vigil still kills it with a core dump instead of hanging.
bool IsFaultSignal(int signo);

// The signals the core blocks and reads from a signalfd: every signal but SIGKILL, SIGSTOP and
// the fault signals, real-time signals included. `with_fault_signals` adds those (dumb-init
// forwards them too): a real fault still kills, since the kernel unblocks a fault signal it
// forces on the thread that faulted.
sigset_t CoreSignalSet(bool with_fault_signals = false);

}  // namespace vigil
