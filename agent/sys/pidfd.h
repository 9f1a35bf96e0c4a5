// Pidfds, read race-free: what process a pidfd names, its process group, whether it has exited,
// and its identity (ProcessFacts, os.h). Used by LinuxOs and by the notify transport, which
// reads every sender at receipt with these.
//
// The pid comes from PIDFD_GET_INFO or /proc/self/fdinfo/<fd> ("Pid:"), so /proc must be
// mounted (it is in every container). The process group is read by pid with getpgid() and then
// trusted only if the pidfd still names an unreaped process afterwards: a pid is reused only once
// its process has been reaped, so the group read belonged to the process of the pidfd. Stateless
// but for a cached probe of the kernel (pidfs or not); not thread-safe on first use.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "agent/base/status.h"
#include "agent/base/unique_fd.h"
#include "agent/sys/os.h"

namespace vigil {

// pidfd_open(pid, 0), close-on-exec. ESRCH: no such process.
StatusOr<UniqueFd> OpenPidfd(pid_t pid);

// The pid `pidfd` names in our PID namespace: 0 when the process lives outside it, -1 once it
// has been reaped, -2 when /proc/self/fdinfo cannot be read. PIDFD_GET_INFO where the kernel
// has it (6.13+), else (and to tell the first two apart) /proc/self/fdinfo.
pid_t PidOfPidfd(int pidfd);
// The same from /proc/self/fdinfo alone.
pid_t PidOfPidfdFromProc(int pidfd);

// The pidfs inode of `pidfd`: equal for every pidfd of one process, never reused; 0 where
// pidfds are anonymous inodes (Linux < 6.9), which cannot be told apart.
uint64_t PidfdIdentity(int pidfd);

// Everything at once, in the order that makes the process group trustworthy.
ProcessFacts InspectPidfd(int pidfd);

}  // namespace vigil
