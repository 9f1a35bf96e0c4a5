// CoreConnection: vigil-control's end of the socketpair to the core (its fd 3).
//
// A reader thread turns the core's frames into ReadModel updates and completes pending
// commands; Send() (any thread) writes a command and calls `done` with the core's Result when
// it arrives, or with UNAVAILABLE if the core goes away first. When the core closes the socket,
// vigil-control has nothing left to serve and exits (the core restarts it when it wants it).
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "agent/control/read_model.h"
#include "agent/ipc/frame.h"
#include "vigil/internal/v1/ipc.pb.h"

namespace vigil::control {

class CoreConnection {
 public:
  using Done = std::function<void(const internal::v1::Result&)>;

  CoreConnection(int fd, ReadModel& model, std::function<void()> on_closed);
  ~CoreConnection();

  void Start();
  void Send(internal::v1::Command command, Done done);

 private:
  void ReadLoop();
  void FailPending();

  int fd_;
  ReadModel& model_;
  std::function<void()> on_closed_;
  std::thread reader_;
  std::mutex write_mu_;
  std::mutex pending_mu_;
  std::map<uint64_t, Done> pending_;
  uint64_t next_id_ = 1;
  bool closed_ = false;
};

}  // namespace vigil::control
