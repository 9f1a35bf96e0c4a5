// ServerCall: one gRPC call on vigil-control's asynchronous (completion-queue) API, from the
// moment gRPC hands it over to the moment it is done, as a unary call answered later or as a
// server stream fed through a bounded queue. Either may be completed from any thread (the core
// connection's reader, the liveness watch, the completion queue's thread): other threads reach a
// call only through its Handle, which goes inert once the call is done.
//
// Why not gRPC's callback API: in gRPC 1.51 every callback server polls through "nexting"
// threads that wake up about three times a second each (up to 16 of them, one per two CPUs of
// the host), the main cost of an idle vigil-control (issue 13, docs/performance.md). Here every
// call of a server is served by one thread of ours blocked in ServerCompletionQueue::Next()
// without a deadline (grpc_server.h), and requests arrive on a generic service: the call reads
// its request's bytes itself, so a request that is not protobuf (or whose strings are not UTF-8)
// is answered INVALID_ARGUMENT naming the expected type, and a method the listener does not serve
// UNIMPLEMENTED naming what it serves (error_naming.h), not with gRPC's empty messages.
//
// Events: every operation started on a call (request, read, write, finish, cut-off alarm) and the
// "done" notification come back on the completion queue's thread as OnEvent(op, ok). The call
// deletes itself there once it is done (the client cancelled, or its status was sent) and no
// operation is outstanding; only that thread deletes it. No operation is started once the call
// is done, and at most one write is outstanding: a status decided while a message is being
// written is sent when that write completes.
//
// The stream's queue is bounded (limits.h, StreamBudget): a client that stops reading is never
// buffered for. When a message would take its stream past its budget, or all streams past
// theirs (then the stream furthest behind goes), the stream is cut off: what is queued is dropped,
// the call ends RESOURCE_EXHAUSTED with a message saying why, a `stream_cut_off` line is logged and
// counted. If the client still reads nothing, so that even the status cannot be delivered, the call
// is cancelled after kCutOffGrace (an alarm on the completion queue).
//
// A snapshot goes in as one entry (PushPages): the pages are shared by every stream that sends
// them (ReadModel::SnapshotPages) and bounded by the configuration, so the entry costs only
// kQueuedMessageOverhead; its pages are written one at a time as the client reads. A client that
// reads gets a snapshot of any size; one that does not is cut off by the events queued behind
// it, as before. A new snapshot supersedes the queue: the messages behind the front are dropped
// (the snapshot holds their effect), and pages being written are finished first, so that two
// snapshots' pages never interleave.
//
// Memory ordering: gRPC hands a call's events to the completion queue's thread through its own
// synchronisation. Debian's gRPC is not built with TSan, so that order is invisible to it; each
// call therefore publishes itself explicitly (a release store at the end of construction and
// before each operation is started, an acquire load at the top of every event: `Published`), and
// everything other threads touch (the queue, the flags, `set_on_done`, `set_ticket`) is written
// and read under the handle's lock. That costs one uncontended atomic operation per event and
// makes the order visible to any checker, not only to gRPC.
#pragma once

#include <grpcpp/alarm.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/control/call_gate.h"
#include "agent/control/control_counters.h"
#include "agent/control/limits.h"
#include "agent/control/read_model.h"
#include "agent/control/stream_budget.h"

namespace vigil::control {

// What every stream of the process shares.
struct StreamEnv {
  StreamBudget& budget;
  ControlCounters& counters;
};

// What a completion queue's thread calls with each event (grpc_server.h): every tag put on one
// of vigil-control's queues is a CqTag.
class CqTag {
 public:
  virtual void Proceed(bool ok) = 0;

 protected:
  ~CqTag() = default;
};

class ServerCall;

// Where a server's calls go once their request is read (grpc_server.h).
class CallRouter {
 public:
  virtual ~CallRouter() = default;
  virtual void Route(ServerCall& call) = 0;
  // Calls not done yet: 1 when a call is posted, -1 when it is deleted.
  virtual void CountLive(int delta) = 0;
};

class ServerCall final : public BudgetedStream {
 public:
  struct Handle {
    std::recursive_mutex mu;
    ServerCall* self = nullptr;
  };
  using Pages = ReadModel::Pages;

  // Posts a call waiting for the next request on `cq` (it deletes itself).
  static void Post(grpc::AsyncGenericService* service, grpc::ServerCompletionQueue* cq,
                   CallRouter* router);

