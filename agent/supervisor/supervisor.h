// Supervisor: pool mode's agent. It owns every Pool, starts them in file order, routes reaped
// pids to them (everything else is an orphan, reaped and forgotten), tracks the agent's
// readiness, acts on signals, stops the pools in reverse order, and decides Vigil's exit status.
//
// Signals: the stop signal (SIGTERM) starts a graceful shutdown, repeats are logged and never
// escalated; SIGINT and SIGQUIT stop fast (each pool's fast signal, a short deadline, all pools
// at once); SIGCHLD reaps; every other signal is forwarded to every worker's process group
// through each pool's rewrite table.
//
// Exit status (see docs/pools.md):
//   0  every worker ended gracefully           3  a pool's crash-loop verdict
//   1  Vigil itself failed                      4  workers were SIGKILLed at a stop deadline
//   2  usage or configuration error             5  a worker failed and was not restarted
//
// Single-threaded: every method runs on the core loop.
#pragma once

#include <memory>
#include <vector>

#include "agent/config/config.h"
#include "agent/init/single_command.h"
#include "agent/supervisor/pool.h"

namespace vigil {

inline constexpr int kPoolExitOk = 0;
inline constexpr int kPoolExitCrashLoop = 3;
inline constexpr int kPoolExitKilledAtDeadline = 4;
inline constexpr int kPoolExitWorkerFailed = 5;

// How long workers get after the fast stop signal (SIGINT/SIGQUIT to Vigil) before SIGKILL,
// when their stop_timeout is longer.
inline constexpr Duration kFastStopTimeout = std::chrono::seconds(5);

enum class AgentPhase { kStarting, kReady, kStopping, kDone };
const char* AgentPhaseName(AgentPhase phase);

class Supervisor final : public PoolObserver {
 public:
  Supervisor(const Config& config, PoolServices services);

  void Start();
  void OnSignal(const ReceivedSignal& signal);
  void OnChildEvent();

  bool finished() const { return phase_ == AgentPhase::kDone; }
  int exit_code() const { return exit_code_; }
  bool ready() const { return phase_ == AgentPhase::kReady; }
  AgentPhase phase() const { return phase_; }
  const std::vector<std::unique_ptr<Pool>>& pools() const { return pools_; }

  // PoolObserver.
  void OnPoolReadinessChanged(Pool& pool) override;
  void OnWorkerExited(Pool& pool, int slot, const ExitRecord& record) override;
  void OnPoolFailed(Pool& pool) override;
  void OnStopPodRequested(Pool& pool, int slot) override;
  void OnPoolIdle(Pool& pool) override;

 private:
  void BeginShutdown(bool fast, const char* why);
  void StopNextPool();
  void UpdateReadiness();
  void MaybeFinish();
  void Finish();

  const Config& config_;
  PoolServices services_;
  std::vector<std::unique_ptr<Pool>> pools_;
  AgentPhase phase_ = AgentPhase::kStarting;
  pid_t self_pid_ = 0;
  bool started_ = false;
  bool fast_ = false;
  int stopping_index_ = -1;  // the pool being stopped; lower ones wait their turn
  bool crash_loop_exit_ = false;
  int exit_code_ = kPoolExitOk;
};

}  // namespace vigil
