// FakeProc: a /proc built in a temporary directory, for the code that walks /proc with a
// `proc_root` (sys/proc_sockets.h, sys/tcp_table.h): each process a directory with a `stat` file
// (pid, state, process group) and an `fd` directory of links to whatever targets the test
// gives ("socket:[N]", "/dev/null"). Removed with the object.
#pragma once

#include <stdlib.h>
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace vigil::testing {

class FakeProc {
 public:
  FakeProc() {
    char tmpl[] = "/tmp/vigil-proc-XXXXXX";
    root_ = ::mkdtemp(tmpl) ? tmpl : "";
  }
  ~FakeProc() { std::filesystem::remove_all(root_); }

  // A process in group `pgid`, state `state`, whose fds link to `targets` (fd 0, 1, ...).
  void Add(pid_t pid, pid_t pgid, const std::vector<std::string>& targets, char state = 'S') {
    const std::string dir = root_ + "/" + std::to_string(pid);
    std::filesystem::create_directories(dir + "/fd");
    std::ofstream(dir + "/stat") << pid << " (w) " << state << " 1 " << pgid << " " << pgid
                                 << " 0 -1 4194560\n";
    for (size_t fd = 0; fd < targets.size(); ++fd) {
      std::filesystem::create_symlink(targets[fd], dir + "/fd/" + std::to_string(fd));
    }
  }
  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

inline std::string Socket(uint32_t inode) {
  return "socket:[" + std::to_string(inode) + "]";
}

}  // namespace vigil::testing
