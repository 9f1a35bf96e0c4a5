// ProcTable: a snapshot of the process tree read from /proc (pid, parent, process group).
//
// Used to find the processes left behind when the main child exits, when Vigil is a subreaper
// rather than PID 1 and so cannot simply signal "everyone". The parser is pure and tested on
// synthetic /proc/PID/stat lines; reading is best-effort (processes come and go while we read).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil {

struct ProcEntry {
  pid_t pid = 0;
  pid_t ppid = 0;
  pid_t pgid = 0;
  pid_t sid = 0;
  char state = '?';  // R, S, D, Z, T, ...
};

// Parses the contents of /proc/PID/stat. The command name may hold spaces and ')' itself, so
// the fields are read after the last ')'.
std::optional<ProcEntry> ParseProcStat(std::string_view stat);

class ProcTable {
 public:
  explicit ProcTable(std::vector<ProcEntry> entries) : entries_(std::move(entries)) {}

  // Live (non-zombie) descendants of `root`, parents before children.
  std::vector<pid_t> DescendantsOf(pid_t root) const;
  const std::vector<ProcEntry>& entries() const { return entries_; }

 private:
  std::vector<ProcEntry> entries_;
};

ProcTable ReadProcTable(const std::string& proc_root);
// One process's entry, from `proc_root`/`pid`/stat; nullopt when it is gone or unreadable.
std::optional<ProcEntry> ReadProcEntry(const std::string& proc_root, std::string_view pid);

}  // namespace vigil
