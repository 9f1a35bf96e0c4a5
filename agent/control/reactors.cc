#include "agent/control/reactors.h"

#include <grpcpp/impl/codegen/proto_utils.h>

#include <chrono>

#include <fmt/format.h>

#include "agent/control/error_naming.h"
#include "agent/log/log.h"

namespace vigil::control {

void ServerCall::Post(grpc::AsyncGenericService* service, grpc::ServerCompletionQueue* cq,
                      CallRouter* router) {
  router->CountLive(1);
  new ServerCall(service, cq, router);
}

ServerCall::ServerCall(grpc::AsyncGenericService* service, grpc::ServerCompletionQueue* cq,
                       CallRouter* router)
    : handle_(std::make_shared<Handle>()), service_(service), cq_(cq), router_(router) {
  handle_->self = this;
  for (int op = 0; op < kOps; ++op) {
    tags_[op].call = this;
    tags_[op].op = op;
  }
  // Before the request: gRPC delivers the done tag only for a call that started.
  context_.AsyncNotifyWhenDone(&tags_[kDone]);
  Publish();
  service_->RequestCall(&context_, &stream_, cq_, cq_, &tags_[kRequest]);
}

bool ServerCall::Serialize(const google::protobuf::Message& message, grpc::ByteBuffer* out) {
  bool own = false;
  return grpc::SerializationTraits<google::protobuf::Message>::Serialize(message, out, &own).ok();
}

void ServerCall::OnEvent(int op, bool ok) {
  Published();
  std::unique_lock<std::recursive_mutex> lock(handle_->mu);
  switch (op) {
    case kRequest:
      if (!ok) {  // The server is shutting down: no call, no done tag.
        handle_->self = nullptr;
        lock.unlock();
        router_->CountLive(-1);
        delete this;
        return;
      }
      ServerCall::Post(service_, cq_, router_);  // The next request, before serving this one.
      reading_ = true;
      Publish();
      stream_.Read(&request_, &tags_[kRead]);
      return;
    case kRead:
      reading_ = false;
      if (done_) break;
      if (!ok) {  // Half-closed without a request, or gone.
        StartFinish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 "malformed request: no request message"));
        return;
      }
      lock.unlock();  // The services take the lock through the handle.
      router_->Route(*this);
      return;  // Only this thread deletes the call: it is still there.
    case kWrite:
      write_pending_ = false;
      if (ok && !queue_.empty() && queue_.front().pages &&
          queue_.front().next + 1 < queue_.front().pages->size()) {
        ++queue_.front().next;  // The entry stays at the front until its last page is written.
      } else {
        PopFront();
      }
      if (!ok && !finishing_) {  // The client went away: nothing more to send.
        finishing_ = true;
        DropBehindFront();
      }
      if (final_ && !done_) {
        const grpc::Status status = *final_;
        final_.reset();
        StartFinish(status);
      } else {
        Pump();
      }
      break;
    case kFinish:
      finish_pending_ = false;
      break;
    case kDone:
      done_ = true;
      finishing_ = true;
      final_.reset();
      DropBehindFront();
      if (alarm_pending_) cancel_alarm_->Cancel();  // Its tag comes back, not fired.
      break;
    case kAlarm:
      alarm_pending_ = false;
      if (ok && !done_) context_.TryCancel();  // The client read nothing, not even the status.
      break;
    default:
      break;
  }
  MaybeDelete(lock);
}

void ServerCall::MaybeDelete(std::unique_lock<std::recursive_mutex>& lock) {
  if (!done_ || reading_ || write_pending_ || finish_pending_ || alarm_pending_) return;
  handle_->self = nullptr;
  if (!queue_.empty()) PopFront();
  std::function<void()> on_done = std::move(on_done_);
  CallGate::TicketPtr ticket = std::move(ticket_);
  const bool stream = env_.has_value();
  lock.unlock();
  if (stream) env_->budget.Unregister(this);  // After this, no other stream reaches this one.
  if (on_done) on_done();
  ticket.reset();
  CallRouter* router = router_;
  delete this;
  router->CountLive(-1);
}

