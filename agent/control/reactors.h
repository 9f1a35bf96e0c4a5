// Small gRPC callback-API reactors that may be completed from any thread (the core
// connection's reader, a gRPC thread): a write stream fed through a bounded queue, and a unary
// call finished later. Each is owned by gRPC and deletes itself in OnDone(); other threads reach
// it only through its Handle, which goes inert once the call is done.
//
// The stream's queue is bounded (limits.h, StreamBudget): a client that stops reading is never
// buffered for. When a message would take its stream past its budget, or all streams past
// theirs (then the stream furthest behind goes), the stream is cut off: what is queued is dropped,
// the call ends RESOURCE_EXHAUSTED with a message saying why, a `stream_cut_off` line is logged and
// counted. If the client still reads nothing, so that even the status cannot be delivered, the call
// is cancelled after kCutOffGrace.
//
// A snapshot goes in as one entry (PushPages): the pages are shared by every stream that sends
// them (ReadModel::SnapshotPages) and bounded by the configuration, so the entry costs only
// kQueuedMessageOverhead; its pages are written one at a time as the client reads. A client that
// reads gets a snapshot of any size; one that does not is cut off by the events queued behind
// it, as before. A new snapshot supersedes the queue: the messages behind the front are dropped
// (the snapshot holds their effect), and pages being written are finished first, so that two
// snapshots' pages never interleave.
//
// Memory ordering: gRPC runs the callbacks on its own threads, ordered after the reactor's
// construction by gRPC's internal synchronisation. Debian's gRPC is not built with TSan, so that
// order is invisible to it; each reactor therefore publishes itself explicitly (a release store at
// the end of construction, an acquire load at the top of every callback: `Published`), and
// everything set after construction (`set_on_done`, `set_ticket`) is written and read under the
// handle's lock. That costs one uncontended atomic load per callback and makes the order visible
// to any checker, not only to gRPC.
#pragma once

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "agent/control/call_gate.h"
#include "agent/control/control_counters.h"
#include "agent/control/limits.h"
#include "agent/control/stream_budget.h"
#include "agent/log/log.h"

namespace vigil::control {

// What every stream of the process shares.
struct StreamEnv {
  StreamBudget& budget;
  ControlCounters& counters;
};

template <typename T>
class QueuedWriter final : public grpc::ServerWriteReactor<T>, public BudgetedStream {
 public:
  using Pages = std::shared_ptr<const std::vector<T>>;
  struct Handle {
    std::recursive_mutex mu;
    QueuedWriter* self = nullptr;
  };

  QueuedWriter(grpc::CallbackServerContext* context, StreamKind kind, StreamEnv env)
      : handle_(std::make_shared<Handle>()), context_(context), kind_(kind), env_(env) {
    handle_->self = this;
    env_.budget.Register(this);
    published_.store(true, std::memory_order_release);
  }
  std::shared_ptr<Handle> handle() const { return handle_; }
  void set_on_done(std::function<void()> on_done) {
    std::lock_guard<std::recursive_mutex> lock(handle_->mu);
    on_done_ = std::move(on_done);
  }
  // The listener's place for this stream, given back when the call is done.
  void set_ticket(CallGate::TicketPtr ticket) {
    std::lock_guard<std::recursive_mutex> lock(handle_->mu);
    ticket_ = std::move(ticket);
  }

  // Queues `message`; with `last`, the stream finishes OK once it is written.
  static void Push(const std::shared_ptr<Handle>& h, const T& message, bool last = false) {
    std::lock_guard<std::recursive_mutex> lock(h->mu);
    QueuedWriter* self = h->self;
    if (self == nullptr || self->finishing_) return;
    const size_t cost = message.ByteSizeLong() + limits::kQueuedMessageOverhead;
    if (self->queue_.empty()) {
      self->env_.budget.Take(cost);  // The message about to be written: always admitted.
    } else if (self->backlog() + cost > self->env_.budget.per_stream()) {
      self->CutOff(/*all_streams=*/false);
      return;
    } else if (!self->env_.budget.TakeQueued(self, cost)) {
      self->CutOff(/*all_streams=*/true);
      return;
    } else {
      self->queued_bytes_ += cost;
    }
    self->queue_.push_back(Entry{message, nullptr, 0, cost});
    if (last) self->finish_after_ = true;
    self->Pump();
  }
  // Queues `pages` (not empty) as one entry, in place of every message behind the front.
  static void PushPages(const std::shared_ptr<Handle>& h, Pages pages) {
    std::lock_guard<std::recursive_mutex> lock(h->mu);
    QueuedWriter* self = h->self;
    if (self == nullptr || self->finishing_ || !pages || pages->empty()) return;
    self->DropBehindFront();
    const size_t cost = limits::kQueuedMessageOverhead;
    if (self->queue_.empty()) {
      self->env_.budget.Take(cost);
    } else if (!self->env_.budget.TakeQueued(self, cost)) {
      self->CutOff(/*all_streams=*/true);
      return;
    } else {
      self->queued_bytes_ += cost;
    }
    self->queue_.push_back(Entry{T(), std::move(pages), 0, cost});
    self->Pump();
  }
  static void FinishWith(const std::shared_ptr<Handle>& h, const grpc::Status& status) {
    std::lock_guard<std::recursive_mutex> lock(h->mu);
    if (h->self == nullptr || h->self->finishing_) return;
    h->self->finishing_ = true;
    h->self->DropBehindFront();
    h->self->Finish(status);
  }

