#include "agent/notify/notify_auth.h"

#include <cstring>

namespace vigil {
namespace {

AuthDecision Refuse(NotifyRejection why, std::string detail) {
  return AuthDecision{why, std::move(detail)};
}

std::string Pid(pid_t pid) {
  return std::to_string(pid);
}

}  // namespace

AuthDecision AuthorizeSender(const NotifyDatagram& d, const RunIdentity& run) {
  if (d.fds_passed > 0 || d.control_truncated) {
    return Refuse(NotifyRejection::kFdPassed,
                  d.fds_passed > 0
                      ? "it carried " + std::to_string(d.fds_passed) + " descriptor(s), closed"
                      : "it carried more ancillary data than fits (descriptors), dropped");
  }
  const NotifySender& s = d.sender;
  const ProcessFacts& p = s.process;
  // The worker's own processes, by identity: true even after they have exited.
  if (p.identity != 0 && (p.identity == run.leader_identity || p.identity == run.main_identity)) {
    return AuthDecision{};
  }
  switch (s.source) {
    case NotifySender::Source::kNone:
      return Refuse(NotifyRejection::kNoCredentials, "the kernel attached no credentials");
    case NotifySender::Source::kUcred:
      // The leader's pid cannot be reused before Vigil reaps it, and what it sent is read before
      // its exit is handled, in the same turn of the loop: by SCM_CREDENTIALS alone, its pid
      // names it until the run goes on without it.
      if (s.credentials_pid == run.leader && run.leader > 0 && !run.leader_reaped) {
        return AuthDecision{};
      }
      break;
    case NotifySender::Source::kPidfd:
      break;
  }
  if (p.pid == 0) {
    return Refuse(NotifyRejection::kSenderOutsideNamespace,
                  "the sender is outside Vigil's PID namespace");
  }
  if (p.pid == -1) {
    return Refuse(NotifyRejection::kSenderGone,
                  "the sender exited and was reaped before its datagram was read: it cannot be "
                  "attributed");
  }
  if (p.pid < 0) {
    return Refuse(NotifyRejection::kNoCredentials,
                  std::string("the sender could not be read") +
                      (s.pidfd_error != 0 ? std::string(": ") + std::strerror(s.pidfd_error) : ""));
  }
  if (p.pgid != run.leader || run.leader <= 0) {
    return Refuse(NotifyRejection::kSenderNotInGroup,
                  "sender pid " + Pid(p.pid) + " is in process group " + Pid(p.pgid) +
                      ", not the worker's (" + Pid(run.leader) + ")");
  }
  return AuthDecision{};
}

AuthDecision AuthorizeMainPid(pid_t candidate, const ProcessFacts& facts, const RunIdentity& run,
                              pid_t vigil, bool other_worker) {
  const std::string what = "MAINPID=" + Pid(candidate);
  if (candidate == 1) return Refuse(NotifyRejection::kMainPidRefused, what + " names PID 1");
  if (candidate == vigil) return Refuse(NotifyRejection::kMainPidRefused, what + " names Vigil");
  if (other_worker) {
    return Refuse(NotifyRejection::kMainPidRefused, what + " names another worker's process");
  }
  if (facts.pid == 0) {
    return Refuse(NotifyRejection::kMainPidRefused,
                  what + " names a process outside Vigil's PID namespace");
  }
  if (facts.pid < 0 || facts.exited) {
    return Refuse(NotifyRejection::kMainPidRefused, what + " names a process that is gone");
  }
  if (facts.pgid != run.leader || run.leader <= 0) {
    return Refuse(NotifyRejection::kMainPidRefused, what + " names a process of process group " +
                                                        Pid(facts.pgid) + ", not the worker's (" +
                                                        Pid(run.leader) + ")");
  }
  return AuthDecision{};
}

DatagramVerdict JudgeDatagram(const NotifyDatagram& d, const RunIdentity& run) {
  DatagramVerdict verdict;
  verdict.decision = AuthorizeSender(d, run);
  if (!verdict.ok()) return verdict;
  if (d.truncated) {
    verdict.decision = Refuse(NotifyRejection::kOversized, "datagram of " + std::to_string(d.size) +
                                                               " bytes, larger than " +
                                                               std::to_string(kMaxNotifyDatagram));
    return verdict;
  }
  NotifyParseResult parsed = ParseNotifyDatagram(d.data);
  if (parsed.rejection != NotifyRejection::kNone) {
    verdict.decision = Refuse(parsed.rejection, std::move(parsed.error));
    return verdict;
  }
  verdict.message = std::move(parsed.message);
  if (verdict.message.main_pid && *verdict.message.main_pid != run.main_pid) {
    verdict.new_main_pid = *verdict.message.main_pid;
  }
  return verdict;
}

}  // namespace vigil
