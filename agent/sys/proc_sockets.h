// ProcSocketScan: the sockets that some processes, and the members of their process groups, hold
// open, found by walking /proc a bounded piece at a time, so that the loop that drives it is
// never held by a large /proc (10,000 workers: about 100,000 system calls, seconds on a busy
// machine; docs/performance.md "7: the drain tail at 10,000 workers").
//
// - Which processes: those in `pids` (each worker leads its own process group, docs/pools.md)
//   and every live process whose process group is one of theirs (a worker's children). A pid in
//   `pids` costs no /proc/PID/stat read; any other process costs one.
// - What: the inode of every `socket:[INODE]` link in their /proc/PID/fd. A process that is gone
//   or whose fds cannot be read (not dumpable) is skipped; at most `max_links` links are read in
//   all (past it, the scan is over and says so: `truncated()`).
// - Step(budget) does at most `budget` reads (a process's stat, opening its fd directory, one fd
//   link: each counts one) and resumes where the last one stopped, within one process's fd
//   directory too. /proc is read as it is then: processes that come or go during the scan may or
//   may not be seen (as with any walk of /proc).
//
// Single-threaded; owns the directories it holds open between steps (at most two descriptors).
#pragma once

#include <dirent.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

namespace vigil {

class ProcSocketScan {
 public:
  ProcSocketScan(std::string proc_root, const std::vector<pid_t>& pids, size_t max_links);
  ~ProcSocketScan();
  ProcSocketScan(const ProcSocketScan&) = delete;
  ProcSocketScan& operator=(const ProcSocketScan&) = delete;

  // Appends the socket inodes found to `inodes` (a socket held twice is appended twice); true
  // once the scan is over (then and later: no read at all).
  bool Step(size_t budget, std::vector<uint32_t>* inodes);

  bool done() const { return done_; }
  // Reads done so far (as Step counts them).
  uint64_t reads() const { return reads_; }
  // The scan stopped at `max_links` links: some processes' sockets went unseen.
  bool truncated() const { return truncated_; }

 private:
  // Opens `name`'s fd directory as fds_ (false: gone or unreadable).
  bool OpenFds(const char* name);
  void CloseFds();
  void Finish();

  std::string proc_root_;
  std::unordered_set<pid_t> pids_;
  size_t links_left_;
  DIR* proc_ = nullptr;  // /proc, open across steps
  DIR* fds_ = nullptr;   // the current process's fd directory, open across steps
  std::string next_;     // a process to scan whose fd directory is not open yet
  bool started_ = false;
  bool done_ = false;
  bool truncated_ = false;
  uint64_t reads_ = 0;
};

}  // namespace vigil
