// TcpTable: what the kernel's socket diagnostics (NETLINK_SOCK_DIAG, inet_diag) say of the TCP
// sockets in Vigil's network namespace (the pod's), for the traffic-aware drain
// (lifecycle/traffic_watch.h, docs/drain.md "propagation_delay: auto").
//
// - SearchListeningPorts(): the ports of the TCP sockets (IPv4 and IPv6) in LISTEN that the
//   given processes, or members of their process groups, hold open: a listening socket's inode
//   is matched with the `socket:[INODE]` links in /proc/PID/fd (sys/proc_sockets.h: a process
//   whose fds cannot be read is skipped; at most 65536 fd links are read in all). A search, done
//   a bounded piece at a time, because /proc is as big as the pool: the caller steps it across
//   turns of its loop. It is over at once, without reading /proc, when nothing listens in the
//   namespace, and as soon as every listening port has been found (SO_REUSEPORT workers: the
//   first worker's socket stands for its port).
// - Connections(): every TCP socket whose local port is one of `ports`, in any state but LISTEN
//   (a connection being set up, established, closing or in TIME_WAIT), with its kernel cookie,
//   which no other socket ever gets: a cookie not seen before is a new connection.
//
// Never blocks: the netlink socket is non-blocking and a dump that has not fully arrived is an
// error ("incomplete"), never a wait. Bounded: at most kMaxTcpSockets records a dump (more is an
// error naming the count), and /proc reads are bounded too. Single-threaded; an interface, so
// the watch is tested with a fake table.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "agent/base/status.h"

namespace vigil {

// The most socket records one dump holds: far past what one pod's ports carry (each TIME_WAIT
// socket of the last minute included), small enough to bound the memory (~24 B a record).
inline constexpr size_t kMaxTcpSockets = 1 << 20;

struct TcpConnection {
  uint64_t cookie = 0;
  uint16_t local_port = 0;
  uint8_t state = 0;  // TCP_ESTABLISHED, TCP_TIME_WAIT, ... (netinet/tcp.h)
  // Still to be served by the worker: set up, established, or closed by the peer only.
  bool open() const;
};

// A search for the ports some processes listen on (TcpTable::SearchListeningPorts).
class ListenerSearch {
 public:
  virtual ~ListenerSearch() = default;
  // Does at most `budget` reads (ProcSocketScan's unit; the socket dumps of the first step count
  // one) and resumes where the last step stopped; true once the search is over.
  virtual bool Step(size_t budget) = 0;
  // Once over: the ports found, sorted and unique, or why they are unknown.
  virtual StatusOr<std::vector<int>> Result() const = 0;
};

class TcpTable {
 public:
  virtual ~TcpTable() = default;
  // The search may hold the table: it must end before the table does.
  virtual std::unique_ptr<ListenerSearch> SearchListeningPorts(const std::vector<pid_t>& pids) = 0;
  virtual Status Connections(const std::vector<int>& ports, std::vector<TcpConnection>* out) = 0;

  // A whole search in one call, however long it takes (tests and tools, never the loop).
  StatusOr<std::vector<int>> ListeningPorts(const std::vector<pid_t>& pids);
};

// The kernel's table, read through NETLINK_SOCK_DIAG and /proc (`proc_root`, "/proc").
std::unique_ptr<TcpTable> MakeLinuxTcpTable(std::string_view proc_root = "/proc");

// Parses one netlink reply buffer of an inet_diag dump, appending the records (pure, for the
// fuzzer and the tests). Returns true once NLMSG_DONE is seen; an NLMSG_ERROR, a malformed
// message or more than `max_records` records in `out` is an error; `inodes` (optional) get each
// record's inode, in the same order. Messages of another sequence number than `seq` (0: any)
// are skipped.
StatusOr<bool> ParseInetDiagReply(const void* data, size_t size, std::vector<TcpConnection>* out,
                                  std::vector<uint32_t>* inodes, size_t max_records,
                                  uint32_t seq = 0);

// The inode of a /proc/PID/fd link's target "socket:[INODE]", or 0.
uint32_t SocketInodeOfLink(std::string_view target);

}  // namespace vigil
