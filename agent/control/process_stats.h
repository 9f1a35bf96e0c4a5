// ProcessStats: what /proc says about one process (resident memory, CPU seconds, open
// descriptors, start time), for the process metrics of both Vigil processes: the core
// (vigil-control's parent) and vigil-control itself. The parser is pure; ReadProcessStats()
// reads /proc and returns nullopt when the process cannot be read.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string_view>

namespace vigil::control {

struct ProcessStats {
  double cpu_seconds = 0;         // user + system
  uint64_t resident_bytes = 0;    // VmRSS
  int64_t open_fds = -1;          // -1 when /proc/PID/fd cannot be listed
  double start_time_seconds = 0;  // since the Unix epoch
};

// `stat`: the contents of /proc/PID/stat; `boot_time`: btime from /proc/stat (seconds since the
// epoch). Fills cpu_seconds, resident_bytes and start_time_seconds; false when malformed.
bool ParseProcStat(std::string_view stat, long ticks_per_second, long page_size, uint64_t boot_time,
                   ProcessStats* out);

// btime from the contents of /proc/stat; 0 when absent.
uint64_t ParseBootTime(std::string_view proc_stat);

// Open descriptors of `pid`; -1 when unknown. From the size of /proc/PID/fd (Linux 6.2 and
// later: no listing, which costs a /proc lookup per descriptor, and the core holds two per
// worker), else by listing it. Both are exposed for tests.
int64_t CountOpenFds(pid_t pid);
int64_t CountOpenFdsFromSize(pid_t pid);  // -1 when the kernel does not report it
int64_t CountOpenFdsByListing(pid_t pid);

std::optional<ProcessStats> ReadProcessStats(pid_t pid);

}  // namespace vigil::control
