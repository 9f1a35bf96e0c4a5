// TcpTable: the kernel's sockets through NETLINK_SOCK_DIAG, on real loopback sockets of this
// test process, and the parser on malformed replies.
#include "agent/sys/tcp_table.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>
#include <thread>

#include "agent/base/unique_fd.h"
#include "tests/fakes/fake_proc.h"

namespace vigil {
namespace {

using ::testing::Contains;
using ::testing::Not;
using ::vigil::testing::FakeProc;
using ::vigil::testing::Socket;

// A listening TCP socket on 127.0.0.1, on a port the kernel chose.
UniqueFd Listen(int* port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(::listen(fd.get(), 16), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  *port = ntohs(addr.sin_port);
  return fd;
}

UniqueFd ConnectTo(int port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  return fd;
}

std::vector<uint64_t> Cookies(const std::vector<TcpConnection>& connections) {
  std::vector<uint64_t> out;
  for (const auto& c : connections)
    out.push_back(c.cookie);
  return out;
}

TEST(TcpTableTest, FindsTheListeningPortsOfAProcess) {
  int port = 0;
  UniqueFd listener = Listen(&port);
  auto table = MakeLinuxTcpTable();
  StatusOr<std::vector<int>> ports = table->ListeningPorts({::getpid()});
  ASSERT_TRUE(ports.ok()) << ports.status().message();
  EXPECT_THAT(*ports, Contains(port));
  // A process that holds no socket listens on nothing (pid 0 is skipped; a missing pid too).
  StatusOr<std::vector<int>> none = table->ListeningPorts({999999999});
  ASSERT_TRUE(none.ok());
  EXPECT_THAT(*none, Not(Contains(port)));
}

TEST(TcpTableTest, EachConnectionHasACookieNoOtherGets) {
  int port = 0;
  UniqueFd listener = Listen(&port);
  auto table = MakeLinuxTcpTable();
  std::vector<TcpConnection> before;
  ASSERT_TRUE(table->Connections({port}, &before).ok());
  EXPECT_TRUE(before.empty());

  UniqueFd client = ConnectTo(port);  // Established, waiting in the accept queue.
  std::vector<TcpConnection> one;
  ASSERT_TRUE(table->Connections({port}, &one).ok());
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].local_port, port);
  EXPECT_EQ(one[0].state, TCP_ESTABLISHED);
  EXPECT_TRUE(one[0].open());

  // The worker accepts, answers and closes first: TIME_WAIT, still seen, same cookie.
  UniqueFd served(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(served.valid());
  served.Reset();
  char byte;
  EXPECT_EQ(::read(client.get(), &byte, 1), 0);
  client.Reset();
  std::vector<TcpConnection> closed;
  ASSERT_TRUE(table->Connections({port}, &closed).ok());
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].cookie, one[0].cookie);
  EXPECT_EQ(closed[0].state, TCP_TIME_WAIT);
  EXPECT_FALSE(closed[0].open());

  UniqueFd second = ConnectTo(port);
  std::vector<TcpConnection> two;
  ASSERT_TRUE(table->Connections({port}, &two).ok());
  EXPECT_EQ(two.size(), 2u);
  EXPECT_THAT(Cookies(two), Contains(one[0].cookie));
  // The client's own sockets have an ephemeral local port: never counted for `port`.
  for (const auto& c : two)
    EXPECT_EQ(c.local_port, port);
}

// In a network namespace of its own (a thread's: only this thread's sockets are in it), so that
// the test knows every listening socket. False when namespaces cannot be made (not root).
template <typename F>
bool InOwnNetworkNamespace(F&& f) {
  bool made = false;
  std::thread([&] {
    if (::unshare(CLONE_NEWNET) != 0) return;
    made = true;
    f();
  }).join();
  return made;
}

// A listening socket on every address, on `*port` (0: one the kernel chooses, written back),
// SO_REUSEPORT when `reuse_port`; its inode in `*inode`.
UniqueFd ListenAnywhere(int* port, uint32_t* inode, bool reuse_port = false) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const int on = 1;
  if (reuse_port) {
    EXPECT_EQ(::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof on), 0);
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;  // INADDR_ANY: a new namespace's loopback is down
  addr.sin_port = htons(static_cast<uint16_t>(*port));
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(::listen(fd.get(), 16), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  *port = ntohs(addr.sin_port);
  struct stat st {};
  EXPECT_EQ(::fstat(fd.get(), &st), 0);
  *inode = static_cast<uint32_t>(st.st_ino);
  return fd;
}

