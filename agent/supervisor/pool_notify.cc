// Pool, the sd_notify side: reading each run's socket, judging every datagram (notify_auth.h)
// and following MAINPID= handovers (pool.h).
#include "agent/log/log.h"
#include "agent/notify/notify_message.h"
#include "agent/supervisor/pool.h"

namespace vigil {
namespace {

// Datagrams read from one socket per turn of the loop, and at most at a worker's exit (in
// batches): more than the kernel queues on a socket (net.unix.max_dgram_qlen, 512 by default).
constexpr size_t kNotifyBatch = 64;
constexpr int kNotifyBatchesAtExit = 64;

}  // namespace

void Pool::OnNotifyReadable(int slot) {
  const Run& run = run_of(slot);
  if (!run.notify.fd) return;
  // A bounded batch per turn: a worker that floods its socket cannot hold the loop (the level-
  // triggered watch brings us back for the rest). The kernel bounds what waits in the socket.
  for (const NotifyDatagram& d :
       services_.notify.Drain(run.notify.fd.get(), kNotifyBatch, KnownSendersOf(slot))) {
    HandleDatagram(slot, d);
  }
  CheckIdle();
}

void Pool::ReadQueued(int slot) {
  // At an exit, messages sent just before it (X_VIGIL_STOP=1, STATUS=) are still queued; at a
  // boot or watchdog deadline, a READY=1 or WATCHDOG=1 sent in time may be too, when the loop
  // is behind. Read them all first (the kernel bounds the queue), so a message is never lost,
  // or a healthy worker killed, because the loop reached the event before the socket.
  for (int batch = 0; batch < kNotifyBatchesAtExit && run_of(slot).notify.fd; ++batch) {
    const auto datagrams =
        services_.notify.Drain(run_of(slot).notify.fd.get(), kNotifyBatch, KnownSendersOf(slot));
    for (const NotifyDatagram& d : datagrams)
      HandleDatagram(slot, d);
    if (datagrams.size() < kNotifyBatch) break;
  }
}

RunIdentity Pool::IdentityOf(int slot) const {
  const Run& run = run_of(slot);
  RunIdentity id;
  id.leader = run.pid;
  id.leader_reaped = run.leader_reaped;
  id.leader_identity = run.leader_identity;
  id.main_pid = run.main_pid;
  id.main_identity = run.main_pidfd ? run.main_identity : run.leader_identity;
  return id;
}

KnownSenders Pool::KnownSendersOf(int slot) const {
  const RunIdentity id = IdentityOf(slot);
  KnownSenders known;
  known.leader_identity = id.leader_identity;
  known.main_identity = id.main_identity;
  known.leader_pid = id.leader_reaped ? -1 : id.leader;
  return known;
}

void Pool::HandleDatagram(int slot, const NotifyDatagram& d) {
  const pid_t sender = d.sender.process.pid > 0 ? d.sender.process.pid : d.sender.credentials_pid;
  auto reject = [&](NotifyRejection why, const std::string& detail) {
    ++counters_.notify_rejected;
    ++counters_.notify_rejected_by_cause[static_cast<int>(why)];
    log::Event(log::Level::kWarn, "notify_rejected", "notify datagram rejected",
               {{"pool", config_.name},
                {"slot", slot},
                {"cause", NotifyRejectionName(why)},
                {"sender_pid", sender},
                {"sender_uid", d.sender.uid == static_cast<uid_t>(-1)
                                   ? int64_t{-1}
                                   : static_cast<int64_t>(d.sender.uid)},
                {"detail", detail}});
  };
  DatagramVerdict verdict = JudgeDatagram(d, IdentityOf(slot));
  if (!verdict.ok()) return reject(verdict.decision.rejection, verdict.decision.detail);
  if (verdict.new_main_pid) {
    if (AuthDecision main = AdoptMainPid(slot, *verdict.new_main_pid); !main.ok()) {
      return reject(main.rejection, main.detail);
    }
  }
  const NotifyMessage& m = verdict.message;
  ++counters_.notify_accepted;
  CountNotifyKeys(m, counters_.notify_by_key);
  if (m.status) {
    log::Event(log::Level::kDebug, "worker_status", *m.status,
               {{"pool", config_.name}, {"slot", slot}});
  }
  if (m.stop_pod) {
    log::Event(log::Level::kInfo, "stop_requested", "worker asked to stop the pod",
               {{"pool", config_.name}, {"slot", slot}});
    // At once, not posted: it comes before the worker's own actions, and a drain it starts must
    // reach the worker before an exit read in this same turn is judged (a stop asked for, not a
    // failure to restart).
    observer_.OnStopPodRequested(*this, slot);
  }
  const std::string status_before = worker_at(slot).status_text();
  Execute(slot, worker_at(slot).Notified(m, Now()));
  // A new STATUS= text is news for the control plane even when it moved nothing else.
  if (worker_at(slot).status_text() != status_before) observer_.OnWorkerChanged(*this, slot);
}

AuthDecision Pool::AdoptMainPid(int slot, pid_t candidate) {
  Run& run = run_of(slot);
  // Read through a pidfd, so that what is checked is what is kept: the pidfd then follows that
  // very process (signals, liveness), never a later owner of its pid.
  UniqueFd pidfd;
  ProcessFacts facts;
  if (candidate > 1) {
    auto opened = services_.os.OpenPidfd(candidate);
    if (opened.ok()) {
      pidfd = std::move(*opened);
      facts = services_.os.InspectPidfd(pidfd.get());
    }
  }
  auto owner = slot_of_pid_.find(candidate);
  const bool other_worker = owner != slot_of_pid_.end() && owner->second != slot;
  AuthDecision decision =
      AuthorizeMainPid(candidate, facts, IdentityOf(slot), services_.os.GetPid(), other_worker);
  if (!decision.ok()) return decision;
  // The old main process, if not the leader, is now just a member of the group.
  if (run.main_pid != run.pid) {
    auto old = slot_of_pid_.find(run.main_pid);
    if (old != slot_of_pid_.end() && old->second == slot) slot_of_pid_.erase(old);
  }
  run.main_pid = candidate;
  if (candidate == run.pid) {
    run.main_pidfd.Reset();
    run.main_identity = 0;
  } else {
    run.main_pidfd = std::move(pidfd);
    run.main_identity = facts.identity;
    slot_of_pid_[candidate] = slot;
  }
  log::Event(log::Level::kInfo, "worker_main_pid", "worker changed its main pid",
             {{"pool", config_.name}, {"slot", slot}, {"main_pid", run.main_pid}});
  return decision;
}

}  // namespace vigil
