// Small gRPC callback-API reactors that may be completed from any thread (the core
// connection's reader, a gRPC thread): a write stream fed through a queue, and a unary call
// finished later. Each is owned by gRPC and deletes itself in OnDone(); other threads reach it
// only through its Handle, which goes inert once the call is done.
#pragma once

#include <grpcpp/grpcpp.h>

#include <deque>
#include <functional>
#include <memory>
#include <mutex>

namespace vigil::control {

template <typename T>
class QueuedWriter final : public grpc::ServerWriteReactor<T> {
 public:
  struct Handle {
    std::recursive_mutex mu;
    QueuedWriter* self = nullptr;
  };

  explicit QueuedWriter(std::function<void()> on_done = nullptr)
      : handle_(std::make_shared<Handle>()), on_done_(std::move(on_done)) {
    handle_->self = this;
  }
  std::shared_ptr<Handle> handle() const { return handle_; }
  void set_on_done(std::function<void()> on_done) { on_done_ = std::move(on_done); }

  // Queues `message`; with `last`, the stream finishes OK once it is written.
  static void Push(const std::shared_ptr<Handle>& h, const T& message, bool last = false) {
    std::lock_guard<std::recursive_mutex> lock(h->mu);
    if (h->self == nullptr || h->self->finishing_) return;
    h->self->queue_.push_back(message);
    if (last) h->self->finish_after_ = true;
    h->self->Pump();
  }
  static void FinishWith(const std::shared_ptr<Handle>& h, const grpc::Status& status) {
    std::lock_guard<std::recursive_mutex> lock(h->mu);
    if (h->self == nullptr || h->self->finishing_) return;
    h->self->finishing_ = true;
    h->self->Finish(status);
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::recursive_mutex> lock(handle_->mu);
    writing_ = false;
    if (!ok) {  // The client went away.
      if (!finishing_) {
        finishing_ = true;
        this->Finish(grpc::Status::CANCELLED);
      }
      return;
    }
    queue_.pop_front();
    Pump();
  }
  void OnCancel() override {
    std::lock_guard<std::recursive_mutex> lock(handle_->mu);
    if (!finishing_) {
      finishing_ = true;
      this->Finish(grpc::Status::CANCELLED);
    }
  }
  void OnDone() override {
    {
      std::lock_guard<std::recursive_mutex> lock(handle_->mu);
      handle_->self = nullptr;
    }
    if (on_done_) on_done_();
    delete this;
  }

 private:
  void Pump() {
    if (writing_ || finishing_) return;
    if (queue_.empty()) {
      if (finish_after_) {
        finishing_ = true;
        this->Finish(grpc::Status::OK);
      }
      return;
    }
    writing_ = true;
    this->StartWrite(&queue_.front());
  }

  std::shared_ptr<Handle> handle_;
  std::function<void()> on_done_;
  std::deque<T> queue_;
  bool writing_ = false;
  bool finishing_ = false;
  bool finish_after_ = false;
};

// A unary call answered later, exactly once (by whoever comes first: the result, or the
// client's cancellation / deadline).
class LaterUnary final : public grpc::ServerUnaryReactor {
 public:
  struct Handle {
    std::mutex mu;
    LaterUnary* self = nullptr;
  };
  LaterUnary() : handle_(std::make_shared<Handle>()) { handle_->self = this; }
  std::shared_ptr<Handle> handle() const { return handle_; }
  void set_on_done(std::function<void()> on_done) { on_done_ = std::move(on_done); }

  // `fill` runs under the lock before finishing OK (to write the response).
  static bool Complete(const std::shared_ptr<Handle>& h, const grpc::Status& status,
                       const std::function<void()>& fill = nullptr) {
    std::lock_guard<std::mutex> lock(h->mu);
    if (h->self == nullptr || h->self->finished_) return false;
    h->self->finished_ = true;
    if (fill && status.ok()) fill();
    h->self->Finish(status);
    return true;
  }

  void OnCancel() override {
    std::lock_guard<std::mutex> lock(handle_->mu);
    if (!finished_) {
      finished_ = true;
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled or deadline exceeded"));
    }
  }
  void OnDone() override {
    {
      std::lock_guard<std::mutex> lock(handle_->mu);
      handle_->self = nullptr;
    }
    if (on_done_) on_done_();
    delete this;
  }

 private:
  std::shared_ptr<Handle> handle_;
  std::function<void()> on_done_;
  bool finished_ = false;
};

}  // namespace vigil::control
