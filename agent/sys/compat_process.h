// Process-wide steps that only tini's and dumb-init's command lines ask for (compat_cli.h),
// taken by main() before and after CMD starts. Each reports failure as a Status, never throws.
#pragma once

#include "agent/base/status.h"

namespace vigil {

// tini -p: the kernel sends `signo` to Vigil when its parent dies (prctl PR_SET_PDEATHSIG);
// it arrives on the signalfd like any other signal and is forwarded to CMD.
Status SetParentDeathSignal(int signo);

// dumb-init: give up the controlling terminal `fd` (TIOCNOTTY) so that CMD, in a new session,
// can take it. A session leader doing so gets SIGHUP and SIGCONT from the kernel, sent in its
// own name (si_pid is Vigil's), so the core does not forward them. Fails with ENOTTY when `fd`
// is not Vigil's controlling terminal; the caller carries on without it.
Status GiveUpControllingTerminal(int fd);

// dumb-init: Vigil leaves CMD's working directory, so it does not keep a mount busy.
Status ChangeToRootDirectory();

}  // namespace vigil
