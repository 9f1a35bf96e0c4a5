// The container's OOM-kill counter: how many processes the kernel's OOM killer has killed in
// Vigil's memory cgroup. A worker SIGKILLed while this rose was OOM-killed (reason oom_killed),
// not killed by a person or by Vigil.
//
// Where it is read: cgroup v1 `memory.oom_control` (line `oom_kill N`) or cgroup v2
// `memory.events` (line `oom_kill N`) of the cgroup named in /proc/self/cgroup, under
// /sys/fs/cgroup (v1: /sys/fs/cgroup/memory); with a cgroup namespace (the usual container) the
// path is "/" and the files are the container's own. The parsers are pure; ReadOomKillCount()
// does the reading and returns nullopt when no counter can be found (then nothing is classified
// oom_killed).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil {

// Counter files to try, best first, for the contents of /proc/self/cgroup.
std::vector<std::string> OomCounterPaths(std::string_view proc_self_cgroup,
                                         std::string_view cgroup_root = "/sys/fs/cgroup");

// The `oom_kill N` value of a memory.events or memory.oom_control file; nullopt if absent.
std::optional<uint64_t> ParseOomKill(std::string_view contents);

std::optional<uint64_t> ReadOomKillCount();

}  // namespace vigil