// Workers `first`..`last - 1`, each holding the socket `inode` (inherited) besides /dev/null.
std::vector<pid_t> WorkersHolding(FakeProc& proc, pid_t first, pid_t last, uint32_t inode) {
  std::vector<pid_t> pids;
  for (pid_t pid = first; pid < last; ++pid) {
    proc.Add(pid, pid, {"/dev/null", Socket(inode)});
    pids.push_back(pid);
  }
  return pids;
}

// Steps of `budget` reads until the search is over.
int StepsToTheEnd(ListenerSearch& search, size_t budget) {
  int steps = 1;
  while (!search.Step(budget))
    ++steps;
  return steps;
}

TEST(TcpTableTest, ASearchEndsAsSoonAsEveryListenerIsFound) {
  FakeProc proc;
  std::vector<pid_t> pids;
  const bool made = InOwnNetworkNamespace([&] {
    int port = 0;
    uint32_t inode = 0;
    UniqueFd listener = ListenAnywhere(&port, &inode);
    pids = WorkersHolding(proc, 100, 600, inode);
    auto table = MakeLinuxTcpTable(proc.root());
    std::unique_ptr<ListenerSearch> search = table->SearchListeningPorts(pids);
    int steps = StepsToTheEnd(*search, 2);
    EXPECT_LE(steps, 3);  // found in the first worker's fds: the 499 others are never read
    StatusOr<std::vector<int>> ports = search->Result();
    ASSERT_TRUE(ports.ok()) << ports.status().message();
    EXPECT_THAT(*ports, ::testing::ElementsAre(port));

    // A small budget paces a search that must read everything: a listener nobody holds.
    int other_port = 0;
    uint32_t other_inode = 0;
    UniqueFd other = ListenAnywhere(&other_port, &other_inode);
    search = table->SearchListeningPorts(pids);
    steps = StepsToTheEnd(*search, 2);
    EXPECT_GE(steps, 500);  // 500 fd directories, 1,000 links, 2 reads a step
    ASSERT_TRUE(search->Result().ok());
    EXPECT_THAT(*search->Result(), ::testing::ElementsAre(port));
  });
  if (!made) GTEST_SKIP() << "cannot make a network namespace (not root)";
}

TEST(TcpTableTest, APortFoundEndsTheSearchForItsOtherListeners) {
  FakeProc proc;
  std::vector<pid_t> pids;
  const bool made = InOwnNetworkNamespace([&] {
    // Two SO_REUSEPORT listeners on one port: the workers hold one; nobody the other.
    int port = 0;
    uint32_t first = 0;
    uint32_t second = 0;
    UniqueFd a = ListenAnywhere(&port, &first, /*reuse_port=*/true);
    UniqueFd b = ListenAnywhere(&port, &second, /*reuse_port=*/true);
    pids = WorkersHolding(proc, 100, 400, first);
    auto table = MakeLinuxTcpTable(proc.root());
    std::unique_ptr<ListenerSearch> search = table->SearchListeningPorts(pids);
    const int steps = StepsToTheEnd(*search, 2);
    // Over at the first worker's socket, though nobody holds the second listener: a search
    // that waited for it would read all 300 processes (about 450 steps of 2 reads).
    EXPECT_LE(steps, 3);
    ASSERT_TRUE(search->Result().ok());
    EXPECT_THAT(*search->Result(), ::testing::ElementsAre(port));
  });
  if (!made) GTEST_SKIP() << "cannot make a network namespace (not root)";
}

TEST(TcpTableTest, ASearchIsOverAtOnceWhenNothingListens) {
  FakeProc proc;
  proc.Add(100, 100, {Socket(12345)});
  const bool made = InOwnNetworkNamespace([&] {
    auto table = MakeLinuxTcpTable(proc.root());
    std::unique_ptr<ListenerSearch> search = table->SearchListeningPorts({100});
    EXPECT_TRUE(search->Step(1));  // the dumps only: /proc is not read
    ASSERT_TRUE(search->Result().ok());
    EXPECT_TRUE(search->Result()->empty());
  });
  if (!made) GTEST_SKIP() << "cannot make a network namespace (not root)";
}

// One netlink message of `type` with `payload`.
std::vector<char> Message(uint16_t type, const void* payload, size_t size, uint32_t seq = 1) {
  std::vector<char> out(NLMSG_SPACE(size));
  nlmsghdr h{};
  h.nlmsg_len = static_cast<uint32_t>(NLMSG_LENGTH(size));
  h.nlmsg_type = type;
  h.nlmsg_seq = seq;
  std::memcpy(out.data(), &h, sizeof h);
  if (size > 0) std::memcpy(out.data() + NLMSG_HDRLEN, payload, size);
  return out;
}

