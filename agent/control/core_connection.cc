#include "agent/control/core_connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace vigil::control {

CoreConnection::CoreConnection(int fd, ReadModel& model, std::function<void()> on_closed)
    : fd_(fd), model_(model), on_closed_(std::move(on_closed)) {}

CoreConnection::~CoreConnection() {
  ::shutdown(fd_, SHUT_RDWR);
  if (reader_.joinable()) reader_.join();
  ::close(fd_);
}

void CoreConnection::Start() {
  reader_ = std::thread([this] { ReadLoop(); });
}

void CoreConnection::Send(internal::v1::Command command, Done done) {
  {
    std::lock_guard<std::mutex> lock(pending_mu_);
    if (closed_) {
      internal::v1::Result r;
      r.set_code(14);  // UNAVAILABLE
      r.set_message("the core is not connected");
      done(r);
      return;
    }
    command.set_id(next_id_++);
    pending_.emplace(command.id(), std::move(done));
  }
  internal::v1::ControlMessage message;
  *message.mutable_command() = command;
  std::string frame = EncodeFrame(message.SerializeAsString());
  std::lock_guard<std::mutex> lock(write_mu_);
  size_t done_bytes = 0;
  while (done_bytes < frame.size()) {
    ssize_t n = ::send(fd_, frame.data() + done_bytes, frame.size() - done_bytes, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // The reader sees the close and fails what is pending.
    done_bytes += static_cast<size_t>(n);
  }
}

void CoreConnection::ReadLoop() {
  FrameDecoder decoder;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    decoder.Append(buf, static_cast<size_t>(n));
    bool corrupt = false;
    while (auto payload = decoder.Next(&corrupt)) {
      internal::v1::CoreMessage message;
      if (!message.ParseFromString(*payload)) continue;
      if (message.has_snapshot()) {
        model_.ApplySnapshot(message.snapshot());
      } else if (message.has_event()) {
        model_.ApplyEvent(message.event());
      } else if (message.has_result()) {
        Done done;
        {
          std::lock_guard<std::mutex> lock(pending_mu_);
          auto it = pending_.find(message.result().id());
          if (it == pending_.end()) continue;
          done = std::move(it->second);
          pending_.erase(it);
        }
        done(message.result());
      }
    }
    if (corrupt) break;
  }
  FailPending();
  if (on_closed_) on_closed_();
}

void CoreConnection::FailPending() {
  std::map<uint64_t, Done> pending;
  {
    std::lock_guard<std::mutex> lock(pending_mu_);
    closed_ = true;
    pending.swap(pending_);
  }
  for (auto& [id, done] : pending) {
    internal::v1::Result r;
    r.set_id(id);
    r.set_code(14);
    r.set_message("the core went away");
    done(r);
  }
}

}  // namespace vigil::control
