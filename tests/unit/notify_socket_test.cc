// LinuxNotifyTransport against real sockets and processes, with each way of reading senders
// (SCM_PIDFD, SCM_CREDENTIALS): who sent each datagram as read at receipt, descriptors passed
// along, oversized datagrams, the batch bound, and the socket's files.
#include "agent/notify/notify_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "agent/notify/notify_message.h"
#include "agent/sys/pidfd.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

// Sends `data` to the socket at `path`, passing `fds` along (SCM_RIGHTS).
bool SendTo(const std::string& path, const std::string& data, const std::vector<int>& fds = {}) {
  UniqueFd s(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  int size = static_cast<int>(data.size()) + 65536;
  ::setsockopt(s.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  iovec iov{const_cast<char*>(data.data()), data.size()};
  msghdr msg{};
  msg.msg_name = &addr;
  msg.msg_namelen = sizeof addr;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
  if (!fds.empty()) {
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  return ::sendmsg(s.get(), &msg, 0) == static_cast<ssize_t>(data.size());
}

// A child that sends `data` to `path` in a process group of its own, then waits for the pipe
// to close (or exits at once with `exit_at_once`); reaped on destruction.
struct Sender {
  Sender(const std::string& path, const std::string& data, bool exit_at_once) {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    pid = ::fork();
    if (pid == 0) {
      ::setpgid(0, 0);
      ::close(fds[1]);
      const bool sent = SendTo(path, data);
      if (!exit_at_once) {
        char c;
        (void)::read(fds[0], &c, 1);
      }
      ::_exit(sent ? 0 : 1);
    }
    ::close(fds[0]);
    release = fds[1];
  }
  ~Sender() {
    if (release >= 0) ::close(release);
    if (pid > 0) ::waitpid(pid, nullptr, 0);
  }
  // Waits until it has exited, without reaping it.
  void AwaitZombie() {
    siginfo_t info{};
    ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT), 0);
  }
  void Reap() {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_EQ(WEXITSTATUS(status), 0);
    pid = -1;
  }
  pid_t pid = -1;
  int release = -1;
};

// Waits until `fd` is readable (the datagram has arrived).
void AwaitDatagram(int fd) {
  pollfd p{fd, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 10000), 1);
}

class NotifySocketTest : public ::testing::TestWithParam<NotifyCredentials> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vigil-notify-sock-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    auto dir = NotifyDirectory::Open(root_ + "/notify");
    ASSERT_TRUE(dir.ok()) << dir.status().message();
    auto transport = LinuxNotifyTransport::Create(std::move(*dir), GetParam());
    ASSERT_TRUE(transport.ok()) << transport.status().message();
    transport_ = std::move(*transport);
    auto endpoint = transport_->Open("web/0", static_cast<uid_t>(-1), static_cast<gid_t>(-1));
    ASSERT_TRUE(endpoint.ok()) << endpoint.status().message();
    endpoint_ = std::move(*endpoint);
  }
  void TearDown() override {
    if (transport_) transport_->Close(endpoint_);
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  const std::string& path() const { return endpoint_.paths.socket_path; }
  std::vector<NotifyDatagram> DrainOne() {
    AwaitDatagram(endpoint_.fd.get());
    return transport_->Drain(endpoint_.fd.get(), 64, {});
  }
  NotifySender::Source Expected() const {
    return GetParam() == NotifyCredentials::kUcred ? NotifySender::Source::kUcred
                                                   : NotifySender::Source::kPidfd;
  }

  std::string root_;
  std::unique_ptr<LinuxNotifyTransport> transport_;
  NotifyEndpoint endpoint_;
};

TEST_P(NotifySocketTest, TheModeAskedForIsTheModeUsed) {
  EXPECT_EQ(transport_->uses_pidfd(), GetParam() != NotifyCredentials::kUcred);
}

TEST_P(NotifySocketTest, ADatagramCarriesItsLiveSenderWithPidGroupAndIdentity) {
  ASSERT_TRUE(SendTo(path(), "READY=1"));
  auto got = DrainOne();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].data, "READY=1");
  EXPECT_EQ(got[0].size, 7u);
  EXPECT_EQ(got[0].sender.source, Expected());
  EXPECT_EQ(got[0].sender.process.pid, ::getpid());
  EXPECT_EQ(got[0].sender.process.pgid, ::getpgrp());
  EXPECT_FALSE(got[0].sender.process.exited);
  EXPECT_EQ(got[0].sender.uid, ::getuid());
  EXPECT_EQ(got[0].sender.credentials_pid, ::getpid());
  EXPECT_EQ(got[0].fds_passed, 0);
}

