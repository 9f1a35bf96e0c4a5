// FakeTcpTable: a TcpTable (agent/sys/tcp_table.h) whose sockets the test sets: which ports
// each pid listens on, and the connections to each port now. Counts the calls, so a test can
// check that nothing is sampled while no drain runs.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "agent/sys/tcp_table.h"
#include "tests/fakes/fake_clock.h"

namespace vigil::testing {

class FakeTcpTable final : public TcpTable {
 public:
  class Search final : public ListenerSearch {
   public:
    Search(FakeTcpTable* table, std::vector<pid_t> pids) : table_(table), pids_(std::move(pids)) {}
    bool Step(size_t) override {
      if (done_) return true;
      ++table_->steps_taken;
      if (table_->step_clock != nullptr) table_->step_clock->Advance(table_->step_takes);
      if (++steps_ < table_->search_steps) return false;
      done_ = true;
      if (!table_->listening_error.ok()) {
        result_ = table_->listening_error;
        return true;
      }
      std::set<int> out;
      for (pid_t pid : pids_) {
        if (auto it = table_->listening.find(pid); it != table_->listening.end())
          out.insert(it->second.begin(), it->second.end());
      }
      result_ = std::vector<int>(out.begin(), out.end());
      return true;
    }
    StatusOr<std::vector<int>> Result() const override { return result_; }

   private:
    FakeTcpTable* table_;
    std::vector<pid_t> pids_;
    int steps_ = 0;
    bool done_ = false;
    StatusOr<std::vector<int>> result_ = std::vector<int>{};
  };

  // A search over after `search_steps` steps, with what `listening` says then (as /proc is read
  // as it is when the search reaches it).
  std::unique_ptr<ListenerSearch> SearchListeningPorts(const std::vector<pid_t>& pids) override {
    ++listening_calls;
    return std::make_unique<Search>(this, pids);
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
  int search_steps = 1;             // steps a search takes (1: over at its first)
  FakeClock* step_clock = nullptr;  // moved by step_takes at each step, when set
  Duration step_takes{};
  int steps_taken = 0;  // of every search
  std::vector<TcpConnection> connections;
  Status listening_error;
  Status connections_error;
  std::vector<int> asked_ports;
  uint64_t last_cookie = 0;
  int listening_calls = 0;
  int connection_calls = 0;
};

}  // namespace vigil::testing
