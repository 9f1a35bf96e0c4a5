#include "agent/ipc/control_link.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>
#include <cerrno>
#include <cstring>

#include "agent/base/duration.h"
#include "agent/ipc/control_options.h"
#include "agent/ipc/metrics_builder.h"
#include "agent/ipc/wire_enums.h"
#include "agent/log/log.h"
#include "agent/log/output_channel.h"
#include "agent/signal/exit_label.h"
#include "agent/signal/signals.h"

namespace vigil {
namespace {

using Kind = internal::v1::Event::Kind;

// The answer to a command the core does not know (a grpc::StatusCode; the core links no gRPC).
constexpr int kInvalidArgument = 3;

}  // namespace

ControlLink::ControlLink(const Config& config, Supervisor& supervisor, Os& os, Scheduler& scheduler,
                         FdWatcher& watcher, const Clock& clock, std::string binary)
    : config_(config),
      supervisor_(supervisor),
      os_(os),
      watcher_(watcher),
      clock_(clock),
      binary_(std::move(binary)),
      builder_(supervisor, clock),
      snapshot_(supervisor, builder_),
      stall_timer_(scheduler),
      backoff_(ControlBackoff::Options{std::chrono::seconds(1), std::chrono::seconds(30),
                                       config.control.backoff_reset_after}),
      restart_timer_(scheduler),
      posted_flush_(scheduler) {}

ControlLink::~ControlLink() {
  if (socket_) watcher_.Unwatch(socket_.get());
}

void ControlLink::Start() {
  Spawn();
}

void ControlLink::Spawn() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    log::Error("control plane: socketpair: {}", std::strerror(errno));
    ScheduleRestart();
    return;
  }
  UniqueFd ours(fds[0]);
  UniqueFd theirs(fds[1]);
  SpawnRequest request;
  request.argv = {binary_};  // Its options come as the first frame (ControlOptionsFor).
  // A child like the others: never NOTIFY_SOCKET, WATCHDOG_* or LISTEN_* of Vigil's supervisor.
  request.env = supervisor_.child_environment().Build({}, {});
  request.pass_fd = theirs.get();
  SpawnedChild child;
  SpawnError error;
  if (!os_.Spawn(request, &child, &error)) {
    log::Event(log::Level::kError, "control_spawn_failed", error.status.message(), {});
    ScheduleRestart();
    return;
  }
  pid_ = child.pid;
  backoff_.Started(clock_.Now());
  // Non-blocking from now on: the core must never wait for the control plane.
  const int flags = ::fcntl(ours.get(), F_GETFL);
  if (flags >= 0) ::fcntl(ours.get(), F_SETFL, flags | O_NONBLOCK);
  socket_ = std::move(ours);
  decoder_ = FrameDecoder();
  out_.Clear();
  writable_watched_ = false;
  if (Status s = watcher_.WatchUrgent(socket_.get(), [this] { OnReadable(); }); !s.ok()) {
    log::Error("control plane: {}", s.message());
  }
  log::Event(log::Level::kInfo, "control_started", "control plane started", {{"pid", pid_}});
  last_phase_ = builder_.Phase();
  last_ready_ = supervisor_.ready();
  last_progress_ = clock_.Now();
  // The first frame of every connection: vigil-control serves nothing until it has it.
  internal::v1::CoreMessage options;
  *options.mutable_options() = ControlOptionsFor(config_);
  Send(options, /*droppable=*/false);
  if (!socket_) return;
  RestartSnapshot();  // The rest of its parts go out as the socket drains.
  Flush();
}

void ControlLink::RestartSnapshot() {
  snapshot_.Restart();
  // The first part (phase, readiness and drain; no workers) goes in now, ahead of every event
  // queued from here on: once vigil-control reads it, it knows its picture misses what was
  // dropped and serves none of it until the last part has arrived (ReadModel::current()).
  // Made later, as the socket drains, it would come after events applied to a picture with a
  // hole in it, which vigil-control would have served as whole.
  PushSnapshotPart(/*budget=*/0);
}

void ControlLink::PushSnapshotPart(size_t budget) {
  internal::v1::CoreMessage m;
  *m.mutable_snapshot() = snapshot_.NextPart(budget);
  std::string payload;
  if (!m.SerializeToString(&payload)) {
    snapshot_.Stop();  // Cannot happen with our own messages; never loop on it.
    return;
  }
  out_.Push(EncodeFrame(payload), /*droppable=*/true);
}

