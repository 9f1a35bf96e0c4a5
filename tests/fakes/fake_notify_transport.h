// FakeNotifyTransport: a NotifyTransport with scripted sockets and datagrams.
//
// Open(label, owner, group) records the call and returns a real descriptor (an eventfd, so the
// UniqueFd that owns it in the code under test can close it safely) with a made-up socket path
// (/notify/<label>-<n>/notify), unless an error was scripted for it. Close() records the path.
// The test queues datagrams for an fd (or for the socket opened last under a label); Drain(fd,
// max) hands back and forgets up to `max` of them. Like the real transport, which reads every
// sender at receipt, Drain reads each sender's pid from the FakeOs given at construction (its
// process table: alive, group, identity); pid 0 is a sender outside the PID namespace.
//
// Descriptor numbers are reused by the kernel once closed, so Open() forgets whatever was
// queued on a number it hands out again.
#pragma once

#include <sys/eventfd.h>
#include <sys/types.h>

#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "agent/base/status.h"
#include "agent/base/unique_fd.h"
#include "agent/notify/notify_socket.h"
#include "tests/fakes/fake_os.h"

namespace vigil::testing {

class FakeNotifyTransport final : public NotifyTransport {
 public:
  struct Opened {
    std::string label;
    int fd;
    uid_t owner;
    gid_t group;
    std::string path;
  };

  explicit FakeNotifyTransport(const FakeOs* os) : os_(os) {}

  // ---- Scripting ----
  // The next Open() calls fail with these, in order; later calls succeed again.
  void ScriptOpenFailure(Status status) { open_failures_.push_back(std::move(status)); }

  // A datagram from `sender_pid`, whose facts are read from the FakeOs when it is drained.
  void Queue(int fd, std::string data, pid_t sender_pid, bool truncated = false) {
    NotifyDatagram d;
    d.size = data.size();
    d.data = std::move(data);
    d.truncated = truncated;
    if (truncated) d.size = kTruncatedSize;
    d.sender.credentials_pid = sender_pid;
    queued_[fd].push_back(Pending{std::move(d), true});
  }
  // A datagram exactly as given (sender and all), for what Queue cannot express.
  void QueueRaw(int fd, NotifyDatagram datagram) {
    queued_[fd].push_back(Pending{std::move(datagram), false});
  }
  static constexpr size_t kTruncatedSize = 5000;

  // ---- Records ----
  std::vector<std::string> open_attempts;  // the label of every Open(), failed or not
  std::vector<size_t> held_at_open;        // for each of them, how many runs were held then
  std::vector<Opened> opened;              // the sockets handed out, in order
  std::vector<std::string> closed;         // the path of every Close(), in order
  bool holding = false;                    // between HoldRemovals() and ReleaseRemovals()
  std::vector<std::string> held;           // closed while holding, not yet removed
  std::vector<std::string> removed;        // removed: at Close(), or released
  int releases = 0;
  int closed_while_holding = 0;
  std::vector<int> drained;          // the fd of every Drain() call
  std::vector<size_t> drain_limits;  // its `max`
  KnownSenders last_known;           // the `known` of the last Drain() call

  // The fd of the socket of the last run of `label` ("web/0"), or -1: the one whose path the
  // last spawn of that pool and slot got as NOTIFY_SOCKET (a pool's spare socket is opened
  // under another label, "web/next"), else the one opened last under the label.
  int LastFdWithLabel(const std::string& label) const {
    const Opened* o = LastOpened(label);
    return o == nullptr ? -1 : o->fd;
  }
  const Opened* LastOpened(const std::string& label) const {
    if (const std::string path = LastSpawnsSocket(label); !path.empty()) {
      for (auto it = opened.rbegin(); it != opened.rend(); ++it) {
        if (it->path == path) return &*it;
      }
    }
    for (auto it = opened.rbegin(); it != opened.rend(); ++it) {
      if (it->label == label) return &*it;
    }
    return nullptr;
  }
  size_t pending(int fd) const {
    auto it = queued_.find(fd);
    return it == queued_.end() ? 0 : it->second.size();
  }

  // The NOTIFY_SOCKET of the last spawn of `label`'s pool and slot, or "".
  std::string LastSpawnsSocket(const std::string& label) const {
    const size_t slash = label.rfind('/');
    if (os_ == nullptr || slash == std::string::npos) return "";
    const std::string pool = "VIGIL_POOL=" + label.substr(0, slash);
    const std::string slot = "VIGIL_WORKER=" + label.substr(slash + 1);
    for (auto it = os_->spawn_requests.rbegin(); it != os_->spawn_requests.rend(); ++it) {
      if (!it->env) continue;
      bool in_pool = false, in_slot = false;
      std::string socket;
      for (const std::string& v : *it->env) {
        in_pool |= v == pool;
        in_slot |= v == slot;
        if (v.rfind("NOTIFY_SOCKET=", 0) == 0) socket = v.substr(14);
      }
      if (in_pool && in_slot) return socket;
    }
    return "";
  }

  // ---- NotifyTransport ----
  StatusOr<NotifyEndpoint> Open(const std::string& label, uid_t owner, gid_t group) override {
    open_attempts.push_back(label);
    held_at_open.push_back(held.size());
    if (!open_failures_.empty()) {
      Status failure = std::move(open_failures_.front());
      open_failures_.pop_front();
      return failure;
    }
    NotifyEndpoint endpoint;
    endpoint.fd.Reset(::eventfd(0, EFD_CLOEXEC));
    if (!endpoint.fd) return Status::Error("eventfd failed");
    queued_.erase(endpoint.fd.get());
    std::string name = label;
    for (char& c : name) {
      if (c == '/') c = '-';
    }
    endpoint.paths.name = name + "-" + std::to_string(++serial_);
    endpoint.paths.socket_path = "/notify/" + endpoint.paths.name + "/notify";
    opened.push_back(Opened{label, endpoint.fd.get(), owner, group, endpoint.paths.socket_path});
    return endpoint;
  }

  void Close(NotifyEndpoint& endpoint) override {
    closed.push_back(endpoint.paths.socket_path);
    (holding ? held : removed).push_back(endpoint.paths.socket_path);
    closed_while_holding += holding ? 1 : 0;
    endpoint.fd.Reset();
    endpoint.paths = NotifyRunPaths();
  }
  void HoldRemovals() override { holding = true; }
  void ReleaseRemovals() override {
    holding = false;
    ++releases;
    removed.insert(removed.end(), held.begin(), held.end());
    held.clear();
  }

  std::vector<NotifyDatagram> Drain(int fd, size_t max, const KnownSenders& known) override {
    drained.push_back(fd);
    drain_limits.push_back(max);
    last_known = known;
    std::vector<NotifyDatagram> out;
    auto it = queued_.find(fd);
    if (it == queued_.end()) return out;
    while (!it->second.empty() && out.size() < max) {
      Pending next = std::move(it->second.front());
      it->second.pop_front();
      if (next.read_sender) {
        next.datagram.sender.source = NotifySender::Source::kPidfd;
        next.datagram.sender.process = os_->FactsOf(next.datagram.sender.credentials_pid);
      }
      out.push_back(std::move(next.datagram));
    }
    if (it->second.empty()) queued_.erase(it);
    return out;
  }

 private:
  struct Pending {
    NotifyDatagram datagram;
    bool read_sender;  // the sender's facts are read from the FakeOs at Drain
  };
  const FakeOs* os_;
  int serial_ = 0;
  std::deque<Status> open_failures_;
  std::map<int, std::deque<Pending>> queued_;
};

}  // namespace vigil::testing
