// ControlLink: the core's end of the control plane.
//
// It spawns vigil-control with one end of a socketpair as its fd 3, supervises it (restarts it
// when it dies, at once after a stable run, else with backoff: ControlBackoff; workers never
// notice), sends it its options as the first frame (ControlOptionsFor) and a snapshot on every
// start (in parts, made as the socket drains:
// SnapshotStream) and an Event for every change, and turns its Commands into Supervisor calls,
// answering each with a Result (a metrics Result in parts). No frame's size depends on the
// pools' sizes (docs/control.md, "Sizes").
//
// The core never blocks on it: output is queued (FrameQueue) and written when the socket is
// writable. A control plane more than kMaxBacklog behind loses the events it has not read and
// gets a fresh snapshot instead (counted: vigil_control_events_dropped_total), so a slow one is
// never killed for being slow. One that reads nothing at all for kStallTimeout while output
// waits is stuck (SIGSTOP, a deadlock) and is killed and restarted (control_stalled), as is one
// that leaves the answers to its own commands unread past the limit, or sends a frame breaking
// the protocol (control_protocol_error). Single-threaded: runs on the core loop.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "agent/base/unique_fd.h"
#include "agent/config/config.h"
#include "agent/event/fd_watcher.h"
#include "agent/event/posted_work.h"
#include "agent/event/scheduler.h"
#include "agent/event/timer.h"
#include "agent/ipc/control_backoff.h"
#include "agent/ipc/frame.h"
#include "agent/ipc/frame_queue.h"
#include "agent/ipc/metrics_builder.h"
#include "agent/ipc/snapshot_stream.h"
#include "agent/ipc/status_builder.h"
#include "agent/supervisor/supervisor.h"
#include "agent/sys/os.h"

namespace vigil {

// How far behind (bytes queued, not read by vigil-control) before events are dropped.
inline constexpr size_t kMaxBacklog = 16u << 20;
// Snapshot and metrics parts are made about this big.
inline constexpr size_t kPartBudget = 256u << 10;
// Output waiting and not a byte read for this long: vigil-control is stuck.
inline constexpr Duration kStallTimeout = std::chrono::seconds(10);

class ControlLink final : public AgentListener {
 public:
  ControlLink(const Config& config, Supervisor& supervisor, Os& os, Scheduler& scheduler,
              FdWatcher& watcher, const Clock& clock, std::string binary);
  ~ControlLink() override;

  void Start();
  // The control plane's process was reaped; false when `pid` is not it.
  bool OnProcessExited(pid_t pid, int wait_status);
  // At the agent's exit: ask vigil-control to stop. (As PID 1, our exit kills it anyway.)
  void Stop();
  int restarts() const { return restarts_; }
  uint64_t events_dropped() const { return events_dropped_; }

  // AgentListener.
  void OnWorkerChanged(const Pool& pool, int slot) override;
  void OnWorkerExited(const Pool& pool, int slot, const ExitRecord& record) override;
  void OnAgentChanged() override;
  void OnPoolChanged(const Pool& pool) override;
  // A burst of exits: its events are written together after it (or whenever kPartBudget of
  // them wait), followed by one agent event (the drain's progress) instead of one per exit.
  void BeginBurst() override;
  void EndBurst() override;

 private:
  void Spawn();
  // The run (or the spawn) ended now: start again when the policy says.
  Duration ScheduleRestart();
  void Disconnect();
  // Queues `message`; events and snapshot parts are droppable, command answers are not.
  void Send(const internal::v1::CoreMessage& message, bool droppable);
  // A new snapshot: its first part is queued at once (RestartSnapshot's comment says why).
  void RestartSnapshot();
  // Queues the snapshot's next part, of about `budget` bytes (0: the first part's header only).
  void PushSnapshotPart(size_t budget);
  // Too far behind: drop the events, start a fresh snapshot, and kill a control plane that
  // leaves even the answers to its commands unread.
  void OnBacklogFull();
  void Flush();
  // Output is blocked: make sure the stall check is due.
  void WatchForStall();
  void OnStallCheck();
  void KillStuck(const std::string& why);
  // Drops the connection and SIGKILLs vigil-control; its exit brings a fresh one (with backoff).
  void KillAndDisconnect();
  void SendMetrics(uint64_t id);
  void OnReadable();
  // A frame that is over the limit or not a command: logged by name, vigil-control restarted.
  void ProtocolError(const std::string& what);
  void Handle(const internal::v1::Command& command);
  void SendWorkerEvent(internal::v1::Event::Kind kind, const Pool& pool, int slot);

  const Config& config_;
  Supervisor& supervisor_;
  Os& os_;
  FdWatcher& watcher_;
  const Clock& clock_;
  std::string binary_;
  StatusBuilder builder_;

  pid_t pid_ = -1;
  UniqueFd socket_;
  FrameDecoder decoder_;
  FrameQueue out_;
  SnapshotStream snapshot_;
  bool writable_watched_ = false;
  uint64_t events_dropped_ = 0;
  size_t largest_answer_ = 0;  // bytes of the largest command answer (all its parts) so far
  MonoTime last_progress_{};   // when vigil-control last took bytes
  Timer stall_timer_;
  bool stopping_ = false;
  int restarts_ = 0;
  ControlBackoff backoff_;
  Timer restart_timer_;
  // The last agent state sent, so that unchanged state is not sent again.
  internal::v1::Phase last_phase_ = internal::v1::PHASE_UNSPECIFIED;
  bool last_ready_ = false;
  int last_remaining_ = -1;
  bool last_complete_ = false;
  bool in_burst_ = false;
  bool agent_changed_held_ = false;  // an OnAgentChanged() in the burst, sent at its end
  // A burst's output is written by work posted at its end, after the work it posted (a crashed
  // worker's replacement): one write, after the spawn (EndBurst).
  PostedWork posted_flush_;
};

}  // namespace vigil