bool ServerCall::ParseRequest(google::protobuf::Message* out,
                              const std::vector<std::string>& services) {
  if (grpc::SerializationTraits<google::protobuf::Message>::Deserialize(&request_, out).ok()) {
    return true;
  }
  FinishWith(handle_, NameEmptyUnimplemented(method(), services));
  return false;
}

void ServerCall::BecomeStream(StreamKind kind, StreamEnv env) {
  std::lock_guard<std::recursive_mutex> lock(handle_->mu);
  kind_ = kind;
  env_.emplace(env);
  env.budget.Register(this);
}

void ServerCall::set_on_done(std::function<void()> on_done) {
  std::lock_guard<std::recursive_mutex> lock(handle_->mu);
  on_done_ = std::move(on_done);
}

void ServerCall::set_ticket(CallGate::TicketPtr ticket) {
  std::lock_guard<std::recursive_mutex> lock(handle_->mu);
  ticket_ = std::move(ticket);
}

bool ServerCall::CompleteWith(const std::shared_ptr<Handle>& h, const grpc::Status& status,
                              const std::function<bool(grpc::ByteBuffer*)>& fill) {
  std::lock_guard<std::recursive_mutex> lock(h->mu);
  ServerCall* self = h->self;
  if (self == nullptr || self->finishing_) return false;
  self->finishing_ = true;
  if (!status.ok()) {
    self->StartFinish(status);
    return true;
  }
  if (!fill(&self->writing_)) {
    self->StartFinish(grpc::Status(grpc::StatusCode::INTERNAL, "cannot serialize the answer"));
    return true;
  }
  self->finish_pending_ = true;
  self->Publish();
  self->stream_.WriteAndFinish(self->writing_, grpc::WriteOptions(), grpc::Status::OK,
                               &self->tags_[kFinish]);
  return true;
}

void ServerCall::FinishWith(const std::shared_ptr<Handle>& h, const grpc::Status& status) {
  std::lock_guard<std::recursive_mutex> lock(h->mu);
  ServerCall* self = h->self;
  if (self == nullptr || self->finishing_) return;
  self->finishing_ = true;
  self->DropBehindFront();
  self->StartFinish(status);
}

void ServerCall::StartFinish(const grpc::Status& status) {
  finishing_ = true;
  if (done_ || finish_pending_) return;
  if (write_pending_) {  // One operation of a kind at a time: after the write in flight.
    final_ = status;
    return;
  }
  finish_pending_ = true;
  Publish();
  stream_.Finish(status, &tags_[kFinish]);
}

void ServerCall::Push(const std::shared_ptr<Handle>& h, const google::protobuf::Message& message,
                      bool last) {
  std::lock_guard<std::recursive_mutex> lock(h->mu);
  ServerCall* self = h->self;
  if (self == nullptr || self->finishing_ || !self->env_) return;
  const size_t cost = message.ByteSizeLong() + limits::kQueuedMessageOverhead;
  StreamBudget& budget = self->env_->budget;
  if (self->queue_.empty()) {
    budget.Take(cost);  // The message about to be written: always admitted.
  } else if (self->backlog() + cost > budget.per_stream()) {
    self->CutOff(/*all_streams=*/false);
    return;
  } else if (!budget.TakeQueued(self, cost)) {
    self->CutOff(/*all_streams=*/true);
    return;
  } else {
    self->queued_bytes_ += cost;
  }
  Entry entry{grpc::ByteBuffer(), nullptr, 0, cost};
  if (!Serialize(message, &entry.message)) {
    budget.Give(cost);
    if (!self->queue_.empty()) self->queued_bytes_ -= cost;
    return;
  }
  self->queue_.push_back(std::move(entry));
  if (last) self->finish_after_ = true;
  self->Pump();
}

