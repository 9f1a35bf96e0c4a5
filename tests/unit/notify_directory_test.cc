// NotifyDirectory against a real filesystem, in a fresh temporary directory per test: what it
// creates and refuses at start-up, each run's directory and socket (modes, owners), what it
// removes and what it leaves alone.
#include "agent/notify/notify_directory.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

namespace vigil {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class NotifyDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vigil-notify-dir-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    ::chmod(root_.c_str(), 0755);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  static UniqueFd Socket() { return UniqueFd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)); }
  static struct stat Lstat(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st;
  }
  std::string root_;
};

TEST_F(NotifyDirectoryTest, CreatesItsDirectoryAndMissingParents) {
  const std::string path = root_ + "/run/vigil/notify";
  auto dir = NotifyDirectory::Open(path + "/");
  ASSERT_TRUE(dir.ok()) << dir.status().message();
  EXPECT_EQ(dir->path(), path);
  EXPECT_EQ(Lstat(path).st_mode & 07777, 0711u);
  EXPECT_EQ(Lstat(root_ + "/run/vigil").st_mode & 07777, 0755u);
  EXPECT_TRUE(NotifyDirectory::Open(path).ok());  // Existing and safe: fine.
}

TEST_F(NotifyDirectoryTest, RefusesUnsafeDirectoriesNamingThePathAndTheFix) {
  auto refused = [&](const std::string& path, const std::string& why) {
    auto dir = NotifyDirectory::Open(path);
    ASSERT_FALSE(dir.ok()) << path;
    EXPECT_THAT(dir.status().message(), HasSubstr(path));
    EXPECT_THAT(dir.status().message(), HasSubstr(why));
    EXPECT_THAT(dir.status().message(), HasSubstr("notify.directory (--notify-dir"));
  };
  ASSERT_EQ(::mkdir((root_ + "/open").c_str(), 0777), 0);
  ::chmod((root_ + "/open").c_str(), 0777);
  refused(root_ + "/open", "others can write it (mode 0777)");
  ASSERT_EQ(::mkdir((root_ + "/real").c_str(), 0711), 0);
  ASSERT_EQ(::symlink((root_ + "/real").c_str(), (root_ + "/link").c_str()), 0);
  refused(root_ + "/link", "symbolic link");
  std::ofstream(root_ + "/file") << "not a directory";
  refused(root_ + "/file", "not a directory");
  if (::geteuid() == 0) {
    ASSERT_EQ(::mkdir((root_ + "/theirs").c_str(), 0700), 0);
    ASSERT_EQ(::chown((root_ + "/theirs").c_str(), 65534, 65534), 0);
    refused(root_ + "/theirs", "belongs to uid 65534");
  }
}

TEST_F(NotifyDirectoryTest, ADirectoryThatCannotBeMadeNamesTheFix) {
  std::ofstream(root_ + "/blocker") << "x";
  auto dir = NotifyDirectory::Open(root_ + "/blocker/notify");
  ASSERT_FALSE(dir.ok());
  EXPECT_THAT(dir.status().message(),
              HasSubstr("cannot create the notify directory " + root_ + "/blocker/notify"));
  EXPECT_THAT(dir.status().message(), HasSubstr("emptyDir at " + root_ + "/blocker"));
}

TEST_F(NotifyDirectoryTest, RefusesRelativeAndOverlongPaths) {
  EXPECT_THAT(NotifyDirectory::Open("run/notify").status().message(), HasSubstr("absolute"));
  const std::string deep = root_ + "/" + std::string(NotifyDirectory::kMaxPath, 'x');
  EXPECT_THAT(NotifyDirectory::Open(deep).status().message(), HasSubstr("bytes long"));
}

TEST_F(NotifyDirectoryTest, EachRunGetsA0700DirectoryAndA0600SocketOfItsOwner) {
  auto dir = NotifyDirectory::Open(root_ + "/notify");
  ASSERT_TRUE(dir.ok());
  UniqueFd a = Socket(), b = Socket();
  const uid_t owner = ::geteuid() == 0 ? 65534 : static_cast<uid_t>(-1);
  auto run_a = dir->CreateRun(a.get(), owner, owner);
  auto run_b = dir->CreateRun(b.get(), static_cast<uid_t>(-1), static_cast<gid_t>(-1));
  ASSERT_TRUE(run_a.ok()) << run_a.status().message();
  ASSERT_TRUE(run_b.ok());
  EXPECT_NE(run_a->name, run_b->name);
  EXPECT_EQ(run_a->socket_path, root_ + "/notify/" + run_a->name + "/notify");
  const struct stat d = Lstat(root_ + "/notify/" + run_a->name);
  const struct stat s = Lstat(run_a->socket_path);
  EXPECT_EQ(d.st_mode & 07777, 0700u);
  EXPECT_TRUE(S_ISSOCK(s.st_mode));
  EXPECT_EQ(s.st_mode & 07777, 0600u);
  EXPECT_EQ(s.st_ino, run_a->socket_inode);
  if (::geteuid() == 0) {
    EXPECT_EQ(d.st_uid, 65534u);
    EXPECT_EQ(s.st_uid, 65534u);
    EXPECT_EQ(s.st_gid, 65534u);
    EXPECT_EQ(Lstat(run_b->socket_path).st_uid, 0u);
  }
  dir->RemoveRun(*run_a);
  EXPECT_FALSE(fs::exists(root_ + "/notify/" + run_a->name));
  EXPECT_TRUE(fs::exists(run_b->socket_path));
}

