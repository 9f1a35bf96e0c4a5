// ReceivedSignal: one signal as the core read it from its signalfd (source.h), handed to
// whichever mode drives the core (init/single_command.h, supervisor/supervisor.h). A plain value.
#pragma once

#include <sys/types.h>

namespace vigil {

struct ReceivedSignal {
  int signo = 0;
  pid_t sender_pid = 0;  // 0 when sent from outside our PID namespace or by the kernel.
  int code = 0;          // si_code (SI_USER, SI_KERNEL, ...).
};

}  // namespace vigil