TEST_P(NotifySocketTest, TheRunsOwnProcessesAreKnownWithoutReadingMore) {
  auto self = OpenPidfd(::getpid());
  ASSERT_TRUE(self.ok());
  KnownSenders known;
  known.leader_identity = PidfdIdentity(self->get());
  known.leader_pid = ::getpid();
  ASSERT_TRUE(SendTo(path(), "WATCHDOG=1"));
  AwaitDatagram(endpoint_.fd.get());
  auto got = transport_->Drain(endpoint_.fd.get(), 64, known);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].sender.process.pid, ::getpid());
  EXPECT_EQ(got[0].sender.process.pgid, -1);  // Not read: not needed.
  if (GetParam() != NotifyCredentials::kUcred) {
    EXPECT_EQ(got[0].sender.process.identity, known.leader_identity);
  }
}

TEST_P(NotifySocketTest, AnotherProcessGroupIsSeenAsSuch) {
  Sender sender(path(), "X_VIGIL_STOP=1", /*exit_at_once=*/false);
  auto got = DrainOne();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].sender.process.pid, sender.pid);
  EXPECT_EQ(got[0].sender.process.pgid, sender.pid);
}

TEST_P(NotifySocketTest, ASenderExitedButNotReapedStillShowsItsGroup) {
  Sender sender(path(), "READY=1", /*exit_at_once=*/true);
  sender.AwaitZombie();
  auto got = transport_->Drain(endpoint_.fd.get(), 64, {});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].sender.process.pid, sender.pid);
  EXPECT_EQ(got[0].sender.process.pgid, sender.pid);
  EXPECT_TRUE(got[0].sender.process.exited);
}

// Issue 10, defect 2: the sender of a datagram read after it was reaped must not be taken for
// whoever has its pid now (nor believed): it shows as gone.
TEST_P(NotifySocketTest, ASenderReapedBeforeItsDatagramIsReadIsGone) {
  Sender sender(path(), "X_VIGIL_STOP=1", /*exit_at_once=*/true);
  const pid_t pid = sender.pid;
  sender.Reap();
  auto got = DrainOne();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].sender.source, Expected());
  EXPECT_EQ(got[0].sender.process.pid, -1);
  EXPECT_EQ(got[0].sender.process.pgid, -1);
  EXPECT_EQ(got[0].sender.credentials_pid, pid);
}

TEST_P(NotifySocketTest, PassedDescriptorsAreClosedAndCounted) {
  // 253: the most one message can carry (SCM_MAX_FD). The pipes' read ends see EOF only once
  // every write end is closed, the transport's copies included.
  std::vector<int> reads, writes;
  for (int i = 0; i < 253; ++i) {
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    reads.push_back(p[0]);
    writes.push_back(p[1]);
  }
  ASSERT_TRUE(SendTo(path(), "READY=1", writes));
  for (int w : writes)
    ::close(w);
  auto got = DrainOne();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].fds_passed, 253);
  EXPECT_FALSE(got[0].control_truncated);
  for (int r : reads) {
    char c;
    EXPECT_EQ(::read(r, &c, 1), 0) << "a passed descriptor was kept open";
    ::close(r);
  }
}

TEST_P(NotifySocketTest, OversizedDatagramsKeepTheirRealSize) {
  for (size_t size : {kMaxNotifyDatagram + 1, size_t{64} * 1024, size_t{200} * 1024}) {
    ASSERT_TRUE(SendTo(path(), std::string(size, 'x'))) << size;
    auto got = DrainOne();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_TRUE(got[0].truncated);
    EXPECT_EQ(got[0].size, size);
    EXPECT_EQ(got[0].data.size(), kMaxNotifyDatagram);
  }
  ASSERT_TRUE(SendTo(path(), std::string(kMaxNotifyDatagram, 'x')));
  EXPECT_FALSE(DrainOne()[0].truncated);
}

