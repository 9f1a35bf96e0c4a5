#include "agent/supervisor/prober.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "agent/base/duration.h"
#include "agent/log/log.h"
#include "agent/sys/socket_address.h"

namespace vigil {

Prober::Prober(const PoolConfig& config, Os& os, Scheduler& scheduler, FdWatcher& watcher,
               const Clock& clock, const ChildEnvironment& environment, ResultCallback on_result)
    : config_(config),
      os_(os),
      scheduler_(scheduler),
      watcher_(watcher),
      clock_(clock),
      environment_(environment),
      on_result_(std::move(on_result)) {}

Prober::~Prober() {
  // Running probes are abandoned: exec probes killed, sockets unwatched (timers cancel themselves).
  for (size_t slot = 0; slot < probes_.size(); ++slot)
    Stop(static_cast<int>(slot));
}

Prober::Probe& Prober::at(int slot) {
  while (probes_.size() <= static_cast<size_t>(slot)) {
    Probe& p = probes_.emplace_back();
    p.next = Timer(scheduler_);
    p.timeout = Timer(scheduler_);
  }
  return probes_[static_cast<size_t>(slot)];
}

void Prober::Start(int slot, pid_t worker_pid) {
  Probe& p = at(slot);
  if (p.active) return;
  p.active = true;
  p.worker_pid = worker_pid;
  // The first probe right after a short delay: a process that was just exec'd is rarely
  // listening yet, and probing it at once only adds a failure.
  Schedule(slot, std::min<Duration>(config_.readiness.period, std::chrono::milliseconds(100)));
}

void Prober::Stop(int slot) {
  Probe& p = at(slot);
  if (!p.active) return;
  p.active = false;
  p.next.Cancel();
  Abandon(slot);
}

void Prober::Schedule(int slot, Duration delay) {
  at(slot).next.ArmAt(SaturatingAdd(clock_.Now(), delay), [this, slot] { Launch(slot); });
}

void Prober::Launch(int slot) {
  Probe& p = at(slot);
  if (!p.active || p.running) return;
  p.running = true;
  p.timeout.ArmAt(SaturatingAdd(clock_.Now(), config_.readiness.timeout), [this, slot] {
    log::Debug("pool {} slot {}: readiness probe timed out", config_.name, slot);
    Complete(slot, false);
  });
  if (config_.readiness.mode == ReadinessMode::kExec) {
    LaunchExec(slot);
  } else {
    LaunchConnect(slot);
  }
}

void Prober::LaunchExec(int slot) {
  Probe& p = at(slot);
  SpawnRequest request;
  request.argv = config_.readiness.command;
  request.env =
      environment_.Build(config_.env, {{"VIGIL_POOL", config_.name},
                                       {"VIGIL_WORKER", std::to_string(slot)},
                                       {"VIGIL_WORKER_PID", std::to_string(p.worker_pid)}});
  UniqueFd null(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  request.stdout_fd = null.get();
  request.stderr_fd = null.get();
  SpawnedChild child;
  SpawnError error;
  if (!os_.Spawn(request, &child, &error)) {
    log::Warn("pool {} slot {}: readiness probe: {}", config_.name, slot, error.status.message());
    Complete(slot, false);
    return;
  }
  p.exec_pid = child.pid;
  slot_of_exec_[child.pid] = slot;
}

bool Prober::OnProcessExited(pid_t pid, int wait_status) {
  const auto it = slot_of_exec_.find(pid);
  if (it == slot_of_exec_.end()) return false;
  const int slot = it->second;
  slot_of_exec_.erase(it);
  at(slot).exec_pid = -1;
  Complete(slot, WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0);
  return true;
}

void Prober::LaunchConnect(int slot) {
  Probe& p = at(slot);
  auto address = ParseSocketAddress(config_.readiness.host, config_.readiness.port);
  if (!address.ok()) {
    Complete(slot, false);
    return;
  }
  ConnectState state = ConnectState::kFailed;
  StatusOr<UniqueFd> socket = os_.StartConnect(*address, &state);
  if (!socket.ok()) {
    log::Warn("pool {}: readiness probe socket: {}", config_.name, socket.status().message());
    Complete(slot, false);
    return;
  }
  p.socket = std::move(*socket);
  if (state == ConnectState::kConnected) {
    OnConnected(slot);
    return;
  }
  if (state == ConnectState::kFailed) {
    Complete(slot, false);
    return;
  }
  Status s = watcher_.WatchWritable(p.socket.get(), [this, slot] { OnConnected(slot); });
  if (!s.ok()) {
    Complete(slot, false);
    return;
  }
  p.watching = true;
}

void Prober::OnConnected(int slot) {
  Probe& p = at(slot);
  if (p.watching) {
    watcher_.Unwatch(p.socket.get());
    p.watching = false;
  }
  if (!os_.ConnectError(p.socket.get()).ok()) {
    Complete(slot, false);
    return;
  }
  if (config_.readiness.mode == ReadinessMode::kTcp) {
    Complete(slot, true);
    return;
  }
  const std::string request = "GET " + config_.readiness.path +
                              " HTTP/1.0\r\nHost: " + config_.readiness.host +
                              "\r\nUser-Agent: vigil-probe\r\n\r\n";
  // A few hundred bytes into a fresh socket's empty buffer: one send() takes them all.
  if (::send(p.socket.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    Complete(slot, false);
    return;
  }
  p.response.clear();
  if (!watcher_.Watch(p.socket.get(), [this, slot] { OnHttpReadable(slot); }).ok()) {
    Complete(slot, false);
    return;
  }
  p.watching = true;
}

void Prober::OnHttpReadable(int slot) {
  Probe& p = at(slot);
  char buf[512];
  ssize_t n = ::recv(p.socket.get(), buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n > 0) p.response.append(buf, static_cast<size_t>(n));
  const size_t eol = p.response.find("\r\n");
  if (eol == std::string::npos && n > 0 && p.response.size() < 4096) return;  // Need more.
  // "HTTP/1.1 200 OK"
  bool pass = false;
  if (p.response.rfind("HTTP/", 0) == 0) {
    const size_t space = p.response.find(' ');
    if (space != std::string::npos && space + 4 <= p.response.size()) {
      const int code = std::atoi(p.response.substr(space + 1, 3).c_str());
      pass = code >= 200 && code < 400;
    }
  }
  Complete(slot, pass);
}

void Prober::Abandon(int slot) {
  Probe& p = at(slot);
  p.timeout.Cancel();
  if (p.watching) watcher_.Unwatch(p.socket.get());
  p.watching = false;
  p.socket.Reset();
  if (p.exec_pid > 0) {
    // The probe's own group; it is unreaped, so the id is still its own. Reaped later as an
    // orphan.
    Status s = os_.SignalGroup(p.exec_pid, SIGKILL);
    (void)s;
    slot_of_exec_.erase(p.exec_pid);
    p.exec_pid = -1;
  }
  p.running = false;
}

void Prober::Complete(int slot, bool success) {
  Probe& p = at(slot);
  if (!p.running) return;
  Abandon(slot);
  if (p.active) Schedule(slot, config_.readiness.period);
  on_result_(slot, success);
}

}  // namespace vigil
