#include "client/vigil_client.h"

#include <algorithm>
#include <thread>

namespace vigil::client {

namespace {

// The agent is local (a unix socket, or an address in the same pod), and wait-ready and
// drain --wait start before it serves (a container's first instant, a restarting
// vigil-control): retry every 50 ms growing to 1 s, not gRPC's default 1 s growing to 120 s,
// which left wait-ready up to a second behind the agent's readiness.
grpc::ChannelArguments LocalAgentArguments() {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return args;
}

}  // namespace

VigilClient::VigilClient(const Endpoint& endpoint)
    : endpoint_(endpoint),
      channel_(grpc::CreateCustomChannel(endpoint.target, grpc::InsecureChannelCredentials(),
                                         LocalAgentArguments())),
      lifecycle_(v1::Lifecycle::NewStub(channel_)),
      health_(grpc::health::v1::Health::NewStub(channel_)) {}

void VigilClient::Prepare(grpc::ClientContext* context, std::chrono::milliseconds timeout,
                          bool wait_for_ready) const {
  context->set_deadline(std::chrono::system_clock::now() + timeout);
  context->set_wait_for_ready(wait_for_ready);
  if (!endpoint_.token.empty()) context->AddMetadata("authorization", "Bearer " + endpoint_.token);
}

grpc::Status VigilClient::GetStatus(v1::AgentStatus* status, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  v1::GetStatusRequest request;
  status->Clear();
  for (bool first = true;; first = false) {
    grpc::ClientContext context;
    Prepare(&context, std::max(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   deadline - std::chrono::steady_clock::now()),
                               std::chrono::milliseconds(1)));
    v1::GetStatusResponse response;
    grpc::Status s = lifecycle_->GetStatus(&context, request, &response);
    if (!s.ok()) return s;
    v1::AgentStatus* page = response.mutable_status();
    if (first) {
      status->Swap(page);
    } else {
      // The agent's state as of the last page; pools appended, a cut pool continued.
      status->set_phase(page->phase());
      status->set_ready(page->ready());
      if (page->has_drain()) *status->mutable_drain() = page->drain();
      for (v1::Pool& pool : *page->mutable_pools()) {
        const int n = status->pools_size();
        if (n > 0 && status->pools(n - 1).name() == pool.name()) {
          // The pool goes on: these workers after the others, and its latest counts.
          v1::Pool* last = status->mutable_pools(n - 1);
          for (v1::Worker& w : *pool.mutable_workers())
            last->add_workers()->Swap(&w);
          pool.clear_workers();
          pool.mutable_workers()->Swap(last->mutable_workers());
          last->Swap(&pool);
        } else {
          status->add_pools()->Swap(&pool);
        }
      }
    }
    if (response.next_page_token().empty()) return grpc::Status::OK;
    request.set_page_token(response.next_page_token());
  }
}

grpc::Status VigilClient::Drain(const v1::DrainRequest& request, v1::DrainProgress* progress,
                                std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    grpc::ClientContext context;
    Prepare(&context, std::max(left, std::chrono::milliseconds(1)),
            /*wait_for_ready=*/request.wait());
    v1::DrainResponse response;
    grpc::Status s = lifecycle_->Drain(&context, request, &response);
    if (s.ok()) *progress = response.progress();
    // A waiting drain cut off by a restart of vigil-control is asked again: a second Drain
    // joins the one in progress (or finds it complete), so repeating it is safe.
    const bool cut_off = s.error_code() == grpc::StatusCode::UNAVAILABLE ||
                         s.error_code() == grpc::StatusCode::UNKNOWN ||
                         s.error_code() == grpc::StatusCode::CANCELLED;
    if (!request.wait() || !cut_off || std::chrono::steady_clock::now() >= deadline) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // Let it come back up.
  }
}

grpc::Status VigilClient::Scale(const std::string& pool, int replicas, v1::Pool* result,
                                std::chrono::milliseconds timeout) {
  grpc::ClientContext context;
  Prepare(&context, timeout);
  v1::ScaleRequest request;
  request.set_pool(pool);
  request.set_replicas(replicas);
  v1::ScaleResponse response;
  grpc::Status s = lifecycle_->Scale(&context, request, &response);
  if (s.ok() && result != nullptr) *result = response.pool();
  return s;
}

grpc::Status VigilClient::Restart(const std::string& pool, int max_unavailable,
                                  std::chrono::milliseconds timeout) {
  grpc::ClientContext context;
  Prepare(&context, timeout);
  v1::RestartRequest request;
  request.set_pool(pool);
  request.set_max_unavailable(max_unavailable);
  v1::RestartResponse response;
  return lifecycle_->Restart(&context, request, &response);
}

grpc::Status VigilClient::Signal(const std::string& pool, int slot, const std::string& signal,
                                 int* signalled, std::chrono::milliseconds timeout) {
  grpc::ClientContext context;
  Prepare(&context, timeout);
  v1::SignalRequest request;
  request.set_pool(pool);
  request.set_slot(slot);
  request.set_signal(signal);
  v1::SignalResponse response;
  grpc::Status s = lifecycle_->Signal(&context, request, &response);
  if (s.ok() && signalled != nullptr) *signalled = response.workers_signalled();
  return s;
}

grpc::Status VigilClient::Shutdown(const std::string& reason, std::chrono::milliseconds timeout) {
  grpc::ClientContext context;
  Prepare(&context, timeout);
  v1::ShutdownRequest request;
  request.set_reason(reason);
  v1::ShutdownResponse response;
  return lifecycle_->Shutdown(&context, request, &response);
}

grpc::Status VigilClient::Health(const std::string& service, bool* serving,
                                 std::chrono::milliseconds timeout) {
  grpc::ClientContext context;
  Prepare(&context, timeout);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status s = health_->Check(&context, request, &response);
  if (s.ok()) *serving = response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
  return s;
}

grpc::Status VigilClient::Watch(const std::function<bool(const v1::Event&)>& on_event,
                                std::chrono::milliseconds timeout) {
  grpc::ClientContext context;
  Prepare(&context, timeout, /*wait_for_ready=*/true);
  auto reader = lifecycle_->Watch(&context, v1::WatchRequest());
  v1::Event event;
  while (reader->Read(&event)) {
    if (!on_event(event)) {
      context.TryCancel();
      break;
    }
  }
  grpc::Status s = reader->Finish();
  return s.error_code() == grpc::StatusCode::CANCELLED ? grpc::Status::OK : s;
}

}  // namespace vigil::client
