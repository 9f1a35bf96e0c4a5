#include "agent/sys/child_environment.h"

#include <unordered_map>

extern char** environ;

namespace vigil {
namespace {

std::string_view NameOf(std::string_view entry) {
  const size_t eq = entry.find('=');
  return eq == std::string_view::npos ? entry : entry.substr(0, eq);
}

}  // namespace

ChildEnvironment::ChildEnvironment(std::vector<std::string> inherited) {
  inherited_.reserve(inherited.size());
  for (std::string& entry : inherited) {
    if (!IsSupervisorVariable(entry)) inherited_.push_back(std::move(entry));
  }
}

ChildEnvironment ChildEnvironment::FromProcess() {
  std::vector<std::string> entries;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e)
    entries.emplace_back(*e);
  return ChildEnvironment(std::move(entries));
}

bool ChildEnvironment::IsSupervisorVariable(std::string_view entry) {
  for (std::string_view prefix : {"NOTIFY_SOCKET=", "WATCHDOG_USEC=", "WATCHDOG_PID=",
                                  "LISTEN_PID=", "LISTEN_FDS=", "LISTEN_FDNAMES="}) {
    if (entry.starts_with(prefix)) return true;
  }
  return false;
}

std::vector<std::string> ChildEnvironment::Build(const std::map<std::string, std::string>& pool_env,
                                                 const std::vector<EnvVar>& own) const {
  std::vector<std::string> out;
  out.reserve(inherited_.size() + pool_env.size() + own.size());
  std::unordered_map<std::string_view, size_t> index;  // name -> position in `out`
  // Names are views into `inherited_`, `pool_env` and `own`, which outlive this call.
  auto set = [&](std::string_view name, std::string entry) {
    auto [it, inserted] = index.emplace(name, out.size());
    if (inserted) {
      out.push_back(std::move(entry));
    } else {
      out[it->second] = std::move(entry);
    }
  };
  for (const std::string& entry : inherited_) {
    // A name listed twice: the first is the one getenv() would have found.
    if (index.emplace(NameOf(entry), out.size()).second) out.push_back(entry);
  }
  for (const auto& [name, value] : pool_env)
    set(name, name + "=" + value);
  for (const auto& [name, value] : own)
    set(name, name + "=" + value);
  return out;
}

}  // namespace vigil
