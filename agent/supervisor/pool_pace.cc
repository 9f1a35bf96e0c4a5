// Pool's pacing: the big operations go a batch per turn of the loop, so the loop keeps serving
// signals, workers and the control plane in between. Starts (Start, Scale: kStartBatch per
// turn; a drain or a scale-down cancels the queued ones) and stop signals (StopAll: kStopBatch
// per turn or more within kTurnSlice, each worker's SIGKILL counted from its signal, none
// waiting at the drain's deadline). See pool.h.
#include <algorithm>

#include "agent/supervisor/pool.h"

namespace vigil {

void Pool::QueueStart(int slot) {
  Slot& s = slots_[static_cast<size_t>(slot)];
  if (s.start_pending) return;
  s.start_pending = true;
  ++pending_starts_;
  start_queue_.push_back(slot);
}

void Pool::CancelStart(int slot) {
  Slot& s = slots_[static_cast<size_t>(slot)];
  if (!s.start_pending) return;
  // Its entry stays in start_queue_ and is skipped there: finding it would cost O(queue).
  s.start_pending = false;
  --pending_starts_;
}

void Pool::PumpStartQueue() {
  for (int started = 0; started < kStartBatch && !start_queue_.empty();) {
    const int slot = start_queue_.front();
    start_queue_.pop_front();
    if (slot >= slot_count() || !slots_[static_cast<size_t>(slot)].start_pending) continue;
    CancelStart(slot);
    Execute(slot, worker_at(slot).Start(Now()));
    ++started;
  }
  if (pending_starts_ > 0) {
    if (!start_pump_.armed()) {
      start_pump_.ArmNextTurn([this] {
        PumpStartQueue();
        // A start that failed at once (spawn error) may have left every slot exited. (Start
        // and Scale check it themselves.)
        CheckIdle();
      });
    }
  } else {
    start_queue_.clear();  // only skipped entries are left
    start_pump_.Cancel();
  }
}

void Pool::StopAll(StopCause cause, bool fast, MonoTime kill_at, bool at_deadline) {
  const int signo = fast ? config_.fast_stop_signal : config_.stop_signal;
  rolling_.Clear();
  spare_closed_ = true;  // No restart comes after this.
  CloseSpare();
  for (int slot = 0; slot < slot_count(); ++slot) {
    slots_[static_cast<size_t>(slot)].revive = false;
    CancelStart(slot);  // never started: stays exited
  }
  start_queue_.clear();
  start_pump_.Cancel();
  // At the deadline nothing may wait: what was queued goes first, then everyone's at once.
  if (at_deadline) PumpStopQueue(/*all=*/true);
  int signalled = 0;
  for (int slot = 0; slot < slot_count(); ++slot) {
    Worker& w = worker_at(slot);
    const WorkerActions actions = at_deadline ? w.StopAtDeadline(signo, kill_at, Now())
                                              : w.Stop(cause, signo, kill_at, Now());
    // Signals already queued go first, whoever decided them: a worker's signals keep their order.
    const bool defer = !at_deadline && (signalled >= kStopBatch || !stop_queue_.empty());
    for (const WorkerAction& a : actions) {
      if (a.kind == WorkerAction::Kind::kSignal) ++signalled;
    }
    Execute(slot, actions, defer);
  }
  if (!stop_queue_.empty() && !stop_pump_.armed())
    stop_pump_.ArmNextTurn([this] { PumpStopQueue(); });
  CheckIdle();
}

void Pool::PumpStopQueue(bool all) {
  // kStopBatch at least, and more while the turn's slice lasts (cheap signals: hundreds).
  const TurnSlice slice(services_.clock, kStopBatch);
  for (int sent = 0; !stop_queue_.empty(); ++sent) {
    if (!all && slice.Over(sent)) break;
    const QueuedSignal q = stop_queue_.front();
    stop_queue_.pop_front();
    // Only the run it was decided for, and only while that run is still stopping: one that has
    // exited since (reaped in an earlier batch's turn) is not signalled.
    if (q.slot < slot_count() && run_of(q.slot).pid == q.pid &&
        worker_at(q.slot).state() == WorkerState::kStopping) {
      SendStopSignal(q.slot, q.signo);
      // Its SIGKILL, armed only now: its stop timeout runs from the signal.
      Execute(q.slot, worker_at(q.slot).StopSignalSent(Now() - q.queued_at));
    }
  }
  if (!stop_queue_.empty()) {
    stop_pump_.ArmNextTurn([this] { PumpStopQueue(); });
  } else {
    stop_pump_.Cancel();
  }
}

}  // namespace vigil