// Datagrams are read several to a system call: each keeps its own bytes, size, truncation,
// passed descriptors and sender, whatever its neighbours were.
TEST_P(NotifySocketTest, DatagramsReadTogetherKeepEachTheirOwnSizeAndDescriptors) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  ASSERT_TRUE(SendTo(path(), std::string(kMaxNotifyDatagram + 7, 'x')));
  ASSERT_TRUE(SendTo(path(), "STATUS=a", {p[1]}));
  ::close(p[1]);
  ASSERT_TRUE(SendTo(path(), "READY=1"));
  ASSERT_TRUE(SendTo(path(), std::string(kMaxNotifyDatagram, 'y')));
  ASSERT_TRUE(SendTo(path(), "WATCHDOG=1"));
  auto got = DrainOne();
  ASSERT_EQ(got.size(), 5u);
  EXPECT_TRUE(got[0].truncated);
  EXPECT_EQ(got[0].size, kMaxNotifyDatagram + 7);
  EXPECT_EQ(got[1].data, "STATUS=a");
  EXPECT_EQ(got[1].fds_passed, 1);
  EXPECT_FALSE(got[1].truncated);
  EXPECT_EQ(got[2].data, "READY=1");
  EXPECT_EQ(got[2].fds_passed, 0);
  EXPECT_FALSE(got[3].truncated);
  EXPECT_EQ(got[3].data, std::string(kMaxNotifyDatagram, 'y'));
  EXPECT_EQ(got[4].data, "WATCHDOG=1");
  for (const NotifyDatagram& d : got) {
    EXPECT_EQ(d.sender.source, Expected());
    EXPECT_EQ(d.sender.process.pid, ::getpid());
  }
  char c;
  EXPECT_EQ(::read(p[0], &c, 1), 0) << "the passed descriptor was kept open";
  ::close(p[0]);
}

TEST_P(NotifySocketTest, DrainReadsAtMostItsBatch) {
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(SendTo(path(), "STATUS=" + std::to_string(i)));
  auto first = transport_->Drain(endpoint_.fd.get(), 3, {});
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[2].data, "STATUS=2");
  EXPECT_EQ(transport_->Drain(endpoint_.fd.get(), 64, {}).size(), 7u);
  EXPECT_TRUE(transport_->Drain(endpoint_.fd.get(), 64, {}).empty());
}

TEST_P(NotifySocketTest, CloseRemovesTheSocketAndItsDirectory) {
  const std::string socket = path();
  const std::string dir = fs::path(socket).parent_path();
  EXPECT_TRUE(fs::is_socket(socket));
  transport_->Close(endpoint_);
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_FALSE(endpoint_.fd.valid());
  transport_->Close(endpoint_);  // Twice: nothing left to do.
}

// A burst of exits: sockets closed at once (no datagram is read any more), directories removed
// together afterwards, and only then; outside a hold, Close() removes at once again.
TEST_P(NotifySocketTest,
       WhileRemovalsAreHeldCloseClosesTheSocketAndLeavesTheDirectoryUntilReleased) {
  auto second = transport_->Open("web/1", static_cast<uid_t>(-1), static_cast<gid_t>(-1));
  ASSERT_TRUE(second.ok()) << second.status().message();
  const std::string dir0 = fs::path(path()).parent_path();
  const std::string dir1 = fs::path(second->paths.socket_path).parent_path();
  transport_->HoldRemovals();
  transport_->Close(endpoint_);
  transport_->Close(*second);
  EXPECT_FALSE(endpoint_.fd.valid());
  EXPECT_FALSE(second->fd.valid());
  EXPECT_TRUE(fs::exists(dir0));
  EXPECT_TRUE(fs::exists(dir1));
  transport_->ReleaseRemovals();
  EXPECT_FALSE(fs::exists(dir0));
  EXPECT_FALSE(fs::exists(dir1));
  auto third = transport_->Open("web/2", static_cast<uid_t>(-1), static_cast<gid_t>(-1));
  ASSERT_TRUE(third.ok()) << third.status().message();
  const std::string dir2 = fs::path(third->paths.socket_path).parent_path();
  transport_->Close(*third);
  EXPECT_FALSE(fs::exists(dir2));
}

INSTANTIATE_TEST_SUITE_P(Credentials, NotifySocketTest,
                         ::testing::Values(NotifyCredentials::kPidfd, NotifyCredentials::kUcred),
                         [](const auto& param_info) {
                           return NotifyCredentialsName(param_info.param);
                         });

}  // namespace
}  // namespace vigil
