#include "agent/sys/oom_counter.h"

#include <fcntl.h>
#include <unistd.h>

#include "agent/base/keyed_number.h"

namespace vigil {
namespace {

std::optional<std::string> ReadSmallFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > 65536) break;  // These files are a few lines; never read without bound.
  }
  ::close(fd);
  return out;
}

std::string Join(std::string_view root, std::string_view dir, std::string_view file) {
  std::string path(root);
  if (!dir.empty() && dir != "/") path += dir;
  path += "/";
  path += file;
  return path;
}

}  // namespace

std::vector<std::string> OomCounterPaths(std::string_view cgroup, std::string_view root) {
  std::vector<std::string> v1, v2;
  size_t pos = 0;
  while (pos < cgroup.size()) {
    size_t end = cgroup.find('\n', pos);
    if (end == std::string_view::npos) end = cgroup.size();
    const std::string_view line = cgroup.substr(pos, end - pos);
    pos = end + 1;
    // hierarchy-id:controllers:path
    const size_t a = line.find(':');
    const size_t b = a == std::string_view::npos ? a : line.find(':', a + 1);
    if (b == std::string_view::npos) continue;
    const std::string_view controllers = line.substr(a + 1, b - a - 1);
    const std::string_view path = line.substr(b + 1);
    if (line.substr(0, a) == "0" && controllers.empty()) {
      v2.push_back(Join(root, path, "memory.events"));
      v2.push_back(Join(std::string(root) + "/unified", path, "memory.events"));
      continue;
    }
    size_t c = 0;
    while (c <= controllers.size()) {
      size_t comma = controllers.find(',', c);
      if (comma == std::string_view::npos) comma = controllers.size();
      if (controllers.substr(c, comma - c) == "memory") {
        v1.push_back(Join(std::string(root) + "/memory", path, "memory.oom_control"));
      }
      c = comma + 1;
    }
  }
  // With a private cgroup namespace, or when the path is not mounted as such, the root of the
  // mount is the container's own cgroup.
  std::vector<std::string> out = v1;
  out.insert(out.end(), v2.begin(), v2.end());
  out.push_back(std::string(root) + "/memory.events");
  out.push_back(std::string(root) + "/memory/memory.oom_control");
  return out;
}

std::optional<uint64_t> ParseOomKill(std::string_view contents) {
  return KeyedNumber(contents, "oom_kill");
}

std::optional<uint64_t> ReadOomKillCount() {
  // The counter file is found once (the cgroup of PID 1 does not move); each call then reads
  // just that file, on a worker's SIGKILL.
  static std::string found;
  if (!found.empty()) {
    if (auto contents = ReadSmallFile(found)) return ParseOomKill(*contents);
    found.clear();  // Gone (remounted?): search again.
  }
  const std::optional<std::string> cgroup = ReadSmallFile("/proc/self/cgroup");
  if (!cgroup) return std::nullopt;
  for (const std::string& path : OomCounterPaths(*cgroup)) {
    const std::optional<std::string> contents = ReadSmallFile(path);
    if (!contents) continue;
    if (auto value = ParseOomKill(*contents)) {
      found = path;
      return value;
    }
  }
  return std::nullopt;
}

}  // namespace vigil