TEST(ParseInetDiagReplyTest, ReadsRecordsUntilDone) {
  inet_diag_msg msg{};
  msg.idiag_state = TCP_ESTABLISHED;
  msg.id.idiag_sport = htons(8000);
  msg.id.idiag_cookie[0] = 7;
  msg.id.idiag_cookie[1] = 1;
  msg.idiag_inode = 42;
  std::vector<char> buf = Message(SOCK_DIAG_BY_FAMILY, &msg, sizeof msg);
  std::vector<char> stale = Message(SOCK_DIAG_BY_FAMILY, &msg, sizeof msg, /*seq=*/9);
  buf.insert(buf.end(), stale.begin(), stale.end());
  std::vector<TcpConnection> out;
  std::vector<uint32_t> inodes;
  StatusOr<bool> done = ParseInetDiagReply(buf.data(), buf.size(), &out, &inodes, 10, 1);
  ASSERT_TRUE(done.ok());
  EXPECT_FALSE(*done);
  ASSERT_EQ(out.size(), 1u);  // The reply to another request is skipped.
  EXPECT_EQ(out[0].cookie, (1ull << 32) | 7);
  EXPECT_EQ(out[0].local_port, 8000);
  EXPECT_EQ(inodes, std::vector<uint32_t>{42});
  const int zero = 0;
  std::vector<char> end = Message(NLMSG_DONE, &zero, sizeof zero);
  done = ParseInetDiagReply(end.data(), end.size(), &out, nullptr, 10, 1);
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(*done);
}

TEST(ParseInetDiagReplyTest, MalformedErrorsAndTooManyRecordsAreErrors) {
  inet_diag_msg msg{};
  std::vector<TcpConnection> out;
  std::vector<char> buf = Message(SOCK_DIAG_BY_FAMILY, &msg, sizeof msg);
  // A length past the buffer.
  std::vector<char> cut(buf.begin(), buf.end() - 8);
  EXPECT_FALSE(ParseInetDiagReply(cut.data(), cut.size(), &out, nullptr, 10).ok());
  // A message too short for its record.
  std::vector<char> shortmsg = Message(SOCK_DIAG_BY_FAMILY, &msg, 8);
  EXPECT_FALSE(ParseInetDiagReply(shortmsg.data(), shortmsg.size(), &out, nullptr, 10).ok());
  // The kernel's error.
  nlmsgerr err{};
  err.error = -EPERM;
  std::vector<char> error = Message(NLMSG_ERROR, &err, sizeof err);
  StatusOr<bool> r = ParseInetDiagReply(error.data(), error.size(), &out, nullptr, 10);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().os_error(), EPERM);
  // An error code no kernel sends (found by the fuzzer: negating INT_MIN overflowed) is EPROTO.
  for (int odd : {INT_MIN, 5, -5000}) {
    err.error = odd;
    error = Message(NLMSG_ERROR, &err, sizeof err);
    r = ParseInetDiagReply(error.data(), error.size(), &out, nullptr, 10);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().os_error(), EPROTO) << odd;
  }
  // More records than allowed.
  out.clear();
  EXPECT_TRUE(ParseInetDiagReply(buf.data(), buf.size(), &out, nullptr, 1).ok());
  StatusOr<bool> full = ParseInetDiagReply(buf.data(), buf.size(), &out, nullptr, 1);
  ASSERT_FALSE(full.ok());
  EXPECT_THAT(full.status().message(), ::testing::HasSubstr("more than 1"));
  // A header with a zero length must not loop forever.
  std::vector<char> zero(sizeof(nlmsghdr), 0);
  EXPECT_FALSE(ParseInetDiagReply(zero.data(), zero.size(), &out, nullptr, 10).ok());
}

TEST(SocketInodeOfLinkTest, ReadsOnlySocketLinks) {
  EXPECT_EQ(SocketInodeOfLink("socket:[12345]"), 12345u);
  EXPECT_EQ(SocketInodeOfLink("socket:[]"), 0u);
  EXPECT_EQ(SocketInodeOfLink("socket:[12a]"), 0u);
  EXPECT_EQ(SocketInodeOfLink("socket:[99999999999]"), 0u);
  EXPECT_EQ(SocketInodeOfLink("pipe:[12345]"), 0u);
  EXPECT_EQ(SocketInodeOfLink("/dev/null"), 0u);
}

}  // namespace
}  // namespace vigil
