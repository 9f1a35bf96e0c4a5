// Pidfds read race-free (agent/sys/pidfd.h), against real processes.
#include "agent/sys/pidfd.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace vigil {
namespace {

// A child that waits on a pipe, in a process group of its own; killed and reaped on destruction.
struct Child {
  Child() {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    pid = ::fork();
    if (pid == 0) {
      ::setpgid(0, 0);
      ::close(fds[1]);
      char c;
      (void)::read(fds[0], &c, 1);
      ::_exit(0);
    }
    ::close(fds[0]);
    release = fds[1];
    ::setpgid(pid, pid);  // Either side may win; both ask for the same.
  }
  ~Child() {
    if (release >= 0) ::close(release);
    if (pid > 0) ::waitpid(pid, nullptr, 0);
  }
  // Lets it exit; returns once it is a zombie (not reaped).
  void Exit() {
    ::close(release);
    release = -1;
    siginfo_t info{};
    ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT), 0);
  }
  void Reap() {
    Exit();
    ::waitpid(pid, nullptr, 0);
    pid = -1;
  }
  pid_t pid = -1;
  int release = -1;
};

TEST(PidfdTest, ALiveProcessShowsItsPidGroupAndIdentity) {
  auto self = OpenPidfd(::getpid());
  ASSERT_TRUE(self.ok()) << self.status().message();
  ProcessFacts facts = InspectPidfd(self->get());
  EXPECT_EQ(facts.pid, ::getpid());
  EXPECT_EQ(facts.pgid, ::getpgrp());
  EXPECT_FALSE(facts.exited);
  Child child;
  auto other = OpenPidfd(child.pid);
  ASSERT_TRUE(other.ok());
  ProcessFacts child_facts = InspectPidfd(other->get());
  EXPECT_EQ(child_facts.pid, child.pid);
  EXPECT_EQ(child_facts.pgid, child.pid);
  // Identities (pidfs, Linux 6.9+): one per process, whatever the pidfd.
  if (facts.identity != 0) {
    auto again = OpenPidfd(::getpid());
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(PidfdIdentity(again->get()), facts.identity);
    EXPECT_NE(child_facts.identity, facts.identity);
  }
}

TEST(PidfdTest, AZombieHasExitedButKeepsItsPidAndGroup) {
  Child child;
  auto fd = OpenPidfd(child.pid);
  ASSERT_TRUE(fd.ok());
  child.Exit();
  ProcessFacts facts = InspectPidfd(fd->get());
  EXPECT_EQ(facts.pid, child.pid);
  EXPECT_EQ(facts.pgid, child.pid);
  EXPECT_TRUE(facts.exited);
}

TEST(PidfdTest, AReapedProcessIsGoneButKeepsItsIdentity) {
  Child child;
  const pid_t pid = child.pid;
  auto fd = OpenPidfd(pid);
  ASSERT_TRUE(fd.ok());
  const uint64_t identity = PidfdIdentity(fd->get());
  child.Reap();
  ProcessFacts facts = InspectPidfd(fd->get());
  EXPECT_EQ(facts.pid, -1);
  EXPECT_EQ(facts.pgid, -1);
  EXPECT_TRUE(facts.exited);
  EXPECT_EQ(facts.identity, identity);
  EXPECT_EQ(OpenPidfd(pid).status().os_error(), ESRCH);
}

}  // namespace
}  // namespace vigil
