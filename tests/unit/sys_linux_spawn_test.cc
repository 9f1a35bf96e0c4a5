// LinuxOs::Spawn against the real kernel: what the child does between clone(CLONE_VM |
// CLONE_VFORK) and exec (linux_spawn.cc). The parent is suspended until the child has exec'd,
// so each test reads the child's state in /proc/PID (signals, groups, descriptors, credentials,
// directory) while it runs `sleep`.
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/base/unique_fd.h"
#include "agent/sys/linux_os.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vigil {
namespace {

using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// One line of /proc/PID/status ("SigIgn:\t0000000000000001" -> "0000000000000001").
std::string StatusField(pid_t pid, const std::string& field) {
  std::istringstream in(ReadFile("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) == 0) {
      const size_t start = line.find_first_not_of(" \t", field.size() + 1);
      return start == std::string::npos ? "" : line.substr(start);
    }
  }
  return "?";
}

uint64_t SignalBits(pid_t pid, const std::string& field) {
  return std::stoull(StatusField(pid, field), nullptr, 16);
}

uint64_t Bit(int signo) {
  return uint64_t{1} << (signo - 1);
}

// The descriptors open in PID, by number.
std::set<int> OpenFds(pid_t pid) {
  std::set<int> fds;
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd/";
  for (int fd = 0; fd < 1024; ++fd) {
    struct stat st;
    if (::lstat((dir + std::to_string(fd)).c_str(), &st) == 0) fds.insert(fd);
  }
  return fds;
}

// Waits until PID runs `sleep` (its exec finished, close-on-exec done); false after 10 s.
bool WaitUntilSleeping(pid_t pid) {
  const std::string stat = "/proc/" + std::to_string(pid) + "/stat";
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (ReadFile(stat).find("(sleep) S") == std::string::npos) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

ino_t InodeOf(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

ino_t FdInode(pid_t pid, int fd) {
  return InodeOf("/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd));
}

class LinuxSpawnTest : public ::testing::Test {
 protected:
  ~LinuxSpawnTest() override {
    if (child_.pid > 0) {
      ::kill(child_.pid, SIGKILL);
      int status;
      ::waitpid(child_.pid, &status, 0);
    }
  }

  // Spawns `sleep 30` with what the test set in request_; fails the test if it does not run.
  void SpawnSleeper() {
    request_.argv = {"sleep", "30"};
    SpawnError error;
    ASSERT_TRUE(os_.Spawn(request_, &child_, &error)) << error.status.message();
    ASSERT_GT(child_.pid, 0);
    // The parent resumes once the child's exec has replaced its memory, before the kernel has
    // finished the exec (the name, close-on-exec): wait until `sleep` itself sleeps.
    ASSERT_TRUE(WaitUntilSleeping(child_.pid))
        << ReadFile("/proc/" + std::to_string(child_.pid) + "/stat");
  }

  LinuxOs os_;
  SpawnRequest request_;
  SpawnedChild child_;
};

TEST_F(LinuxSpawnTest, TheChildRunsInItsOwnProcessGroupWithAPidfd) {
  SpawnSleeper();
  EXPECT_EQ(::getpgid(child_.pid), child_.pid);
  EXPECT_EQ(::getsid(child_.pid), ::getsid(0));
  ASSERT_TRUE(child_.pidfd);
  EXPECT_EQ(os_.InspectPidfd(child_.pidfd.get()).pid, child_.pid);
  EXPECT_NE(::fcntl(child_.pidfd.get(), F_GETFD) & FD_CLOEXEC, 0);
}

TEST_F(LinuxSpawnTest, ANewSessionIsLedByTheChild) {
  request_.new_session = true;
  SpawnSleeper();
  EXPECT_EQ(::getsid(child_.pid), child_.pid);
  EXPECT_EQ(::getpgid(child_.pid), child_.pid);
}

TEST_F(LinuxSpawnTest, AnExecFailureReportsItsErrno) {
  request_.argv = {"/nonexistent/vigil-no-such-program"};
  SpawnError error;
  EXPECT_FALSE(os_.Spawn(request_, &child_, &error));
  EXPECT_EQ(error.exec_errno, ENOENT);
  EXPECT_THAT(error.status.message(), HasSubstr("cannot run '/nonexistent/vigil-no-such-program'"));

  request_.argv = {"/etc/passwd"};  // Not executable.
  SpawnError denied;
  EXPECT_FALSE(os_.Spawn(request_, &child_, &denied));
  EXPECT_EQ(denied.exec_errno, EACCES);
  // The failed child was reaped by Spawn itself: no zombie is left for the caller.
  int status;
  EXPECT_EQ(::waitpid(-1, &status, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

TEST_F(LinuxSpawnTest, AFailingSetupStepIsNamedWithItsErrno) {
  request_.argv = {"sleep", "30"};
  request_.working_dir = "/nonexistent/vigil-no-such-dir";
  SpawnError error;
  EXPECT_FALSE(os_.Spawn(request_, &child_, &error));
  EXPECT_EQ(error.exec_errno, 0);  // Not an exec failure: no 126/127.
  EXPECT_THAT(error.status.message(), HasSubstr("chdir"));
  EXPECT_EQ(error.status.os_error(), ENOENT);

  request_.working_dir.clear();
  request_.stdout_fd = 1000;  // Not open.
  SpawnError dup_error;
  EXPECT_FALSE(os_.Spawn(request_, &child_, &dup_error));
  EXPECT_THAT(dup_error.status.message(), HasSubstr("dup2"));
  EXPECT_EQ(dup_error.status.os_error(), EBADF);
}

TEST_F(LinuxSpawnTest, DispositionsAreResetAndTheMaskIsEmptyWhateverTheParentHas) {
  // The parent (this test) ignores SIGHUP, handles SIGUSR1 and blocks SIGUSR2; the child starts
  // with none of it.
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction handle {};
  handle.sa_handler = [](int) {};
  struct sigaction old_hup, old_usr1;
  ASSERT_EQ(::sigaction(SIGHUP, &ignore, &old_hup), 0);
  ASSERT_EQ(::sigaction(SIGUSR1, &handle, &old_usr1), 0);
  sigset_t usr2, old_mask;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  ASSERT_EQ(::sigprocmask(SIG_BLOCK, &usr2, &old_mask), 0);

  SpawnSleeper();
  const uint64_t ignored = SignalBits(child_.pid, "SigIgn");
  const uint64_t blocked = SignalBits(child_.pid, "SigBlk");
  // Spawn gives the caller its own mask back.
  sigset_t after;
  ::sigprocmask(SIG_SETMASK, &old_mask, &after);
  ::sigaction(SIGHUP, &old_hup, nullptr);
  ::sigaction(SIGUSR1, &old_usr1, nullptr);
  EXPECT_EQ(ignored, 0u);
  EXPECT_EQ(blocked, 0u);
  EXPECT_EQ(sigismember(&after, SIGUSR2), 1);
  EXPECT_EQ(sigismember(&after, SIGUSR1), 0);
}

TEST_F(LinuxSpawnTest, ASignalStateIsGivenToTheChildAsIs) {
  ChildSignalState state;
  sigemptyset(&state.blocked);
  sigemptyset(&state.ignored);
  sigaddset(&state.blocked, SIGUSR1);
  sigaddset(&state.blocked, SIGRTMIN + 1);
  sigaddset(&state.ignored, SIGHUP);
  sigaddset(&state.ignored, SIGPIPE);
  request_.signal_state = state;
  SpawnSleeper();
  EXPECT_EQ(SignalBits(child_.pid, "SigBlk"), Bit(SIGUSR1) | Bit(SIGRTMIN + 1));
  EXPECT_EQ(SignalBits(child_.pid, "SigIgn"), Bit(SIGHUP) | Bit(SIGPIPE));
}

TEST_F(LinuxSpawnTest, OnlyTheStandardDescriptorsAndThePassedOneSurvive) {
  // Inheritable descriptors of the parent's, low and high: none reaches the child.
  const int low = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC
  ASSERT_GE(low, 0);
  const int high = ::fcntl(low, F_DUPFD, 700);
  ASSERT_GE(high, 700);
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  request_.pass_fd = pipe_fds[1];
  request_.stdout_fd = pipe_fds[1];
  SpawnSleeper();
  const std::set<int> fds = OpenFds(child_.pid);
  struct stat passed, seen, out;
  ASSERT_EQ(::fstat(pipe_fds[1], &passed), 0);
  const std::string dir = "/proc/" + std::to_string(child_.pid) + "/fd/";
  ASSERT_EQ(::stat((dir + "3").c_str(), &seen), 0);
  ASSERT_EQ(::stat((dir + "1").c_str(), &out), 0);
  ::close(low);
  ::close(high);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  EXPECT_EQ(fds, (std::set<int>{0, 1, 2, 3}));
  EXPECT_EQ(seen.st_ino, passed.st_ino);
  EXPECT_EQ(out.st_ino, passed.st_ino);
}

TEST_F(LinuxSpawnTest, APassedDescriptorAlreadyAtThreeStaysAndBecomesInheritable) {
  // Whatever is at 3 now moves away, and the passed descriptor takes its place, close-on-exec.
  const int saved3 = ::fcntl(3, F_DUPFD_CLOEXEC, 10);
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  ASSERT_EQ(::dup3(pipe_fds[1], 3, O_CLOEXEC), 3);
  request_.pass_fd = 3;
  SpawnSleeper();
  const std::set<int> fds = OpenFds(child_.pid);
  if (saved3 >= 0) {
    ::dup3(saved3, 3, O_CLOEXEC);
    ::close(saved3);
  } else {
    ::close(3);
  }
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  EXPECT_EQ(fds, (std::set<int>{0, 1, 2, 3}));
}

TEST_F(LinuxSpawnTest, TheWorkingDirectoryAndEnvironmentAreTheRequests) {
  request_.working_dir = "/tmp";
  request_.env = std::vector<std::string>{"VIGIL_SPAWN_TEST=1", "PATH=/usr/bin:/bin"};
  SpawnSleeper();
  char cwd[256] = {};
  ASSERT_GT(
      ::readlink(("/proc/" + std::to_string(child_.pid) + "/cwd").c_str(), cwd, sizeof cwd - 1), 0);
  EXPECT_STREQ(cwd, "/tmp");
  const std::string env = ReadFile("/proc/" + std::to_string(child_.pid) + "/environ");
  EXPECT_EQ(env, std::string("VIGIL_SPAWN_TEST=1\0PATH=/usr/bin:/bin\0", 38));
}

TEST_F(LinuxSpawnTest, CredentialsAndGroupsAreDroppedToTheRequestedUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to change credentials";
  request_.uid = 65534;
  request_.gid = 65533;
  request_.groups = {65533, 4242};
  SpawnSleeper();
  EXPECT_EQ(StatusField(child_.pid, "Uid"), "65534\t65534\t65534\t65534");
  EXPECT_EQ(StatusField(child_.pid, "Gid"), "65533\t65533\t65533\t65533");
  EXPECT_EQ(StatusField(child_.pid, "Groups"), "4242 65533 ");  // The kernel sorts them.
  // The parent's own credentials are untouched (the child shared its memory, not its creds).
  EXPECT_EQ(::geteuid(), 0u);
  EXPECT_EQ(::getegid(), 0u);
}

TEST_F(LinuxSpawnTest, ManySpawnsLeaveNoDescriptorOrMappingBehind) {
  const std::set<int> before = OpenFds(::getpid());
  const uint64_t vm_before = std::stoull(StatusField(::getpid(), "VmSize"));
  for (int i = 0; i < 50; ++i) {
    request_.argv = {"/nonexistent/vigil-no-such-program"};
    SpawnError error;
    ASSERT_FALSE(os_.Spawn(request_, &child_, &error));
    ASSERT_EQ(error.exec_errno, ENOENT);
  }
  EXPECT_EQ(OpenFds(::getpid()), before);
  // Each child's stack (64 KiB and more) is unmapped again: 50 of them left behind would be
  // over 3 MiB.
  EXPECT_LT(std::stoull(StatusField(::getpid(), "VmSize")), vm_before + 1024);  // kB
}

TEST_F(LinuxSpawnTest, HighDescriptorsReachTheChildAndTheParentsTableIsLeftAsItWas) {
  // A table like a core's with 450 workers: the child's own descriptors are the newest, far
  // above the spawn slots. The child shares the table until it has made its own
  // (spawn_slots.h): its moves onto 1, 2 and 3 must not reach the parent's, and the parent must
  // hold no copy of them afterwards.
  std::vector<UniqueFd> filler;
  const int base = ::eventfd(0, EFD_CLOEXEC);
  ASSERT_GE(base, 0);
  filler.emplace_back(base);
  for (int i = 0; i < 900; ++i) {
    filler.emplace_back(::fcntl(base, F_DUPFD_CLOEXEC, 0));
    ASSERT_TRUE(filler.back());
  }
  int out[2], passed[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(passed, O_CLOEXEC), 0);
  ASSERT_GT(out[1], 900);
  const ino_t parent_stdout = FdInode(::getpid(), 1);
  const ino_t parent_stderr = FdInode(::getpid(), 2);
  const ino_t parent_3 = FdInode(::getpid(), 3);
  const std::set<int> before = OpenFds(::getpid());
  request_.stdout_fd = out[1];
  request_.stderr_fd = out[1];
  request_.pass_fd = passed[0];
  SpawnSleeper();

  EXPECT_EQ(OpenFds(child_.pid), (std::set<int>{0, 1, 2, 3}));
  EXPECT_EQ(FdInode(child_.pid, 1), FdInode(::getpid(), out[1]));
  EXPECT_EQ(FdInode(child_.pid, 2), FdInode(::getpid(), out[1]));
  EXPECT_EQ(FdInode(child_.pid, 3), FdInode(::getpid(), passed[0]));
  EXPECT_EQ(FdInode(::getpid(), 1), parent_stdout);
  EXPECT_EQ(FdInode(::getpid(), 2), parent_stderr);
  EXPECT_EQ(FdInode(::getpid(), 3), parent_3);
  std::set<int> after = before;
  after.insert(child_.pidfd.get());  // the one descriptor a spawn adds
  EXPECT_EQ(OpenFds(::getpid()), after);

  // Once the parent closes its write end, the child's exit is the pipe's end: no slot still
  // holds a copy.
  ::close(out[1]);
  ::kill(child_.pid, SIGKILL);
  struct pollfd pfd = {out[0], POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 10000), 1);
  char byte;
  EXPECT_EQ(::read(out[0], &byte, 1), 0);
  ::close(out[0]);
  ::close(passed[0]);
  ::close(passed[1]);
}

// Runs `body` in a forked process under a seccomp filter that refuses close_range (and unshare,
// when `refuse_unshare`) with EPERM, as an old container runtime's profile does; the test
// fails with the body's exit code when that is not 0.
void UnderSeccomp(bool refuse_unshare, int (*body)()) {
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    constexpr unsigned kRefuse = SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA);
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_close_range, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, kRefuse),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_unshare, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, refuse_unshare ? kRefuse : SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog program = {static_cast<unsigned short>(std::size(filter)), filter};
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0)
      ::_exit(90);
    ::_exit(body());
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// Two spawns (the second after Spawn has learnt what the kernel refuses), each `sleep` with its
// stdout on a pipe and fd 3 passed: 0 when both ran with exactly 0-3, else the failed check.
int SpawnTwiceWithDescriptors() {
  LinuxOs os;
  for (int round = 0; round < 2; ++round) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return 10;
    SpawnRequest request;
    request.argv = {"sleep", "30"};
    request.stdout_fd = out[1];
    request.pass_fd = out[0];
    SpawnedChild child;
    SpawnError error;
    if (!os.Spawn(request, &child, &error)) return 20 + round;
    const bool sleeping = WaitUntilSleeping(child.pid);
    const bool fds_ok = OpenFds(child.pid) == std::set<int>{0, 1, 2, 3} &&
                        FdInode(child.pid, 1) == FdInode(::getpid(), out[1]) &&
                        FdInode(child.pid, 3) == FdInode(::getpid(), out[0]);
    ::kill(child.pid, SIGKILL);
    int status;
    ::waitpid(child.pid, &status, 0);
    ::close(out[0]);
    ::close(out[1]);
    if (!sleeping) return 30 + round;
    if (!fds_ok) return 40 + round;
  }
  return 0;
}

TEST(LinuxSpawnSeccompTest, WithoutCloseRangeTheChildUnsharesItsTable) {
  UnderSeccomp(false, SpawnTwiceWithDescriptors);
}

TEST(LinuxSpawnSeccompTest, WithoutCloseRangeOrUnshareTheTableIsCopiedByClone) {
  UnderSeccomp(true, SpawnTwiceWithDescriptors);
}

}  // namespace
}  // namespace vigil
