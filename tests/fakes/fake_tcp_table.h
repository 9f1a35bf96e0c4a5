// FakeTcpTable: a TcpTable (agent/sys/tcp_table.h) whose sockets the test sets: which ports
// each pid listens on, and the connections to each port now. Counts the calls, so a test can
// check that nothing is sampled while no drain runs.
#pragma once

#include <map>
#include <set>
#include <vector>

#include "agent/sys/tcp_table.h"

namespace vigil::testing {

class FakeTcpTable final : public TcpTable {
 public:
  StatusOr<std::vector<int>> ListeningPorts(const std::vector<pid_t>& pids) override {
    ++listening_calls;
    if (!listening_error.ok()) return listening_error;
    std::set<int> out;
    for (pid_t pid : pids) {
      if (auto it = listening.find(pid); it != listening.end())
        out.insert(it->second.begin(), it->second.end());
    }
    return std::vector<int>(out.begin(), out.end());
  }

  Status Connections(const std::vector<int>& ports, std::vector<TcpConnection>* out) override {
    ++connection_calls;
    out->clear();
    if (!connections_error.ok()) return connections_error;
    for (const TcpConnection& c : connections) {
      for (int port : ports) {
        if (c.local_port == port) out->push_back(c);
      }
    }
    asked_ports = ports;
    return Status();
  }

  // A new connection to `port` (a cookie never used before), in `state` (1: ESTABLISHED).
  void Connect(int port, uint8_t state = 1) {
    TcpConnection c;
    c.cookie = ++last_cookie;
    c.local_port = static_cast<uint16_t>(port);
    c.state = state;
    connections.push_back(c);
  }
  void CloseAll() {
    for (TcpConnection& c : connections)
      c.state = 6;  // TIME_WAIT: closed by the worker, still listed for a minute.
  }

  std::map<pid_t, std::vector<int>> listening;
  std::vector<TcpConnection> connections;
  Status listening_error;
  Status connections_error;
  std::vector<int> asked_ports;
  uint64_t last_cookie = 0;
  int listening_calls = 0;
  int connection_calls = 0;
};

}  // namespace vigil::testing