TEST_F(NotifyDirectoryTest, RemovesOnlyTheSocketItBoundAndOnlyAnEmptyDirectory) {
  auto dir = NotifyDirectory::Open(root_ + "/notify");
  ASSERT_TRUE(dir.ok());
  UniqueFd s = Socket();
  auto run = dir->CreateRun(s.get(), static_cast<uid_t>(-1), static_cast<gid_t>(-1));
  ASSERT_TRUE(run.ok());
  // The worker (owner of the run's directory) replaced the socket with a file of its own.
  ASSERT_EQ(::unlink(run->socket_path.c_str()), 0);
  std::ofstream(run->socket_path) << "the worker's";
  dir->RemoveRun(*run);
  EXPECT_TRUE(fs::exists(run->socket_path));  // Not Vigil's: left, and so is the directory.
}

TEST_F(NotifyDirectoryTest, AMovedDirectoryIsNeverWrittenThrough) {
  auto dir = NotifyDirectory::Open(root_ + "/notify");
  ASSERT_TRUE(dir.ok());
  ASSERT_EQ(::rename((root_ + "/notify").c_str(), (root_ + "/moved").c_str()), 0);
  ASSERT_EQ(::mkdir((root_ + "/notify").c_str(), 0711), 0);  // Someone else's, say.
  UniqueFd s = Socket();
  auto run = dir->CreateRun(s.get(), static_cast<uid_t>(-1), static_cast<gid_t>(-1));
  ASSERT_FALSE(run.ok());
  EXPECT_THAT(run.status().message(), HasSubstr("moved or replaced"));
  EXPECT_TRUE(fs::is_empty(root_ + "/notify"));
}

TEST_F(NotifyDirectoryTest, AtStartUpOnlyProvablyStaleRunsOfVigilAreRemoved) {
  const std::string path = root_ + "/notify";
  UniqueFd live = Socket();
  std::string stale_name, live_name, busy_name;
  {
    auto earlier = NotifyDirectory::Open(path);
    ASSERT_TRUE(earlier.ok());
    UniqueFd gone = Socket(), busy = Socket();
    auto stale = earlier->CreateRun(gone.get(), static_cast<uid_t>(-1), static_cast<gid_t>(-1));
    auto alive = earlier->CreateRun(live.get(), static_cast<uid_t>(-1), static_cast<gid_t>(-1));
    auto extra = earlier->CreateRun(busy.get(), static_cast<uid_t>(-1), static_cast<gid_t>(-1));
    ASSERT_TRUE(stale.ok() && alive.ok() && extra.ok());
    stale_name = stale->name;
    live_name = alive->name;
    busy_name = extra->name;
    std::ofstream(path + "/" + busy_name + "/core") << "left by the worker";
  }  // That Vigil died: its sockets closed, but still bound to nobody on disk.
  std::ofstream(path + "/README") << "not Vigil's";
  ASSERT_EQ(::mkdir((path + "/0000000g-1").c_str(), 0700), 0);  // Not a name Vigil makes.
  auto dir = NotifyDirectory::Open(path);
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(dir->stale_removed(), 1);
  EXPECT_FALSE(fs::exists(path + "/" + stale_name));
  EXPECT_TRUE(fs::exists(path + "/" + live_name + "/notify"));  // Someone is bound to it.
  EXPECT_TRUE(fs::exists(path + "/" + busy_name + "/core"));    // Not only a socket.
  EXPECT_TRUE(fs::exists(path + "/README"));
  EXPECT_TRUE(fs::exists(path + "/0000000g-1"));
}

TEST_F(NotifyDirectoryTest, AWorkerUserThatCannotPassThroughIsNamedWithTheDirectoryInTheWay) {
  const std::string closed = root_ + "/closed";
  ASSERT_EQ(::mkdir(closed.c_str(), 0700), 0);
  ::chmod(closed.c_str(), 0700);
  auto dir = NotifyDirectory::Open(closed + "/notify");
  ASSERT_TRUE(dir.ok());
  EXPECT_TRUE(dir->CheckReachableBy(0, 0, "root", "pool web's user root").ok());
  Status s = dir->CheckReachableBy(65534, 65534, "nobody", "pool web's user nobody");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("out of reach of pool web's user nobody (uid 65534)"));
  EXPECT_THAT(s.message(), HasSubstr(closed + " (mode 0700"));
  EXPECT_THAT(s.message(), HasSubstr("chmod o+x " + closed));
  ::chmod(closed.c_str(), 0711);
  EXPECT_TRUE(dir->CheckReachableBy(65534, 65534, "nobody", "pool web's user nobody").ok());
  // Or through its group.
  ::chmod(closed.c_str(), 0710);
  ASSERT_EQ(::chown(closed.c_str(), 0, 65534), ::geteuid() == 0 ? 0 : -1);
  if (::geteuid() == 0) {
    EXPECT_TRUE(dir->CheckReachableBy(65534, 65534, "", "pool web's user 65534").ok());
  }
}

}  // namespace
}  // namespace vigil