  // --- on the completion queue's thread, while the call is routed -------------------------
  const std::string& method() const { return context_.method(); }
  const grpc::ServerContext& context() const { return context_; }
  // Parses the request into `out`; false (and the call finished INVALID_ARGUMENT, naming the
  // expected type) when it is not a valid message of that type.
  bool ParseRequest(google::protobuf::Message* out, const std::vector<std::string>& services);
  std::shared_ptr<Handle> handle() const { return handle_; }
  // Makes the call a server stream of `kind`, queueing within `env`'s budgets.
  void BecomeStream(StreamKind kind, StreamEnv env);
  void set_on_done(std::function<void()> on_done);
  // The listener's place for this call, given back when the call is done.
  void set_ticket(CallGate::TicketPtr ticket);

  // --- from any thread -------------------------------------------------------------------
  // Unary: answers once (false if already answered or done); `fill` writes the response under
  // the lock before an OK answer is sent.
  template <typename Response>
  static bool Complete(const std::shared_ptr<Handle>& h, const grpc::Status& status,
                       const std::function<void(Response*)>& fill = nullptr) {
    Response response;
    return CompleteWith(h, status, [&](grpc::ByteBuffer* out) {
      if (fill) fill(&response);
      return Serialize(response, out);
    });
  }
  // Unary or stream: ends the call with `status` (sent after the message being written).
  static void FinishWith(const std::shared_ptr<Handle>& h, const grpc::Status& status);
  // Stream: queues `message`; with `last`, the stream finishes OK once it is written.
  static void Push(const std::shared_ptr<Handle>& h, const google::protobuf::Message& message,
                   bool last = false);
  // Stream: queues `pages` (not empty) as one entry, in place of every message behind the front.
  static void PushPages(const std::shared_ptr<Handle>& h, Pages pages);

  // A call, once the completion queue has handed its event back.
  void OnEvent(int op, bool ok);

 private:
  enum Op { kRequest, kRead, kWrite, kFinish, kDone, kAlarm, kOps };
  struct Tag final : CqTag {
    ServerCall* call = nullptr;
    int op = 0;
    void Proceed(bool ok) override { call->OnEvent(op, ok); }
  };
  struct Entry {
    grpc::ByteBuffer message;  // unless `pages`:
    Pages pages;               // written one by one, from pages[next]
    size_t next;
    size_t cost;
  };

  ServerCall(grpc::AsyncGenericService* service, grpc::ServerCompletionQueue* cq,
             CallRouter* router);
  ~ServerCall() override = default;

  static bool Serialize(const google::protobuf::Message& message, grpc::ByteBuffer* out);
  static bool CompleteWith(const std::shared_ptr<Handle>& h, const grpc::Status& status,
                           const std::function<bool(grpc::ByteBuffer*)>& fill);

  // Under the handle's lock.
  void Pump();
  void StartFinish(const grpc::Status& status);
  void PopFront();
  void DropBehindFront();
  void CutOff(bool all_streams);
  bool TryCutOff() override;
  void MaybeDelete(std::unique_lock<std::recursive_mutex>& lock);
  void Publish() { published_.fetch_add(1, std::memory_order_release); }
  void Published() const { (void)published_.load(std::memory_order_acquire); }

  std::shared_ptr<Handle> handle_;
  std::atomic<int> published_{0};
  grpc::AsyncGenericService* const service_;
  grpc::ServerCompletionQueue* const cq_;
  CallRouter* const router_;
  grpc::GenericServerContext context_;
  grpc::GenericServerAsyncReaderWriter stream_{&context_};
  grpc::ByteBuffer request_;
  Tag tags_[kOps];
  std::function<void()> on_done_;
  CallGate::TicketPtr ticket_;
  // The stream's part (after BecomeStream).
  StreamKind kind_ = StreamKind::kWatch;
  std::optional<StreamEnv> env_;
  std::deque<Entry> queue_;                    // front: the message being written (or about to be)
  grpc::ByteBuffer writing_;                   // what the write in flight sends
  std::unique_ptr<grpc::Alarm> cancel_alarm_;  // set at a cut-off
  // Operations outstanding, and where the call stands.
  bool reading_ = false;
  bool write_pending_ = false;
  bool finish_pending_ = false;
  bool alarm_pending_ = false;
  bool done_ = false;       // gRPC says the call is over: nothing more is started
  bool finishing_ = false;  // a status is decided: nothing more is queued
  bool finish_after_ = false;
  std::optional<grpc::Status> final_;  // sent once the write in flight completes
};

// Typed helpers for a stream's messages, so that services say what a stream carries.
template <typename T>
struct QueuedWriter {
  using Handle = ServerCall::Handle;
  static void Push(const std::shared_ptr<Handle>& h, const T& message, bool last = false) {
    ServerCall::Push(h, message, last);
  }
  static void FinishWith(const std::shared_ptr<Handle>& h, const grpc::Status& status) {
    ServerCall::FinishWith(h, status);
  }
};

}  // namespace vigil::control
