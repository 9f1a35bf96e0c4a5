#include "agent/control/grpc_runtime.h"

#include <pthread.h>
#include <unistd.h>

#include <grpc/grpc.h>
#include <grpcpp/server_posix.h>

#include "agent/control/limits.h"
#include "agent/log/log.h"

namespace vigil::control {
namespace {

using SteadyClock = std::chrono::steady_clock;

// What every gRPC listener is held to (limits.h): request size, streams per connection, idle
// connections, dead TCP peers, the TCP ports' memory. The time to the HTTP/2 preface is the
// front door's (grpc_front_door.h). `quota` (TCP ports only): the memory its connections'
// buffers may take; under pressure gRPC shrinks them and closes idle connections first.
void Harden(grpc::ServerBuilder& b, grpc::ResourceQuota* quota) {
  using std::chrono::milliseconds;
  b.SetMaxReceiveMessageSize(limits::kMaxRequestBytes);
  b.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, limits::kStreamsPerConnection);
  b.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                       static_cast<int>(milliseconds(limits::kGrpcMaxIdle).count()));
  if (quota != nullptr) {  // TCP: a peer that vanished without a FIN is found by keepalive pings.
    b.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60000);
    b.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
    b.SetResourceQuota(*quota);
  }
}

}  // namespace

GrpcRuntime::GrpcRuntime(std::vector<ServerSpec> specs, std::chrono::milliseconds idle_linger)
    : specs_(std::move(specs)), idle_linger_(idle_linger) {}

GrpcRuntime::~GrpcRuntime() {
  Stop(std::chrono::system_clock::now());
}

bool GrpcRuntime::up() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_ == State::kUp;
}

void GrpcRuntime::HandOver(Listener listener, int fd) {
  {
    std::lock_guard<std::mutex> count(count_mu_);
    ++open_;  // Ended() comes for it whatever happens below.
  }
  std::unique_lock<std::mutex> lock(mu_);
  down_.wait(lock, [this] { return state_ != State::kStopping; });
  if (stopped_ || (state_ == State::kDown && !StartLocked())) {
    ::close(fd);
    return;
  }
  GrpcServer* server = nullptr;
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (specs_[i].listener == listener) server = servers_[i].get();
  }
  if (server == nullptr) {  // Its server failed to start (logged then).
    ::close(fd);
    return;
  }
  // Under mu_, so that gRPC cannot go down under it; it waits on no thread of ours.
  grpc::AddInsecureChannelFromFd(server->server(), fd);
}

bool GrpcRuntime::StartLocked() {
  const auto started = SteadyClock::now();
  if (linger_.joinable()) linger_.join();  // The last cycle's: done once state_ went kDown.
  grpc_init();  // Ours, so that the last reference (grpc_shutdown_blocking) is dropped by us.
  int up = 0;
  for (const ServerSpec& spec : specs_) {
    std::unique_ptr<grpc::ResourceQuota> quota;
    if (spec.quota_bytes != 0) {
      quota = std::make_unique<grpc::ResourceQuota>(spec.thread_name);
      quota->Resize(spec.quota_bytes);
    }
    grpc::ServerBuilder builder;  // No port: the front doors accept (grpc_front_door.h).
    Harden(builder, quota.get());
    auto server = GrpcServer::Start(builder, spec.services, spec.thread_name,
                                    [this](int delta) { OnLive(delta); });
    if (server) {
      ++up;
    } else {
      log::Error("cannot start the gRPC server of the {}", ListenerName(spec.listener));
    }
    servers_.push_back(std::move(server));
    quotas_.push_back(std::move(quota));
  }
  if (up == 0) {
    servers_.clear();
    quotas_.clear();
    grpc_shutdown_blocking();
    return false;
  }
  {
    std::lock_guard<std::mutex> count(count_mu_);
    posted_ = up;
    idle_since_ = SteadyClock::now();
  }
  state_ = State::kUp;
  linger_ = std::thread([this] {
    ::pthread_setname_np(::pthread_self(), "grpc-linger");
    Linger();
  });
  log::Debug(
      "gRPC up in {} us",
      std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - started).count());
  return true;
}

void GrpcRuntime::OnLive(int delta) {
  std::lock_guard<std::mutex> count(count_mu_);
  live_ += delta;
  if (delta < 0) NoteIfIdle();  // The last call in flight may have ended.
}

void GrpcRuntime::Ended() {
  std::lock_guard<std::mutex> count(count_mu_);
  --open_;
  NoteIfIdle();  // The last connection may have ended.
}

void GrpcRuntime::NoteIfIdle() {
  if (!Idle()) return;
  idle_since_ = SteadyClock::now();
  idle_.notify_all();
}

bool GrpcRuntime::Idle() const {
  return live_ <= posted_ && open_ <= 0;
}

bool GrpcRuntime::IdleLongEnough(SteadyClock::time_point now) const {
  return Idle() && now - idle_since_ >= idle_linger_;
}

void GrpcRuntime::Linger() {
  std::unique_lock<std::mutex> count(count_mu_);
  for (;;) {
    if (quit_linger_) return;
    if (!Idle()) {  // Nothing to time until the last connection or call ends.
      idle_.wait(count);
      continue;
    }
    const SteadyClock::time_point due = idle_since_ + idle_linger_;
    if (SteadyClock::now() < due) {  // One deadline, moved only by activity.
      idle_.wait_until(count, due);
      continue;
    }
    // Idle long enough: take the cycle (mu_ before count_mu_) and look again, since a
    // connection may have been handed over meanwhile.
    count.unlock();
    std::unique_lock<std::mutex> lock(mu_);
    count.lock();
    if (quit_linger_) return;
    if (!IdleLongEnough(SteadyClock::now())) continue;
    state_ = State::kStopping;
    count.unlock();
    lock.unlock();
    // No call is in flight: one that races in now gets a second to finish.
    TearDown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    lock.lock();
    state_ = State::kDown;
    lock.unlock();
    down_.notify_all();
    return;
  }
}

void GrpcRuntime::TearDown(std::chrono::system_clock::time_point deadline) {
  const auto started = SteadyClock::now();
  for (auto& server : servers_) {
    if (server) server->Shutdown(deadline);  // Queues drained, threads joined.
  }
  servers_.clear();
  quotas_.clear();
  {
    std::lock_guard<std::mutex> count(count_mu_);
    live_ = 0;
    posted_ = 0;
  }
  // From our own thread, with every grpc++ object gone: gRPC's threads (executors, both timer
  // managers, the event engine's) are joined, and the process makes no wake-up of gRPC's.
  grpc_shutdown_blocking();
  log::Debug(
      "gRPC down in {} us",
      std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - started).count());
}

void GrpcRuntime::Stop(std::chrono::system_clock::time_point deadline) {
  {
    std::lock_guard<std::mutex> count(count_mu_);
    quit_linger_ = true;
  }
  idle_.notify_all();
  std::thread linger;
  {
    std::unique_lock<std::mutex> lock(mu_);
    down_.wait(lock, [this] { return state_ != State::kStopping; });
    if (stopped_) return;
    stopped_ = true;
    linger = std::move(linger_);
  }
  // Joined without mu_, which it may be waiting for: it then sees quit_linger_ and returns.
  if (linger.joinable()) linger.join();
  std::unique_lock<std::mutex> lock(mu_);
  if (state_ != State::kUp) return;
  state_ = State::kStopping;
  lock.unlock();
  TearDown(deadline);
  lock.lock();
  state_ = State::kDown;
  lock.unlock();
  down_.notify_all();
}

}  // namespace vigil::control
