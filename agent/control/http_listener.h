// HttpListener: a small event-driven HTTP/1.1 server for vigil-control's plain-HTTP listeners
// (the metrics address; the HTTP port with /healthz/* and /drain).
//
// One thread runs an epoll loop over every connection, so no number of clients that connect and
// send nothing, or send a byte at a time, can hold up another: no thread ever waits on one
// client. Each connection (limits.h):
//   - has kHttpHeaderTimeout from accept to a complete request header, else 408 and closed;
//   - may send kHttpMaxHeaderBytes of header at most, else 431 and closed;
//   - carries one request (the answer says Connection: close), answered by its route;
//   - has kHttpWriteTimeout to take the answer, then its input is read and dropped for
//     kHttpLinger so that the answer is not lost to a reset.
// At most kHttpMaxConnections are open: a new one evicts the oldest connection still sending
// its header, or is closed at once when there is none. Every connection closed for any of
// these reasons is counted and logged (close_log.h).
//
// Handlers run on the loop thread and must not block: they answer at once, or later from any
// thread through their HttpReply (a drain waits for the core, /metrics for the scrape thread).
// Requests are parsed and answers written by http_request.h.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/base/status.h"
#include "agent/control/control_counters.h"
#include "agent/control/http_request.h"

namespace vigil::control {

// One request's answer, given once: the first Send wins, from any thread.
class HttpReply {
 public:
  class Mailbox;
  HttpReply(std::shared_ptr<Mailbox> mailbox, uint64_t connection);
  ~HttpReply();

  void Send(HttpResponse response);
  // Within the handler (loop thread): if no answer is sent within `timeout`, `fallback` is.
  void SetTimeout(std::chrono::milliseconds timeout, HttpResponse fallback);
  // Within the handler: called once the exchange is over (answered, timed out, or the client
  // gone), on the loop thread. For cleaning up what the handler set up (a subscription).
  void OnDone(std::function<void()> done);

 private:
  friend class HttpListener;
  bool Claim();  // True for whoever answers first.

  std::shared_ptr<Mailbox> mailbox_;
  const uint64_t connection_;
  struct State;
  std::unique_ptr<State> state_;
};

using HttpHandler = std::function<void(const HttpRequest&, std::shared_ptr<HttpReply>)>;

class HttpListener {
 public:
  HttpListener(Listener which, ControlCounters& counters);
  ~HttpListener();  // Stops the loop; every connection is closed.
  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;

  // Before Start: `path` is served by `handler` (GET, and POST when `allow_post`).
  void Route(std::string path, HttpHandler handler, bool allow_post = false);
  // Binds host:port (tcp_listen.h: an address or a name; "" means every IPv4 address) and starts
  // the loop.
  Status Start(const std::string& host, int port);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::control