Duration ControlLink::ScheduleRestart() {
  if (stopping_ || restart_timer_.armed()) return Duration::zero();
  const Duration delay = backoff_.Ended(clock_.Now());
  // Even an immediate restart goes through the loop: never a spawn from inside the reaper.
  restart_timer_.ArmAt(clock_.Now() + delay, [this] {
    ++restarts_;
    Spawn();
  });
  return delay;
}

bool ControlLink::OnProcessExited(pid_t pid, int wait_status) {
  if (pid != pid_ || pid <= 0) return false;
  pid_ = -1;
  Disconnect();
  if (stopping_) return true;
  const Duration delay = ScheduleRestart();
  const int64_t delay_ms = std::chrono::duration_cast<std::chrono::milliseconds>(delay).count();
  log::Event(log::Level::kWarn, "control_exited",
             "control plane " + WaitStatusLabel(wait_status) + "; restarting " +
                 (delay_ms == 0 ? std::string("now") : "in " + FormatDuration(delay)),
             {{"restart_in_ms", delay_ms}});
  return true;
}

void ControlLink::Disconnect() {
  stall_timer_.Cancel();
  if (!socket_) return;
  watcher_.Unwatch(socket_.get());
  socket_.Reset();
  out_.Clear();
  snapshot_.Stop();
  writable_watched_ = false;
}

void ControlLink::Stop() {
  stopping_ = true;
  restart_timer_.Cancel();
  Flush();
  if (pid_ > 0) {
    Status s = os_.SignalPid(pid_, SIGTERM);
    (void)s;
  }
}

void ControlLink::Send(const internal::v1::CoreMessage& message, bool droppable) {
  if (!socket_) return;
  std::string payload;
  if (!message.SerializeToString(&payload)) return;
  out_.Push(EncodeFrame(payload), droppable);
  if (out_.bytes() > kMaxBacklog) {
    OnBacklogFull();
    if (!socket_) return;
  }
  // Written at the burst's end, or by the flush it posted.
  if ((in_burst_ || posted_flush_.pending() > 0) && out_.bytes() < kPartBudget) return;
  Flush();
}

void ControlLink::BeginBurst() {
  in_burst_ = true;
}

void ControlLink::EndBurst() {
  if (!in_burst_) return;
  in_burst_ = false;
  // Not written now: the burst posted its own work (a crashed worker's zero-delay restart runs
  // posted), and written before it, the events wake vigil-control to compete with the
  // replacement's spawn on a small machine. Posted now, the flush runs after that work, in the
  // same turn of the loop, and writes the exit, the replacement's start and the agent's
  // state in one go (docs/performance.md, "6: restart latency: round two").
  if (posted_flush_.pending() == 0) posted_flush_.Post([this] { Flush(); });
  if (agent_changed_held_) {
    agent_changed_held_ = false;
    OnAgentChanged();
  }
}

void ControlLink::OnBacklogFull() {
  const size_t behind = out_.bytes();
  const size_t dropped = out_.DropDroppable();
  if (dropped > 0) {
    events_dropped_ += dropped;
    // What it missed comes back as a fresh snapshot, made part by part as it reads.
    RestartSnapshot();
    log::Event(log::Level::kWarn, "control_events_dropped",
               "vigil-control is " + std::to_string(behind) + " bytes behind: " +
                   std::to_string(dropped) + " events dropped, a fresh snapshot follows",
               {{"events", static_cast<uint64_t>(dropped)}});
  }
  // Answers to its own commands are never dropped; unread past the limit, it is stuck.
  if (out_.bytes() > kMaxBacklog + largest_answer_) {
    KillStuck("it leaves " + std::to_string(out_.bytes()) + " bytes of answers unread");
  }
}

void ControlLink::KillStuck(const std::string& why) {
  log::Event(log::Level::kError, "control_stalled",
             "vigil-control is stuck (" + why + "): restarting it", {{"pid", pid_}});
  KillAndDisconnect();
}

void ControlLink::KillAndDisconnect() {
  Disconnect();
  if (pid_ > 0) {
    Status s = os_.SignalPid(pid_, SIGKILL);
    (void)s;
  }
}

void ControlLink::WatchForStall() {
  if (stall_timer_.armed()) return;
  stall_timer_.ArmAt(last_progress_ + kStallTimeout, [this] { OnStallCheck(); });
}

void ControlLink::OnStallCheck() {
  if (!socket_ || out_.empty()) return;  // It caught up: no timer until output waits again.
  if (clock_.Now() - last_progress_ >= kStallTimeout) {
    KillStuck("it has read nothing for " + FormatDuration(clock_.Now() - last_progress_) +
              " with " + std::to_string(out_.bytes()) + " bytes waiting");
    return;
  }
  WatchForStall();  // It moved since: check again kStallTimeout after its last progress.
}

