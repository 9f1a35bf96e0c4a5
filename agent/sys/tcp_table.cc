#include "agent/sys/tcp_table.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <unordered_map>

#include "agent/base/unique_fd.h"
#include "agent/sys/proc_sockets.h"

namespace vigil {
namespace {

// Not in netinet/tcp.h: the request sockets of connections being set up (Linux >= 4.4).
constexpr int kTcpNewSynRecv = 12;

constexpr uint32_t Bit(int state) {
  return 1u << state;
}

constexpr uint32_t kListenStates = Bit(TCP_LISTEN);
// Every state a connection accepted on a listening port can be in (SYN_SENT is an outgoing
// connection's, CLOSE no socket's for long).
constexpr uint32_t kConnectionStates = Bit(TCP_ESTABLISHED) | Bit(TCP_SYN_RECV) |
                                       Bit(TCP_FIN_WAIT1) | Bit(TCP_FIN_WAIT2) |
                                       Bit(TCP_TIME_WAIT) | Bit(TCP_CLOSE_WAIT) |
                                       Bit(TCP_LAST_ACK) | Bit(TCP_CLOSING) | Bit(kTcpNewSynRecv);

// The most fd links read of all processes' /proc/PID/fd together, so that workers with huge fd
// tables cannot make one search long without bound. Past it the remaining processes' listeners
// go unseen (a pool can list its `ports:`).
constexpr size_t kMaxFdsRead = 1 << 16;

class LinuxTcpTable final : public TcpTable {
 public:
  explicit LinuxTcpTable(std::string proc_root) : proc_root_(std::move(proc_root)) {}

  std::unique_ptr<ListenerSearch> SearchListeningPorts(const std::vector<pid_t>& pids) override;

  Status Connections(const std::vector<int>& ports, std::vector<TcpConnection>* out) override {
    out->clear();
    std::vector<TcpConnection> all;
    for (int family : {AF_INET, AF_INET6}) {
      if (Status s = Dump(family, kConnectionStates, &all, nullptr); !s.ok()) return s;
    }
    for (const TcpConnection& c : all) {
      if (std::find(ports.begin(), ports.end(), c.local_port) != ports.end()) out->push_back(c);
    }
    return Status();
  }

  // One inet_diag dump of TCP sockets of `family` in `states`, appended to `out`.
  Status Dump(int family, uint32_t states, std::vector<TcpConnection>* out,
              std::vector<uint32_t>* inodes) {
    if (Status s = Open(); !s.ok()) return s;
    struct {
      nlmsghdr header;
      inet_diag_req_v2 request;
    } message{};
    message.header.nlmsg_len = sizeof message;
    message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    message.header.nlmsg_seq = ++seq_;
    message.request.sdiag_family = static_cast<uint8_t>(family);
    message.request.sdiag_protocol = IPPROTO_TCP;
    message.request.idiag_states = states;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    ssize_t sent;
    do {
      sent = ::sendto(fd_.get(), &message, sizeof message, 0,
                      reinterpret_cast<const sockaddr*>(&kernel), sizeof kernel);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) return Reset(Status::FromErrno("sendto(NETLINK_SOCK_DIAG)", errno));
    buffer_.resize(64 * 1024);
    for (;;) {
      const ssize_t n = ::recv(fd_.get(), buffer_.data(), buffer_.size(), MSG_DONTWAIT);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        // The kernel makes each part of a dump as the last one is read, so this is not
        // expected; never wait for it: drop the socket (and whatever is still in it).
        return Reset(Status::Error("sock_diag dump incomplete"));
      }
      if (n < 0) return Reset(Status::FromErrno("recv(NETLINK_SOCK_DIAG)", errno));
      if (n == 0) return Reset(Status::Error("sock_diag socket closed"));
      StatusOr<bool> done = ParseInetDiagReply(buffer_.data(), static_cast<size_t>(n), out, inodes,
                                               kMaxTcpSockets, seq_);
      if (!done.ok()) return Reset(done.status());
      if (*done) return Status();
    }
  }

  const std::string& proc_root() const { return proc_root_; }

 private:
  Status Open() {
    if (fd_.valid()) return Status();
    UniqueFd fd(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_SOCK_DIAG));
    if (!fd.valid()) return Status::FromErrno("socket(NETLINK_SOCK_DIAG)", errno);
    fd_ = std::move(fd);
    return Status();
  }

  Status Reset(Status status) {
    fd_.Reset();
    return status;
  }

  std::string proc_root_;
  UniqueFd fd_;
  uint32_t seq_ = 0;
  std::vector<char> buffer_;
};

// The listening sockets first (one step), then the processes' fds, matched by inode.
class LinuxListenerSearch final : public ListenerSearch {
 public:
  LinuxListenerSearch(LinuxTcpTable* table, const std::vector<pid_t>& pids)
      : table_(table), scan_(table->proc_root(), pids, kMaxFdsRead) {}

  bool Step(size_t budget) override {
    if (done_) return true;
    if (!dumped_) {
      dumped_ = true;
      std::vector<TcpConnection> listening;
      std::vector<uint32_t> inodes;
      for (int family : {AF_INET, AF_INET6}) {
        if (Status s = table_->Dump(family, kListenStates, &listening, &inodes); !s.ok()) {
          result_ = s;
          done_ = true;
          return true;
        }
      }
      for (size_t i = 0; i < listening.size(); ++i) {
        if (inodes[i] != 0) port_of_[inodes[i]] = listening[i].local_port;
      }
      if (budget > 0) --budget;
    }
    std::vector<uint32_t> found;
    // In pieces, so that the search ends as soon as every listener is found. Nothing (left) to
    // find, because nothing listens or every listener is found: the rest of /proc is not read.
    while (!port_of_.empty()) {
      if (budget == 0) return false;
      const size_t piece = std::min<size_t>(budget, kPiece);
      const bool over = scan_.Step(piece, &found);
      budget -= piece;
      Match(&found);
      if (over) break;
    }
    result_ = std::vector<int>(ports_.begin(), ports_.end());
    done_ = true;
    return true;
  }