void ServerCall::PushPages(const std::shared_ptr<Handle>& h, Pages pages) {
  std::lock_guard<std::recursive_mutex> lock(h->mu);
  ServerCall* self = h->self;
  if (self == nullptr || self->finishing_ || !self->env_ || !pages || pages->empty()) return;
  self->DropBehindFront();
  const size_t cost = limits::kQueuedMessageOverhead;
  if (self->queue_.empty()) {
    self->env_->budget.Take(cost);
  } else if (!self->env_->budget.TakeQueued(self, cost)) {
    self->CutOff(/*all_streams=*/true);
    return;
  } else {
    self->queued_bytes_ += cost;
  }
  self->queue_.push_back(Entry{grpc::ByteBuffer(), std::move(pages), 0, cost});
  self->Pump();
}

void ServerCall::Pump() {
  if (write_pending_ || done_) return;
  if (finishing_) {
    if (final_) {
      const grpc::Status status = *final_;
      final_.reset();
      StartFinish(status);
    }
    return;
  }
  if (queue_.empty()) {
    if (finish_after_) StartFinish(grpc::Status::OK);
    return;
  }
  Entry& front = queue_.front();
  writing_.Clear();  // gRPC serializes only into an empty buffer.
  if (front.pages) {
    if (!Serialize((*front.pages)[front.next], &writing_)) {
      FinishWith(handle_, grpc::Status(grpc::StatusCode::INTERNAL, "cannot serialize an event"));
      return;
    }
  } else {
    writing_ = front.message;  // Shares the slices: no copy.
  }
  write_pending_ = true;
  Publish();
  stream_.Write(writing_, &tags_[kWrite]);
}

bool ServerCall::TryCutOff() {
  Published();
  std::unique_lock<std::recursive_mutex> lock(handle_->mu, std::try_to_lock);
  if (!lock.owns_lock() || handle_->self == nullptr || finishing_) return false;
  CutOff(/*all_streams=*/true);
  return true;
}

void ServerCall::PopFront() {
  if (queue_.empty()) return;
  env_->budget.Give(queue_.front().cost);
  queue_.pop_front();
  if (!queue_.empty()) queued_bytes_ -= queue_.front().cost;  // Now the one being written.
}

// Drops every message behind the one being written (gRPC may still hold that one).
void ServerCall::DropBehindFront() {
  while (queue_.size() > 1) {
    env_->budget.Give(queue_.back().cost);
    queue_.pop_back();
  }
  queued_bytes_ = 0;
}

void ServerCall::CutOff(bool all_streams) {
  const size_t messages = queue_.size() - 1;
  const size_t bytes = backlog();
  const size_t limit = all_streams ? env_->budget.total() : env_->budget.per_stream();
  const std::string why = fmt::format(
      "a stream fell too far behind: {} messages ({:.1f} MiB) not yet read by the "
      "client, over the limit of {} MiB {}; call again for a fresh start",
      messages, static_cast<double>(bytes) / (1 << 20), limit >> 20,
      all_streams ? "for all streams together" : "per stream");
  env_->counters.StreamCutOff(kind_);
  log::Event(log::Level::kWarn, "stream_cut_off", why,
             {{"method", StreamMethod(kind_)},
              {"peer", context_.peer()},
              {"messages", messages},
              {"bytes", bytes},
              {"cause", all_streams ? "all_streams" : "stream"}});
  DropBehindFront();
  StartFinish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, why));
  // If the client reads nothing, not even the status gets through: cancel it in a while.
  if (!done_ && !alarm_pending_) {
    alarm_pending_ = true;
    cancel_alarm_ = std::make_unique<grpc::Alarm>();
    Publish();
    cancel_alarm_->Set(cq_, std::chrono::system_clock::now() + limits::kCutOffGrace,
                       &tags_[kAlarm]);
  }
}

}  // namespace vigil::control
