#include "agent/sys/proc_table.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <unordered_map>

#include "agent/base/unique_fd.h"

namespace vigil {
namespace {

bool ParseInt(std::string_view field, pid_t* out) {
  auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), *out);
  return ec == std::errc() && ptr == field.data() + field.size();
}

// Splits off the next space-separated field of `rest`.
std::string_view NextField(std::string_view* rest) {
  while (!rest->empty() && rest->front() == ' ')
    rest->remove_prefix(1);
  size_t end = rest->find(' ');
  std::string_view field = rest->substr(0, end);
  rest->remove_prefix(end == std::string_view::npos ? rest->size() : end);
  return field;
}

}  // namespace

std::optional<ProcEntry> ParseProcStat(std::string_view stat) {
  // "pid (comm) state ppid pgrp session ..."
  ProcEntry entry;
  size_t open = stat.find(" (");
  size_t close = stat.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return std::nullopt;
  }
  if (!ParseInt(stat.substr(0, open), &entry.pid)) return std::nullopt;
  std::string_view rest = stat.substr(close + 1);
  std::string_view state = NextField(&rest);
  if (state.size() != 1) return std::nullopt;
  entry.state = state[0];
  if (!ParseInt(NextField(&rest), &entry.ppid) || !ParseInt(NextField(&rest), &entry.pgid) ||
      !ParseInt(NextField(&rest), &entry.sid)) {
    return std::nullopt;
  }
  return entry;
}

std::vector<pid_t> ProcTable::DescendantsOf(pid_t root) const {
  std::unordered_multimap<pid_t, const ProcEntry*> children;
  for (const auto& e : entries_)
    children.emplace(e.ppid, &e);
  std::vector<pid_t> result;
  std::vector<pid_t> frontier = {root};
  while (!frontier.empty()) {
    pid_t parent = frontier.back();
    frontier.pop_back();
    auto [begin, end] = children.equal_range(parent);
    for (auto it = begin; it != end; ++it) {
      const ProcEntry* child = it->second;
      if (child->pid == root) continue;  // Defensive: a malformed table must not loop.
      if (child->state != 'Z' && child->state != 'X') result.push_back(child->pid);
      frontier.push_back(child->pid);
    }
  }
  return result;
}

std::optional<ProcEntry> ReadProcEntry(const std::string& proc_root, std::string_view pid) {
  std::string path = proc_root;
  path += '/';
  path += pid;
  path += "/stat";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;  // Exited while we were reading: fine.
  char buf[512];
  const ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
  if (n <= 0) return std::nullopt;
  return ParseProcStat(std::string_view(buf, static_cast<size_t>(n)));
}

ProcTable ReadProcTable(const std::string& proc_root) {
  std::vector<ProcEntry> entries;
  DIR* dir = ::opendir(proc_root.c_str());
  if (dir == nullptr) return ProcTable({});
  while (dirent* d = ::readdir(dir)) {
    if (d->d_name[0] < '1' || d->d_name[0] > '9') continue;
    if (auto entry = ReadProcEntry(proc_root, d->d_name)) entries.push_back(*entry);
  }
  ::closedir(dir);
  return ProcTable(std::move(entries));
}

}  // namespace vigil