  void OnWriteDone(bool ok) override {
    Published();
    std::lock_guard<std::recursive_mutex> lock(handle_->mu);
    writing_ = false;
    if (ok && !queue_.empty() && queue_.front().pages &&
        queue_.front().next + 1 < queue_.front().pages->size()) {
      ++queue_.front().next;  // The entry stays at the front until its last page is written.
    } else {
      PopFront();
    }
    if (!ok) {  // The client went away.
      if (!finishing_) {
        finishing_ = true;
        DropBehindFront();
        this->Finish(grpc::Status::CANCELLED);
      }
      return;
    }
    Pump();
  }
  void OnCancel() override {
    Published();
    std::lock_guard<std::recursive_mutex> lock(handle_->mu);
    if (!finishing_) {
      finishing_ = true;
      DropBehindFront();
      this->Finish(grpc::Status::CANCELLED);
    }
  }
  void OnDone() override {
    Published();
    std::function<void()> on_done;
    CallGate::TicketPtr ticket;
    {
      std::lock_guard<std::recursive_mutex> lock(handle_->mu);
      handle_->self = nullptr;
      DropBehindFront();
      if (!queue_.empty()) PopFront();
      on_done = std::move(on_done_);
      ticket = std::move(ticket_);
    }
    env_.budget.Unregister(this);  // After this, no other stream's push can reach this one.
    if (on_done) on_done();
    ticket.reset();
    delete this;  // Cancels the alarm, whose callback then finds the handle inert.
  }

 private:
  struct Entry {
    T message;    // unless `pages`:
    Pages pages;  // written one by one, from pages[next]
    size_t next;
    size_t cost;
    const T& current() const { return pages ? (*pages)[next] : message; }
  };

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
    this->StartWrite(&queue_.front().current());
  }

  bool TryCutOff() override {
    Published();
    std::unique_lock<std::recursive_mutex> lock(handle_->mu, std::try_to_lock);
    if (!lock.owns_lock() || handle_->self == nullptr || finishing_) return false;
    CutOff(/*all_streams=*/true);
    return true;
  }

  void PopFront() {
    if (queue_.empty()) return;
    env_.budget.Give(queue_.front().cost);
    queue_.pop_front();
    if (!queue_.empty()) queued_bytes_ -= queue_.front().cost;  // Now the one being written.
  }

  // Drops every message behind the one being written (gRPC may still hold that one).
  void DropBehindFront() {
    while (queue_.size() > 1) {
      env_.budget.Give(queue_.back().cost);
      queue_.pop_back();
    }
    queued_bytes_ = 0;
  }

  void CutOff(bool all_streams) {
    const size_t messages = queue_.size() - 1;
    const size_t bytes = backlog();
    const size_t limit = all_streams ? env_.budget.total() : env_.budget.per_stream();
    const std::string why = fmt::format(
        "a stream fell too far behind: {} messages ({:.1f} MiB) not yet read by the "
        "client, over the limit of {} MiB {}; call again for a fresh start",
        messages, static_cast<double>(bytes) / (1 << 20), limit >> 20,
        all_streams ? "for all streams together" : "per stream");
    env_.counters.StreamCutOff(kind_);
    log::Event(log::Level::kWarn, "stream_cut_off", why,
               {{"method", StreamMethod(kind_)},
                {"peer", context_->peer()},
                {"messages", messages},
                {"bytes", bytes},
                {"cause", all_streams ? "all_streams" : "stream"}});
    finishing_ = true;
    DropBehindFront();
    this->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, why));
    // If the client reads nothing, not even the status gets through: cancel it in a while.
    cancel_alarm_ = std::make_unique<grpc::Alarm>();
    cancel_alarm_->Set(std::chrono::system_clock::now() + limits::kCutOffGrace,
                       [h = handle_](bool fired) {
                         if (!fired) return;
                         std::lock_guard<std::recursive_mutex> lock(h->mu);
                         if (h->self != nullptr) h->self->context_->TryCancel();
                       });
  }

  void Published() const { (void)published_.load(std::memory_order_acquire); }

  std::shared_ptr<Handle> handle_;
  std::atomic<bool> published_{false};
  grpc::CallbackServerContext* const context_;
  const StreamKind kind_;
  const StreamEnv env_;
  std::function<void()> on_done_;
  CallGate::TicketPtr ticket_;
  std::deque<Entry> queue_;  // front: the message being written (or about to be)
  std::unique_ptr<grpc::Alarm> cancel_alarm_;
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
  LaterUnary() : handle_(std::make_shared<Handle>()) {
    handle_->self = this;
    published_.store(true, std::memory_order_release);
  }
  std::shared_ptr<Handle> handle() const { return handle_; }
  void set_on_done(std::function<void()> on_done) {
    std::lock_guard<std::mutex> lock(handle_->mu);
    on_done_ = std::move(on_done);
  }
  void set_ticket(CallGate::TicketPtr ticket) {
    std::lock_guard<std::mutex> lock(handle_->mu);
    ticket_ = std::move(ticket);
  }

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
    (void)published_.load(std::memory_order_acquire);
    std::lock_guard<std::mutex> lock(handle_->mu);
    if (!finished_) {
      finished_ = true;
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled or deadline exceeded"));
    }
  }
  void OnDone() override {
    (void)published_.load(std::memory_order_acquire);
    std::function<void()> on_done;
    CallGate::TicketPtr ticket;
    {
      std::lock_guard<std::mutex> lock(handle_->mu);
      handle_->self = nullptr;
      on_done = std::move(on_done_);
      ticket = std::move(ticket_);
    }
    if (on_done) on_done();
    ticket.reset();
    delete this;
  }

 private:
  std::shared_ptr<Handle> handle_;
  std::atomic<bool> published_{false};
  std::function<void()> on_done_;
  CallGate::TicketPtr ticket_;
  bool finished_ = false;
};

}  // namespace vigil::control
