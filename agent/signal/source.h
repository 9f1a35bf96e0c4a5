// SignalSource: the core's view of signals, as a readable descriptor.
//
// BlockCoreSignals() must be the first thing main() does, before any other code (or thread)
// could run: from then on every catchable signal but the fault signals is held pending and read
// from a signalfd here, never delivered asynchronously. It also resets their dispositions to
// SIG_DFL, because a signal ignored by whoever started Vigil (nohup's SIGHUP) would otherwise be
// discarded instead of queued, and never forwarded.
#pragma once

#include <vector>

#include "agent/base/status.h"
#include "agent/base/unique_fd.h"
#include "agent/signal/received_signal.h"
#include "agent/sys/os.h"

namespace vigil {

void BlockCoreSignals();

// Adds the fault signals to what BlockCoreSignals() holds (at their default action), for a
// core that forwards them (SignalSource::Create(true)).
void BlockFaultSignals();

// The signal mask and ignored signals the process had when BlockCoreSignals() ran (what it was
// started with), for a CMD that is to inherit them (tini compatibility).
const ChildSignalState& SignalStateAtStart();

class SignalSource {
 public:
  static StatusOr<SignalSource> Create(bool with_fault_signals = false);

  int fd() const { return fd_.get(); }
  // Reads every pending signal (non-blocking), oldest first.
  std::vector<ReceivedSignal> ReadPending();

 private:
  explicit SignalSource(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace vigil
