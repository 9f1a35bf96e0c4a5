// ControlLink: the core's end of the control plane.
//
// It spawns vigil-control with one end of a socketpair as its fd 3, supervises it (restarts it
// when it dies, at once after a stable run, else with backoff: ControlBackoff; workers never
// notice), sends it a Snapshot
// on every start and an Event for every change, and turns its Commands into Supervisor calls,
// answering each with a Result. The core never blocks on it: output is buffered and written
// when the socket is writable, and a control plane more than 16 MiB behind is killed (and
// restarted with a fresh snapshot). Single-threaded: runs on the core loop.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "agent/base/unique_fd.h"
#include "agent/config/config.h"
#include "agent/event/fd_watcher.h"
#include "agent/event/scheduler.h"
#include "agent/ipc/control_backoff.h"
#include "agent/ipc/frame.h"
#include "agent/ipc/status_builder.h"
#include "agent/supervisor/supervisor.h"
#include "agent/sys/os.h"

namespace vigil {

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

  // AgentListener.
  void OnWorkerChanged(const Pool& pool, int slot) override;
  void OnWorkerExited(const Pool& pool, int slot, const ExitRecord& record) override;
  void OnAgentChanged() override;
  void OnPoolChanged(const Pool& pool) override;

 private:
  void Spawn();
  // The run (or the spawn) ended now: start again when the policy says.
  Duration ScheduleRestart();
  void Disconnect();
  void Send(const internal::v1::CoreMessage& message);
  void Flush();
  void OnReadable();
  // A frame that is over the limit or not a command: logged by name, vigil-control restarted.
  void ProtocolError(const std::string& what);
  void Handle(const internal::v1::Command& command);
  void SendWorkerEvent(int kind, const Pool& pool, int slot);  // kind: vigil.v1.Event.Kind
  std::vector<std::string> Arguments() const;

  const Config& config_;
  Supervisor& supervisor_;
  Os& os_;
  Scheduler& scheduler_;
  FdWatcher& watcher_;
  const Clock& clock_;
  std::string binary_;
  StatusBuilder builder_;

  pid_t pid_ = -1;
  UniqueFd socket_;
  FrameDecoder decoder_;
  std::string out_;
  bool writable_watched_ = false;
  bool stopping_ = false;
  int restarts_ = 0;
  ControlBackoff backoff_;
  TimerId restart_timer_ = kNoTimer;
  // The last agent state sent, so that unchanged state is not sent again.
  int last_phase_ = -1;
  bool last_ready_ = false;
  int last_remaining_ = -1;
  bool last_complete_ = false;
};

}  // namespace vigil
