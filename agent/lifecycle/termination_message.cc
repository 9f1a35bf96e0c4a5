#include "agent/lifecycle/termination_message.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <map>

#include "agent/base/duration.h"
#include "agent/base/unique_fd.h"
#include "agent/signal/signals.h"

namespace vigil {
namespace {

// Cuts at a line boundary when it can, so the message never ends in half a line.
std::string Fit(std::string text) {
  if (text.size() <= kMaxTerminationMessage) return text;
  const std::string more = "...\n";
  text.resize(kMaxTerminationMessage - more.size());
  const size_t eol = text.rfind('\n');
  if (eol != std::string::npos && eol > kMaxTerminationMessage / 2) text.resize(eol + 1);
  return text + more;
}

}  // namespace

std::string BuildTerminationMessage(const Supervisor& supervisor, MonoTime now) {
  int killed = 0;
  for (const auto& pool : supervisor.pools())
    killed += static_cast<int>(pool->killed_at_deadline().size());
  std::string text = "vigil exited " + std::to_string(supervisor.exit_code()) + ": ";
  const DrainState& drain = supervisor.drain();
  if (drain.started) {
    text += std::string(drain.complete ? "drain complete" : "drain incomplete") + " (trigger " +
            DrainTriggerName(drain.trigger) + ", " +
            FormatDuration(
                std::chrono::duration_cast<std::chrono::milliseconds>(now - drain.started_at)) +
            ")";
  } else {
    text += "every worker ended for good";
  }
  if (killed > 0) {
    text += ", " + std::to_string(killed) + " straggler(s) signalled or killed at a deadline";
  }
  text += "\n";
  // Only a drain that waited: a pool without listeners (no delay) keeps its message as it was.
  const PropagationReport& p = supervisor.propagation();
  const bool waited = p.reason != PropagationEnd::kNoListener ||
                      supervisor.config().drain.min_delay > Duration::zero();
  if (drain.started && p.ended && waited) {
    text += "propagation " +
            FormatDuration(std::chrono::duration_cast<std::chrono::milliseconds>(p.took)) + " (" +
            PropagationEndName(p.reason) + ", " + std::to_string(p.connections) +
            " new connection(s) after readiness off)\n";
  }
  for (const auto& pool : supervisor.pools()) {
    int graceful = 0;
    int waiting = 0;
    std::map<std::string, int> ends;
    for (const auto& w : pool->workers()) {
      graceful += w->ended_gracefully() ? 1 : 0;
      waiting += w->stopped_after_failure() ? 1 : 0;
      ends[w->last_exit() ? ExitLabel(*w->last_exit()) : "never ran"] += 1;
    }
    text += "pool " + pool->name() + ": " + std::to_string(graceful) + "/" +
            std::to_string(pool->workers().size()) + " ended gracefully";
    if (waiting > 0) {
      text += ", " + std::to_string(waiting) + " had failed and " +
              (waiting == 1 ? "was" : "were") + " waiting to restart";
    }
    if (pool->failed()) {
      text += ", FAILED (crash loop";
      if (const auto& v = pool->verdict()) {
        text += v->rule == CrashLoopRule::kUnstableRuns
                    ? ": " + std::to_string(v->count) + " unstable runs in a row"
                    : ": " + std::to_string(v->count) + " failures within " +
                          FormatDuration(pool->config().crash_loop.period);
      }
      text += ")";
    }
    std::string sep = ": ";
    for (const auto& [label, count] : ends) {
      text += sep + label + " x" + std::to_string(count);
      sep = ", ";
    }
    text += "\n";
  }
  return Fit(std::move(text));
}

std::string BuildSingleCommandTerminationMessage(const std::string& command, int exit_code) {
  return Fit("vigil exited " + std::to_string(exit_code) + ": main process '" + command +
             "' ended with status " + std::to_string(exit_code) + "\n");
}

Status WriteTerminationMessage(const std::string& path, const std::string& text) {
  if (path.empty()) return Status();
  // O_TRUNC without O_CREAT: only a file the kubelet (or the user) made is written.
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY));
  if (!fd) {
    if (errno == ENOENT) return Status();
    return Status::FromErrno("termination message " + path, errno);
  }
  const std::string fitted = Fit(text);
  size_t done = 0;
  while (done < fitted.size()) {
    ssize_t n = ::write(fd.get(), fitted.data() + done, fitted.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::FromErrno("termination message " + path, errno);
    done += static_cast<size_t>(n);
  }
  return Status();
}

}  // namespace vigil