void ControlLink::Flush() {
  while (socket_) {
    // Snapshot parts are made only as the socket drains: the queue stays small whatever the
    // size of the pools.
    while (snapshot_.active() && out_.bytes() < kPartBudget)
      PushSnapshotPart(kPartBudget);
    if (out_.empty()) break;
    const size_t before = out_.bytes();
    const FrameQueue::Write result = out_.WriteTo(socket_.get());
    if (out_.bytes() != before || result == FrameQueue::Write::kEmptied) {
      last_progress_ = clock_.Now();
    }
    if (result == FrameQueue::Write::kBlocked) {
      if (!writable_watched_) {
        writable_watched_ = watcher_.AlsoWatchWritable(socket_.get(), [this] { Flush(); }).ok();
      }
      WatchForStall();
      return;
    }
    if (result == FrameQueue::Write::kFailed) {
      Disconnect();  // EPIPE: it died; its exit is reaped and it is restarted then.
      return;
    }
  }
  if (socket_ && writable_watched_) {
    watcher_.StopWritable(socket_.get());
    writable_watched_ = false;
  }
  stall_timer_.Cancel();  // Nothing waits: no timer, no wake-up.
}

void ControlLink::OnReadable() {
  char buf[65536];
  ssize_t n = ::recv(socket_.get(), buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    Disconnect();
    return;
  }
  decoder_.Append(buf, static_cast<size_t>(n));
  for (;;) {
    bool corrupt = false;
    std::optional<std::string> payload = decoder_.Next(&corrupt);
    if (corrupt) {
      ProtocolError(decoder_.error());
      return;
    }
    if (!payload) return;
    internal::v1::ControlMessage message;
    if (!message.ParseFromString(*payload) || !message.has_command()) {
      ProtocolError("a frame that is not a command (" + std::to_string(payload->size()) +
                    " bytes)");
      return;
    }
    Handle(message.command());
    if (!socket_) return;
  }
}

void ControlLink::ProtocolError(const std::string& what) {
  // The stream cannot be trusted after this: start the control plane over. Workers, readiness
  // and counts are the core's, so nothing else notices.
  log::Event(log::Level::kError, "control_protocol_error",
             "vigil-control sent " + what + "; restarting it", {{"pid", pid_}});
  KillAndDisconnect();
}

void ControlLink::Handle(const internal::v1::Command& command) {
  Supervisor::CommandResult result;
  switch (command.body_case()) {
    case internal::v1::Command::kDrain: {
      const std::optional<DrainTrigger> trigger = RequestedTrigger(command.drain().trigger());
      if (!trigger) {
        result = {kInvalidArgument,
                  "a drain's trigger must be prestop or api, not " +
                      std::to_string(static_cast<int>(command.drain().trigger())),
                  0};
        break;
      }
      log::Event(log::Level::kInfo, "drain_requested", "drain requested",
                 {{"trigger", DrainTriggerName(*trigger)}, {"reason", command.drain().reason()}});
      // Saturated: INT64_MAX ms must not wrap to "now" on the way to nanoseconds.
      result = supervisor_.Drain(
          *trigger, SaturatingCast(std::chrono::milliseconds(command.drain().deadline_ms())));
      break;
    }
    case internal::v1::Command::kScale:
      result = supervisor_.Scale(command.scale().pool(), command.scale().replicas());
      break;
    case internal::v1::Command::kRestart:
      result = supervisor_.Restart(command.restart().pool(), command.restart().max_unavailable());
      break;
    case internal::v1::Command::kSignal:
      result = supervisor_.Signal(command.signal().pool(), command.signal().slot(),
                                  command.signal().signo());
      break;
    case internal::v1::Command::kShutdown:
      log::Event(log::Level::kInfo, "shutdown_requested", "shutdown requested",
                 {{"reason", command.shutdown().reason()}});
      result = supervisor_.Drain(DrainTrigger::kFastStop);
      break;
    case internal::v1::Command::kPing: {
      internal::v1::CoreMessage reply;
      reply.mutable_result()->set_id(command.id());
      Send(reply, /*droppable=*/false);
      return;
    }
    case internal::v1::Command::kMetrics:
      SendMetrics(command.id());
      return;
    default:
      result = {kInvalidArgument, "unknown command", 0};
  }
  internal::v1::CoreMessage reply;
  auto* r = reply.mutable_result();
  r->set_id(command.id());
  r->set_code(result.code);
  r->set_message(result.message);
  r->set_count(result.count);
  Send(reply, /*droppable=*/false);
}

