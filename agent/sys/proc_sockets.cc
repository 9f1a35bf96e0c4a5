#include "agent/sys/proc_sockets.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <string_view>
#include <utility>

#include "agent/sys/proc_table.h"
#include "agent/sys/tcp_table.h"

namespace vigil {

ProcSocketScan::ProcSocketScan(std::string proc_root, const std::vector<pid_t>& pids,
                               size_t max_links)
    : proc_root_(std::move(proc_root)), pids_(pids.begin(), pids.end()), links_left_(max_links) {
  pids_.erase(0);
}

ProcSocketScan::~ProcSocketScan() {
  CloseFds();
  if (proc_ != nullptr) ::closedir(proc_);
}

bool ProcSocketScan::Step(size_t budget, std::vector<uint32_t>* inodes) {
  if (done_) return true;
  if (!started_) {
    started_ = true;
    if (pids_.empty()) {
      Finish();
      return true;
    }
    proc_ = ::opendir(proc_root_.c_str());
    if (proc_ == nullptr) {  // No /proc: nothing can be seen (as with an unreadable process).
      Finish();
      return true;
    }
  }
  char target[64];
  while (budget > 0) {
    if (fds_ != nullptr) {  // Within a process's fd directory.
      const dirent* entry = ::readdir(fds_);
      if (entry == nullptr) {
        CloseFds();
        continue;
      }
      if (entry->d_name[0] == '.') continue;
      if (links_left_ == 0) {
        truncated_ = true;
        Finish();
        return true;
      }
      --links_left_;
      --budget;
      ++reads_;
      const ssize_t n = ::readlinkat(::dirfd(fds_), entry->d_name, target, sizeof target - 1);
      if (n <= 0) continue;  // Closed since the listing.
      if (const uint32_t inode =
              SocketInodeOfLink(std::string_view(target, static_cast<size_t>(n)));
          inode != 0) {
        inodes->push_back(inode);
      }
      continue;
    }
    if (!next_.empty()) {  // A process found wanted: its fd directory.
      --budget;
      ++reads_;
      OpenFds(next_.c_str());
      next_.clear();
      continue;
    }
    const dirent* entry = ::readdir(proc_);
    if (entry == nullptr) {
      Finish();
      return true;
    }
    pid_t pid = 0;
    const std::string_view name(entry->d_name);
    if (name[0] < '1' || name[0] > '9' ||
        std::from_chars(name.data(), name.data() + name.size(), pid).ec != std::errc()) {
      continue;  // Not a process.
    }
    if (pids_.count(pid) == 0) {
      // Another process: a member of a worker's group? Its stat read counts too, so a /proc
      // full of other processes is paced as well.
      --budget;
      ++reads_;
      const std::optional<ProcEntry> e = ReadProcEntry(proc_root_, name);
      if (!e || e->state == 'Z' || e->state == 'X' || pids_.count(e->pgid) == 0) continue;
    }
    next_ = name;
  }
  return false;
}

bool ProcSocketScan::OpenFds(const char* name) {
  const std::string path = proc_root_ + "/" + name + "/fd";
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;  // Gone, or not ours to read: its sockets stay unknown.
  fds_ = ::fdopendir(fd);
  if (fds_ == nullptr) {
    ::close(fd);
    return false;
  }
  return true;
}

void ProcSocketScan::CloseFds() {
  if (fds_ != nullptr) ::closedir(fds_);
  fds_ = nullptr;
}

void ProcSocketScan::Finish() {
  done_ = true;
  CloseFds();
  if (proc_ != nullptr) ::closedir(proc_);
  proc_ = nullptr;
}

}  // namespace vigil
