// The limits vigil-control holds its clients to, in one place (docs/control.md, "Limits"). A
// client that goes past one gets an error naming it; none of them can cost vigil-control more
// than the memory and threads these bound, and none of them ever reaches the core.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "agent/config/config.h"

namespace vigil::control::limits {

// --- gRPC requests --------------------------------------------------------------------------
// The largest request accepted: requests are a few short fields (the longest, a reason, is
// 1 KiB at most). Bigger ones are refused by gRPC with RESOURCE_EXHAUSTED before parsing.
inline constexpr int kMaxRequestBytes = 64 * 1024;
inline constexpr size_t kMaxReasonBytes = 1024;  // Drain and Shutdown reasons
inline constexpr size_t kMaxPoolNameBytes = 63;  // as the configuration allows (pools.md)
inline constexpr size_t kMaxSignalBytes = 32;    // "SIGRTMIN+15" and the like
// Replicas and slots: the configuration's bound on a pool's replicas (agent/config/config.h).
inline constexpr int32_t kMaxReplicas = vigil::kMaxReplicas;
// A Drain deadline, in ms from now. Any deadline past the grace period means the grace period
// (the core takes the earlier), so a year loses nothing and keeps the core's arithmetic far
// from overflowing.
inline constexpr int64_t kMaxDrainDeadlineMs = 365LL * 24 * 3600 * 1000;

// --- gRPC server streams (Watch, DrainStream, grpc.health.v1 Watch) -------------------------
// Messages queued for one stream behind the one being written. A Watch event is at most about
// 4.3 kB (a worker with a full 4 KiB STATUS=), so this is about a thousand full-size events or
// ten thousand ordinary ones: a client that is this far behind is not reading, and is cut off
// with RESOURCE_EXHAUSTED.
inline constexpr size_t kStreamQueueBytes = 4u << 20;
// All streams together (behind the messages being written): the bound on what stalled clients
// can cost vigil-control, whatever their number.
inline constexpr size_t kAllStreamsQueueBytes = 32u << 20;
// What a queued message costs beyond its serialized size (the object, the queue's node).
inline constexpr size_t kQueuedMessageOverhead = 256;
// A stream that was cut off but whose client still reads nothing (so its final status cannot
// be delivered) is cancelled this long after, giving its slot back.
inline constexpr std::chrono::seconds kCutOffGrace{30};

// Per listener: streams open at once, and unary calls waiting for the core at once (Drain,
// Scale, Restart, Signal, Shutdown). Calls past either get RESOURCE_EXHAUSTED at once.
struct GrpcListener {
  int max_streams;
  int max_pending;
};
inline constexpr GrpcListener kUnixSocket{64, 128};  // vigilctl, exec probes, sidecars
inline constexpr GrpcListener kApiPort{32, 64};      // token holders on TCP
inline constexpr GrpcListener kHealthPort{16, 0};    // anyone who can reach the pod
// Memory the TCP ports' connections may take in gRPC's buffers (a grpc::ResourceQuota each):
// idle HTTP/2 connections cost about 16 KiB each, so without a bound anyone who can reach the
// health port could grow vigil-control by opening connections. Under pressure gRPC shrinks
// buffers and closes idle connections first. The API port carries Watch snapshots of big pools.
inline constexpr size_t kHealthPortMemory = 16u << 20;
inline constexpr size_t kApiPortMemory = 64u << 20;
// HTTP/2 streams at once on one connection (SETTINGS_MAX_CONCURRENT_STREAMS).
inline constexpr int kStreamsPerConnection = 32;
// A TCP client must have sent its HTTP/2 preface within this; a TCP connection with no call
// open this long is closed (GOAWAY). The kubelet opens a connection per probe.
inline constexpr std::chrono::seconds kGrpcHandshakeTimeout{10};
inline constexpr std::chrono::seconds kGrpcMaxIdle{120};

// --- HTTP listeners (/metrics, /healthz/*, /drain) -----------------------------------------
inline constexpr int kHttpMaxConnections = 256;  // per listener
inline constexpr size_t kHttpMaxHeaderBytes = 16 * 1024;
inline constexpr std::chrono::seconds kHttpHeaderTimeout{10};  // from accept to a full header
inline constexpr std::chrono::seconds kHttpWriteTimeout{10};   // to send the whole answer
inline constexpr std::chrono::seconds kHttpLinger{2};  // reading (and dropping) after answering
// Scrapes waiting for the scrape thread; more get 503. Those waiting when a collection starts
// are all answered by it (metrics_endpoint.h).
inline constexpr size_t kMaxQueuedScrapes = 4;
// How long a scrape waits for the core: three quarters of the scraper's own timeout
// (X-Prometheus-Scrape-Timeout-Seconds) within these bounds, kScrapeCoreWait without it.
inline constexpr std::chrono::milliseconds kScrapeCoreWait{2000};
inline constexpr std::chrono::milliseconds kMinScrapeCoreWait{100};
inline constexpr std::chrono::milliseconds kMaxScrapeCoreWait{10000};
// A scrape not answered this long after it arrived gets 503 (above the longest wait).
inline constexpr std::chrono::seconds kScrapeReplyTimeout{15};

}  // namespace vigil::control::limits
