// LinuxOs: the real Os. One instance, made in main(). See os.h for the contract.
#pragma once

#include "agent/sys/child_stack.h"
#include "agent/sys/os.h"
#include "agent/sys/spawn_slots.h"

namespace vigil {

class LinuxOs final : public Os {
 public:
  // Reserves the spawn slots now, at the lowest free numbers (spawn_slots.h).
  LinuxOs() { slots_.Reserve(); }

  pid_t GetPid() override;
  pid_t GetProcessGroup() override;
  bool Spawn(const SpawnRequest& request, SpawnedChild* child, SpawnError* error) override;
  Status SignalPidfd(int pidfd, int signo) override;
  Status SignalPid(pid_t pid, int signo) override;
  Status SignalGroup(pid_t pgid, int signo) override;
  Status SignalAll(int signo) override;
  StatusOr<WaitResult> WaitAny() override;
  std::vector<pid_t> ListDescendants() override;
  Status SetChildSubreaper() override;
  pid_t ProcessGroupOf(pid_t pid) override;
  StatusOr<UniqueFd> OpenPidfd(pid_t pid) override;
  ProcessFacts InspectPidfd(int pidfd) override;
  std::optional<uint64_t> OomKillCount() override;
  StatusOr<UniqueFd> StartConnect(const SocketAddress& address, ConnectState* state) override;
  Status ConnectError(int fd) override;
  bool IsForegroundOfTerminal(int fd) override;
  Status SetForegroundGroup(int tty_fd, pid_t pgid) override;
  Status StopSelf() override;

 private:
  SpawnSlots slots_;
  ChildStack stack_;  // kept from one spawn to the next
  // Cleared once this kernel (or its seccomp profile) refuses the child's close_range unshare:
  // then clone() copies the table, as it did before CLONE_FILES.
  bool share_files_ = true;
};

}  // namespace vigil
