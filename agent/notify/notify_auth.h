// Who may speak for a worker, and whom it may name as its main process: the decisions on every
// sd_notify datagram's sender and every MAINPID=, as pure functions of what was read at receipt.
//
// A run is one spawned process (the leader, whose pid is also its process group) and, after a
// MAINPID= handover, a main process. A datagram is the run's if its sender is:
//  - the leader or the main process themselves, known by their pidfd's identity (pidfs), which
//    holds even once they have exited: a worker that sends X_VIGIL_STOP=1 and exits is heard;
//  - else a process that, when the datagram was read, was alive (unreaped), in Vigil's PID
//    namespace, and in the run's process group.
// Anything else cannot be attributed, and is refused with the cause (notify_message.h): a
// sender gone before its datagram was read (whatever it was, its pid may name someone else by
// now), outside the namespace, in another group, or with no usable credentials. Descriptors
// passed along refuse the datagram too. With SCM_CREDENTIALS, the leader is also known by the pid
// they carry, which cannot name anyone else before Vigil has reaped it.
//
// MAINPID=n is accepted only for a live process of the run's own group (the leader included),
// never PID 1, Vigil itself, or another worker's process.
//
// JudgeDatagram() is the whole verdict on a datagram but for the MAINPID= check, whose facts
// must be read from the OS first: sender, then size, then syntax; it says which MAINPID= is left
// to check. All pure.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "agent/notify/notify_message.h"
#include "agent/notify/notify_socket.h"

namespace vigil {

// What the authorisation needs to know of a run.
struct RunIdentity {
  pid_t leader = -1;             // the spawned process; its pid is the run's process group
  bool leader_reaped = false;    // reaped in an earlier turn, and the run went on without it
  uint64_t leader_identity = 0;  // pidfs identity of its pidfd (0: unknown)
  pid_t main_pid = -1;           // MAINPID=, else the leader
  uint64_t main_identity = 0;    // pidfs identity of the main process's pidfd (0: unknown)
};

struct AuthDecision {
  NotifyRejection rejection = NotifyRejection::kNone;
  std::string detail;  // why, for the log (empty when accepted)
  bool ok() const { return rejection == NotifyRejection::kNone; }
};

// Whether `datagram` (its sender and ancillary data) may speak for `run`.
AuthDecision AuthorizeSender(const NotifyDatagram& datagram, const RunIdentity& run);

// Whether `run` may take `candidate` as its main process. `facts` were read through a pidfd
// opened on `candidate` (pid -1 when it could not be opened: gone); `vigil` is Vigil's own pid;
// `other_worker` is true when the pid belongs to another worker run.
AuthDecision AuthorizeMainPid(pid_t candidate, const ProcessFacts& facts, const RunIdentity& run,
                              pid_t vigil, bool other_worker);

// A datagram judged as far as can be done without the OS.
struct DatagramVerdict {
  AuthDecision decision;  // the first check that failed, in order: sender, size, syntax
  NotifyMessage message;  // what it says, when accepted
  // A MAINPID= naming another process than the run's main one: the datagram is accepted only
  // if AuthorizeMainPid() accepts it too (a refused MAINPID= refuses the whole datagram).
  std::optional<pid_t> new_main_pid;
  bool ok() const { return decision.ok(); }
};

// Who sent `datagram` comes first: a datagram nobody can be held to is not even parsed.
DatagramVerdict JudgeDatagram(const NotifyDatagram& datagram, const RunIdentity& run);

}  // namespace vigil