  StatusOr<std::vector<int>> Result() const override { return result_; }

 private:
  static constexpr size_t kPiece = 64;

  void Match(std::vector<uint32_t>* found) {
    for (uint32_t inode : *found) {
      auto it = port_of_.find(inode);
      if (it == port_of_.end()) continue;
      // Found: the other listeners on its port (SO_REUSEPORT: one a worker) add nothing.
      const int port = it->second;
      ports_.insert(port);
      std::erase_if(port_of_, [port](const auto& entry) { return entry.second == port; });
    }
    found->clear();
  }

  LinuxTcpTable* table_;
  ProcSocketScan scan_;
  bool dumped_ = false;
  bool done_ = false;
  std::unordered_map<uint32_t, int> port_of_;  // the listening sockets whose port is not found yet
  std::set<int> ports_;
  StatusOr<std::vector<int>> result_ = std::vector<int>{};
};

std::unique_ptr<ListenerSearch> LinuxTcpTable::SearchListeningPorts(
    const std::vector<pid_t>& pids) {
  return std::make_unique<LinuxListenerSearch>(this, pids);
}

}  // namespace

bool TcpConnection::open() const {
  return state == TCP_ESTABLISHED || state == TCP_SYN_RECV || state == kTcpNewSynRecv ||
         state == TCP_CLOSE_WAIT;
}

StatusOr<bool> ParseInetDiagReply(const void* data, size_t size, std::vector<TcpConnection>* out,
                                  std::vector<uint32_t>* inodes, size_t max_records, uint32_t seq) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  size_t offset = 0;
  while (size - offset >= sizeof(nlmsghdr)) {
    nlmsghdr header;
    std::memcpy(&header, bytes + offset, sizeof header);  // The buffer need not be aligned.
    if (header.nlmsg_len < sizeof(nlmsghdr) || header.nlmsg_len > size - offset) {
      return Status::Error("sock_diag: malformed netlink message");
    }
    const unsigned char* payload = bytes + offset + NLMSG_HDRLEN;
    const size_t payload_size = header.nlmsg_len - std::min<size_t>(header.nlmsg_len, NLMSG_HDRLEN);
    offset += std::min<size_t>(NLMSG_ALIGN(header.nlmsg_len), size - offset);
    if (seq != 0 && header.nlmsg_seq != seq) continue;  // A reply to an earlier request.
    if (header.nlmsg_type == NLMSG_DONE) return true;
    if (header.nlmsg_type == NLMSG_ERROR) {
      nlmsgerr error{};
      if (payload_size >= sizeof error) std::memcpy(&error, payload, sizeof error);
      // The kernel sends -errno; anything else (INT_MIN, whose negation overflows, or a
      // positive code) is a malformed reply.
      const bool errno_like = error.error < 0 && error.error >= -4095;
      return Status::FromErrno("sock_diag", errno_like ? -error.error : EPROTO);
    }
    if (header.nlmsg_type != SOCK_DIAG_BY_FAMILY) continue;
    if (payload_size < sizeof(inet_diag_msg)) {
      return Status::Error("sock_diag: short inet_diag message");
    }
    if (out->size() >= max_records) {
      return Status::Error("sock_diag: more than " + std::to_string(max_records) +
                           " TCP sockets in one dump");
    }
    inet_diag_msg msg;
    std::memcpy(&msg, payload, sizeof msg);
    TcpConnection c;
    c.cookie = static_cast<uint64_t>(msg.id.idiag_cookie[0]) |
               (static_cast<uint64_t>(msg.id.idiag_cookie[1]) << 32);
    c.local_port = ntohs(msg.id.idiag_sport);
    c.state = msg.idiag_state;
    out->push_back(c);
    if (inodes != nullptr) inodes->push_back(msg.idiag_inode);
  }
  return false;
}

uint32_t SocketInodeOfLink(std::string_view target) {
  constexpr std::string_view kPrefix = "socket:[";
  if (target.size() <= kPrefix.size() + 1 || target.substr(0, kPrefix.size()) != kPrefix ||
      target.back() != ']') {
    return 0;
  }
  uint64_t inode = 0;
  for (char c : target.substr(kPrefix.size(), target.size() - kPrefix.size() - 1)) {
    if (c < '0' || c > '9') return 0;
    inode = inode * 10 + static_cast<uint64_t>(c - '0');
    if (inode > UINT32_MAX) return 0;
  }
  return static_cast<uint32_t>(inode);
}

StatusOr<std::vector<int>> TcpTable::ListeningPorts(const std::vector<pid_t>& pids) {
  std::unique_ptr<ListenerSearch> search = SearchListeningPorts(pids);
  while (!search->Step(SIZE_MAX)) {
  }
  return search->Result();
}

std::unique_ptr<TcpTable> MakeLinuxTcpTable(std::string_view proc_root) {
  return std::make_unique<LinuxTcpTable>(std::string(proc_root));
}

}  // namespace vigil
