// CloseLog: counts the connections a listener closes for misbehaving
// (vigil_control_connections_closed_total{listener,cause}) and logs them, one
// `connection_closed` line per cause at most every 10 s, with how many it stands for: an
// attacker opening connections as fast as it can must not flood the log. Used by one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "agent/control/control_counters.h"
#include "agent/log/log.h"

namespace vigil::control {

class CloseLog {
 public:
  CloseLog(Listener which, ControlCounters& counters) : which_(which), counters_(counters) {}

  // `what`: how the listener put it to the client ("no complete request header in time (408)").
  void Closed(ConnClose cause, const std::string& what) {
    counters_.ConnClosed(which_, cause);
    Limit& limit = limits_[static_cast<size_t>(cause)];
    ++limit.unlogged;
    const auto now = std::chrono::steady_clock::now();
    if (limit.logged && now - limit.last < std::chrono::seconds(10)) return;
    log::Event(
        log::Level::kWarn, "connection_closed",
        std::string("connection closed on the ") + ListenerName(which_) + " listener: " + what,
        {{"listener", ListenerName(which_)},
         {"cause", ConnCloseName(cause)},
         {"connections", limit.unlogged}});
    limit.logged = true;
    limit.last = now;
    limit.unlogged = 0;
  }

 private:
  struct Limit {
    bool logged = false;
    std::chrono::steady_clock::time_point last{};
    uint64_t unlogged = 0;
  };
  const Listener which_;
  ControlCounters& counters_;
  Limit limits_[kConnCloseCount];
};

}  // namespace vigil::control
