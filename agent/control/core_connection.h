// CoreConnection: vigil-control's end of the socketpair to the core (its fd 3).
//
// A reader thread turns the core's frames into ReadModel updates and completes pending
// commands; a writer thread writes the commands. Send() (any thread) never blocks on the core:
// it queues the command and calls `done` with the core's Result when it arrives; at once with
// RESOURCE_EXHAUSTED when the queue is full (the core is not reading: more than kMaxFrame of
// commands, or kMaxPendingCommands unanswered), with INVALID_ARGUMENT when the command would be
// a frame over the limit; with UNAVAILABLE when the core goes away first.
//
// A frame from the core over the limit, one that does not parse, or options (they come only as
// the first frame, which main() reads: options.h) is a protocol error: it is
// logged by name (event control_protocol_error) and the connection is closed. When the core
// closes the socket, or after such an error, vigil-control has nothing left to serve and exits
// (`on_closed`); the core restarts it with a fresh snapshot.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "agent/control/read_model.h"
#include "agent/ipc/frame.h"
#include "vigil/internal/v1/ipc.pb.h"

namespace vigil::control {

inline constexpr size_t kMaxPendingCommands = 4096;

class CoreConnection {
 public:
  using Done = std::function<void(const internal::v1::Result&)>;

  CoreConnection(int fd, ReadModel& model, std::function<void()> on_closed);
  ~CoreConnection();

  // Called on the reader thread for every frame the core sends (a sign of life). Before Start().
  void set_on_frame(std::function<void()> on_frame) { on_frame_ = std::move(on_frame); }
  void Start();
  void Send(internal::v1::Command command, Done done);
  // Why the connection ended: "" while it is open.
  std::string close_reason() const;

 private:
  void ReadLoop();
  void WriteLoop();
  // Handles one frame; false (with *error) on a protocol error.
  bool Handle(const std::string& payload, std::string* error);
  void Close(const std::string& reason);

  int fd_;
  ReadModel& model_;
  std::function<void()> on_closed_;
  std::function<void()> on_frame_;
  std::thread reader_;
  std::thread writer_;
  // Results in several parts (`more`), by id, until the last part. Reader thread only.
  std::map<uint64_t, internal::v1::Result> partial_;

  mutable std::mutex mu_;  // everything below
  std::condition_variable writable_;
  std::deque<std::string> out_;  // frames to write
  size_t out_bytes_ = 0;
  std::map<uint64_t, Done> pending_;
  uint64_t next_id_ = 1;
  bool closed_ = false;
  std::string close_reason_;
};

}  // namespace vigil::control