void ControlLink::SendMetrics(uint64_t id) {
  MetricFamilies families;
  CoreProcessCounts process;
  process.control_restarts = static_cast<uint64_t>(restarts_);
  process.control_events_dropped = events_dropped_;
  if (const log::OutputChannel* out = log::StandardChannelIfOpen(1)) {
    process.output_dropped_stdout = out->dropped_lines();
  }
  if (const log::OutputChannel* err = log::StandardChannelIfOpen(2)) {
    process.output_dropped_stderr = err->dropped_lines();
  }
  BuildMetrics(supervisor_, process, &families);
  // In parts of about kPartBudget: a family too big for one part goes on, under the same name,
  // in the next (vigil-control puts it back together).
  std::vector<internal::v1::CoreMessage> parts(1);
  size_t bytes = 0;
  for (const internal::v1::MetricFamily& family : families) {
    internal::v1::MetricFamily* out = nullptr;
    for (const internal::v1::Metric& metric : family.metrics()) {
      if (bytes >= kPartBudget) {
        parts.emplace_back();
        bytes = 0;
        out = nullptr;
      }
      if (out == nullptr) {
        out = parts.back().mutable_result()->add_metrics();
        out->set_name(family.name());
        out->set_help(family.help());
        out->set_type(family.type());
        bytes += out->ByteSizeLong();
      }
      *out->add_metrics() = metric;
      bytes += metric.ByteSizeLong() + 8;
    }
    if (family.metrics().empty()) {  // A family with no series yet: its name and help.
      *parts.back().mutable_result()->add_metrics() = family;
    }
  }
  size_t total = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    internal::v1::Result* r = parts[i].mutable_result();
    r->set_id(id);
    r->set_more(i + 1 < parts.size());
    total += r->ByteSizeLong();
  }
  largest_answer_ = std::max(largest_answer_, total);
  for (const auto& part : parts) {
    Send(part, /*droppable=*/false);
    if (!socket_) return;
  }
}

void ControlLink::SendWorkerEvent(Kind kind, const Pool& pool, int slot) {
  if (!socket_ || slot >= pool.slot_count()) return;
  internal::v1::CoreMessage m;
  auto* e = m.mutable_event();
  e->set_kind(kind);
  e->set_time_unix_ms(builder_.NowUnixMs());
  e->set_pool(pool.name());
  e->set_slot(slot);
  builder_.FillWorker(pool, slot, e->mutable_worker());
  builder_.FillPool(pool, /*with_workers=*/false, e->mutable_pool_info());
  Send(m, /*droppable=*/true);
}

void ControlLink::OnPoolChanged(const Pool& pool) {
  if (!socket_) return;
  internal::v1::CoreMessage m;
  auto* e = m.mutable_event();
  e->set_kind(internal::v1::Event::POOL);
  e->set_time_unix_ms(builder_.NowUnixMs());
  e->set_pool(pool.name());
  builder_.FillPool(pool, /*with_workers=*/false, e->mutable_pool_info());
  Send(m, /*droppable=*/true);
}

void ControlLink::OnWorkerChanged(const Pool& pool, int slot) {
  SendWorkerEvent(internal::v1::Event::WORKER_STATE, pool, slot);
}

void ControlLink::OnWorkerExited(const Pool& pool, int slot, const ExitRecord&) {
  SendWorkerEvent(internal::v1::Event::WORKER_EXITED, pool, slot);
}

void ControlLink::OnAgentChanged() {
  if (!socket_) return;
  if (in_burst_) {
    agent_changed_held_ = true;  // Once, with the state at the burst's end.
    return;
  }
  const internal::v1::Phase phase = builder_.Phase();
  const bool ready = supervisor_.ready();
  const bool draining = supervisor_.drain().started;
  const int remaining = draining ? supervisor_.WorkersRunning() : -1;
  const bool complete = supervisor_.drain().complete;
  if (phase == last_phase_ && ready == last_ready_ && remaining == last_remaining_ &&
      complete == last_complete_) {
    return;
  }
  internal::v1::CoreMessage m;
  auto* e = m.mutable_event();
  e->set_kind(draining ? internal::v1::Event::DRAIN : internal::v1::Event::READINESS);
  e->set_time_unix_ms(builder_.NowUnixMs());
  e->set_ready(ready);
  e->set_phase(phase);
  if (draining) builder_.FillDrain(e->mutable_drain());
  // Pool-level counts travel with every agent event, so the read model's pools stay current.
  Send(m, /*droppable=*/true);
  last_phase_ = phase;
  last_ready_ = ready;
  last_remaining_ = remaining;
  last_complete_ = complete;
}

}  // namespace vigil
