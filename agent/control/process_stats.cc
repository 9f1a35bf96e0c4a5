#include "agent/control/process_stats.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "agent/base/keyed_number.h"

namespace vigil::control {
namespace {

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

template <typename T>
bool ToNumber(std::string_view text, T* out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

std::string FdDirectory(pid_t pid) {
  return "/proc/" + std::to_string(pid) + "/fd";
}

}  // namespace

bool ParseProcStat(std::string_view stat, long ticks, long page_size, uint64_t boot_time,
                   ProcessStats* out) {
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so fields are counted
  // from the last ')'. After it, field 3 (state) is the first.
  const size_t close = stat.rfind(')');
  if (close == std::string_view::npos || ticks <= 0) return false;
  std::vector<std::string_view> fields;
  size_t pos = close + 1;
  while (pos < stat.size()) {
    while (pos < stat.size() && (stat[pos] == ' ' || stat[pos] == '\n'))
      ++pos;
    const size_t end = stat.find_first_of(" \n", pos);
    const size_t stop = end == std::string_view::npos ? stat.size() : end;
    if (stop > pos) fields.push_back(stat.substr(pos, stop - pos));
    pos = stop;
  }
  // Field n of proc(5) is fields[n - 3].
  auto field = [&fields](int n) { return fields[static_cast<size_t>(n - 3)]; };
  if (fields.size() < 22) return false;
  uint64_t utime = 0, stime = 0, start = 0;
  int64_t rss = 0;
  if (!ToNumber(field(14), &utime) || !ToNumber(field(15), &stime) ||
      !ToNumber(field(22), &start) || !ToNumber(field(24), &rss)) {
    return false;
  }
  out->cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(ticks);
  out->resident_bytes = rss > 0 ? static_cast<uint64_t>(rss) * static_cast<uint64_t>(page_size) : 0;
  out->start_time_seconds =
      static_cast<double>(boot_time) + static_cast<double>(start) / static_cast<double>(ticks);
  return true;
}

uint64_t ParseBootTime(std::string_view proc_stat) {
  return KeyedNumber(proc_stat, "btime").value_or(0);
}

int64_t CountOpenFdsFromSize(pid_t pid) {
  struct stat st;
  const std::string dir = FdDirectory(pid);
  // Before Linux 6.2 the size is 0; a process always holds at least one descriptor here
  // (vigil-control its socket to the core), so 0 means "not reported".
  if (::stat(dir.c_str(), &st) != 0 || st.st_size <= 0) return -1;
  return static_cast<int64_t>(st.st_size);
}

int64_t CountOpenFdsByListing(pid_t pid) {
  DIR* d = ::opendir(FdDirectory(pid).c_str());
  if (d == nullptr) return -1;
  int64_t n = 0;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  if (pid == ::getpid()) --n;  // The descriptor that listed the directory.
  return n;
}

int64_t CountOpenFds(pid_t pid) {
  const int64_t n = CountOpenFdsFromSize(pid);
  return n >= 0 ? n : CountOpenFdsByListing(pid);
}

std::optional<ProcessStats> ReadProcessStats(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  const std::optional<std::string> stat = ReadFile(dir + "/stat");
  if (!stat) return std::nullopt;
  static const uint64_t boot_time = ParseBootTime(ReadFile("/proc/stat").value_or(""));
  ProcessStats stats;
  if (!ParseProcStat(*stat, ::sysconf(_SC_CLK_TCK), ::sysconf(_SC_PAGESIZE), boot_time, &stats)) {
    return std::nullopt;
  }
  stats.open_fds = CountOpenFds(pid);
  return stats;
}

}  // namespace vigil::control
