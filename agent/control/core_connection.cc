#include "agent/control/core_connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <grpcpp/support/status.h>

#include "agent/log/log.h"

namespace vigil::control {
namespace {

internal::v1::Result Failure(uint64_t id, grpc::StatusCode code, const std::string& message) {
  internal::v1::Result r;
  r.set_id(id);
  r.set_code(code);
  r.set_message(message);
  return r;
}

}  // namespace

CoreConnection::CoreConnection(int fd, ReadModel& model, std::function<void()> on_closed)
    : fd_(fd), model_(model), on_closed_(std::move(on_closed)) {}

CoreConnection::~CoreConnection() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  writable_.notify_all();
  ::shutdown(fd_, SHUT_RDWR);  // Wakes the reader and a writer blocked in send().
  if (reader_.joinable()) reader_.join();
  if (writer_.joinable()) writer_.join();
  ::close(fd_);
}

void CoreConnection::Start() {
  reader_ = std::thread([this] { ReadLoop(); });
  writer_ = std::thread([this] { WriteLoop(); });
}

std::string CoreConnection::close_reason() const {
  std::lock_guard<std::mutex> lock(mu_);
  return close_reason_;
}

void CoreConnection::Send(internal::v1::Command command, Done done) {
  internal::v1::Result refused;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) {
      refused = Failure(0, grpc::StatusCode::UNAVAILABLE, "the core is not connected");
    } else if (pending_.size() >= kMaxPendingCommands) {
      refused = Failure(0, grpc::StatusCode::RESOURCE_EXHAUSTED,
                        "the core is not answering: " + std::to_string(pending_.size()) +
                            " commands are waiting for it");
    } else {
      command.set_id(next_id_++);
      internal::v1::ControlMessage message;
      *message.mutable_command() = std::move(command);
      std::string frame = EncodeFrame(message.SerializeAsString());
      if (frame.size() - 4 > kMaxFrame) {
        refused = Failure(0, grpc::StatusCode::INVALID_ARGUMENT,
                          "the request is too large for the core (" + std::to_string(frame.size()) +
                              " bytes, at most " + std::to_string(kMaxFrame) + ")");
      } else if (out_bytes_ + frame.size() > kMaxFrame) {
        refused = Failure(0, grpc::StatusCode::RESOURCE_EXHAUSTED,
                          "the core is not reading its commands (" + std::to_string(out_bytes_) +
                              " bytes waiting)");
      } else {
        pending_.emplace(message.command().id(), std::move(done));
        out_bytes_ += frame.size();
        out_.push_back(std::move(frame));
        writable_.notify_one();
        return;
      }
    }
  }
  done(refused);  // Outside the lock: `done` may send again.
}

void CoreConnection::WriteLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    writable_.wait(lock, [this] { return closed_ || !out_.empty(); });
    if (closed_) return;
    std::string frame = std::move(out_.front());
    out_.pop_front();
    lock.unlock();
    size_t written = 0;
    bool failed = false;
    while (written < frame.size()) {
      ssize_t n = ::send(fd_, frame.data() + written, frame.size() - written, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        failed = true;  // The reader sees the close and fails what is pending.
        break;
      }
      written += static_cast<size_t>(n);
    }
    lock.lock();
    if (closed_ || failed) return;  // Close() emptied the queue and its count.
    out_bytes_ -= frame.size();
  }
}

void CoreConnection::ReadLoop() {
  FrameDecoder decoder;
  char buf[65536];
  std::string reason = "the core closed the connection";
  for (;;) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) reason = std::string("reading from the core: ") + std::strerror(errno);
    if (n <= 0) break;
    decoder.Append(buf, static_cast<size_t>(n));
    bool corrupt = false;
    std::string error;
    while (auto payload = decoder.Next(&corrupt)) {
      if (!Handle(*payload, &error)) break;
    }
    if (corrupt) error = decoder.error();
    if (!error.empty()) {
      reason = "protocol error: " + error;
      log::Event(log::Level::kError, "control_protocol_error",
                 "the core sent " + error +
                     "; closing the connection (the core restarts "
                     "vigil-control with a fresh snapshot)",
                 {});
      break;
    }
  }
  Close(reason);
  if (on_closed_) on_closed_();
}

bool CoreConnection::Handle(const std::string& payload, std::string* error) {
  internal::v1::CoreMessage message;
  if (!message.ParseFromString(payload)) {
    *error = "a frame that is not a CoreMessage (" + std::to_string(payload.size()) + " bytes)";
    return false;
  }
  if (message.has_options()) {  // main() read the first frame: options come only there.
    *error = "options after the first frame";
    return false;
  }
  if (on_frame_) on_frame_();
  if (message.has_snapshot()) {
    model_.ApplySnapshot(message.snapshot());
  } else if (message.has_event()) {
    model_.ApplyEvent(message.event());
  } else if (message.has_result()) {
    const internal::v1::Result& part = message.result();
    internal::v1::Result whole;
    if (auto it = partial_.find(part.id()); it != partial_.end()) {
      whole = std::move(it->second);
      partial_.erase(it);
      for (const auto& family : part.metrics()) {
        // A family cut by the end of a part goes on, under its name, in the next one.
        const int n = whole.metrics_size();
        if (n > 0 && whole.metrics(n - 1).name() == family.name()) {
          for (const auto& metric : family.metrics())
            *whole.mutable_metrics(n - 1)->add_metrics() = metric;
        } else {
          *whole.add_metrics() = family;
        }
      }
    } else {
      whole = part;
    }
    if (part.more()) {
      partial_[part.id()] = std::move(whole);
      return true;
    }
    whole.set_more(false);
    Done done;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = pending_.find(whole.id());
      if (it == pending_.end()) return true;  // Failed already (never: kept for safety).
      done = std::move(it->second);
      pending_.erase(it);
    }
    done(whole);
  }
  return true;
}

void CoreConnection::Close(const std::string& reason) {
  std::map<uint64_t, Done> pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    if (close_reason_.empty()) close_reason_ = reason;
    pending.swap(pending_);
    out_.clear();
    out_bytes_ = 0;
  }
  writable_.notify_all();
  for (auto& [id, done] : pending)
    done(Failure(id, grpc::StatusCode::UNAVAILABLE, "the core went away"));
}

}  // namespace vigil::control
