// ControlCounters: what vigil-control counts about its own clients (the core counts everything
// else): streams cut off because their client fell behind, calls refused at a listener's limit,
// connections closed for misbehaving, and the streams and HTTP connections open right now.
// Every label takes its values from a closed set (the enums below), so the series are bounded.
// Thread-safe (atomics): gRPC threads, HTTP loops and the scrape thread all touch it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

#include <prometheus/metric_family.h>

namespace vigil::control {

// vigil-control's listeners.
enum class Listener { kUnix, kHealth, kApi, kMetrics, kHttp };
inline constexpr int kListenerCount = 5;
const char* ListenerName(Listener l);  // "unix", "health", "api", "metrics", "http"

// The server-streaming calls.
enum class StreamKind { kWatch, kDrainStream, kHealthWatch };
inline constexpr int kStreamKindCount = 3;
const char* StreamMethod(StreamKind k);  // "/vigil.v1.Lifecycle/Watch", ...

// Why a gRPC call was refused before it started.
enum class RefusedCall { kStreamLimit, kPendingLimit };
inline constexpr int kRefusedCallCount = 2;

// Why vigil-control closed a TCP connection before (or instead of) serving it: on the HTTP
// listeners, and at the gRPC TCP ports' front door (grpc_front_door.h).
enum class ConnClose {
  kHeaderTimeout,   // no complete request header (HTTP: 408) or HTTP/2 preface in time
  kHeaderTooLarge,  // request header over the limit (HTTP: 431)
  kBadRequest,      // not HTTP (400), or not HTTP/2 on a gRPC port
  kWriteTimeout,    // the client did not read the answer in time
  kEvicted,         // the listener was full: the oldest connection still sending its header
  kRefused,         // the listener was full of connections that could not be evicted
};
inline constexpr int kConnCloseCount = 6;
const char* ConnCloseName(ConnClose c);

class ControlCounters {
 public:
  void StreamCutOff(StreamKind k) { Add(&cut_off_[Index(k)]); }
  void CallRefused(Listener l, RefusedCall r) {
    Add(&refused_[Index(l) * kRefusedCallCount + Index(r)]);
  }
  void ConnClosed(Listener l, ConnClose c) { Add(&closed_[Index(l) * kConnCloseCount + Index(c)]); }
  void StreamOpened(Listener l) { Add(&streams_[Index(l)]); }
  void StreamClosed(Listener l) { streams_[Index(l)].fetch_sub(1, std::memory_order_relaxed); }
  void ConnectionOpened(Listener l) { Add(&connections_[Index(l)]); }
  void ConnectionClosed(Listener l) {
    connections_[Index(l)].fetch_sub(1, std::memory_order_relaxed);
  }

  uint64_t cut_off(StreamKind k) const { return cut_off_[Index(k)].load(); }
  int64_t streams(Listener l) const { return streams_[Index(l)].load(); }

  // vigil_control_* and vigil_http_* families, appended to `out`.
  void AddFamilies(std::vector<prometheus::MetricFamily>* out) const;

 private:
  template <typename E>
  static size_t Index(E e) {
    return static_cast<size_t>(e);
  }
  template <typename A>
  static void Add(A* a) {
    a->fetch_add(1, std::memory_order_relaxed);
  }

  std::array<std::atomic<uint64_t>, kStreamKindCount> cut_off_{};
  std::array<std::atomic<uint64_t>, kListenerCount * kRefusedCallCount> refused_{};
  std::array<std::atomic<uint64_t>, kListenerCount * kConnCloseCount> closed_{};
  std::array<std::atomic<int64_t>, kListenerCount> streams_{};
  std::array<std::atomic<int64_t>, kListenerCount> connections_{};
};

}  // namespace vigil::control
