// Fuzz target: every flag and VIGIL_* variable, through ParseCommandLine and, in pool mode,
// LoadConfig as `vigil` runs them (agent/config/cli.h, config_loader.h).
//
// Input: one argument per line ('\n'); a line "$NAME=VALUE" is an environment variable
// instead. "vigil" is prepended as argv[0]. --config reads a fixed valid file (any path but
// "missing", which does not exist), so the flags and variables are what varies.
//
// Invariants: no exception escapes; an error is never empty and does not amplify the input;
// single-command mode accepts only a command, a kill grace in range, exit codes 0..255 and
// rewrites within 0..64; a pool-mode config accepted satisfies every documented bound and
// cross-field rule (config_invariants.h).
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "agent/config/cli.h"
#include "agent/config/config_loader.h"
#include "tests/fuzz/config_invariants.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil;
  fuzz::QuietLogging();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> args = {"vigil"};
  std::map<std::string, std::string> env;
  for (size_t pos = 0; pos <= input.size();) {
    size_t end = input.find('\n', pos);
    if (end == std::string_view::npos) end = input.size();
    const std::string_view line = input.substr(pos, end - pos);
    pos = end + 1;
    if (line.size() > 1 && line.front() == '$') {
      const size_t eq = line.find('=');
      if (eq == std::string_view::npos) continue;
      // setenv(3) keeps the first '=' as the end of the name, and so does this.
      env[std::string(line.substr(1, eq - 1))] = std::string(line.substr(eq + 1));
    } else {
      args.emplace_back(line);
    }
  }
  const EnvLookup lookup = [&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  auto bounded = [size](const Status& s) {
    FUZZ_CHECK(!s.message().empty(), "an error without a message");
    FUZZ_CHECK(s.message().size() <= 2 * size + 1024, "a " + std::to_string(s.message().size()) +
                                                          "-byte error for " +
                                                          std::to_string(size) + " bytes of flags");
  };

  auto cli = ParseCommandLine(args, lookup);
  if (!cli.ok()) {
    bounded(cli.status());
    return 0;
  }
  if (cli->action == CliOptions::Action::kHelp || cli->action == CliOptions::Action::kVersion) {
    return 0;
  }
  if (cli->mode == CliOptions::Mode::kSingle) {
    FUZZ_CHECK(!cli->single.command.empty(), "single-command mode without a command");
    fuzz::CheckDuration(cli->single.kill_grace, "--kill-grace");
    for (int signo = 1; signo <= 64; ++signo) {
      fuzz::CheckRange(cli->single.rewrite.Apply(signo), 0, 64, "rewrite");
    }
    return 0;
  }
  auto config = LoadConfig(*cli, lookup, [](const std::string& path) -> StatusOr<std::string> {
    if (path == "missing") return Status::Error("cannot read config file 'missing'");
    return std::string("pools:\n- name: web\n  command: [app, --port, '8080']\n");
  });
  if (!config.ok()) {
    bounded(config.status());
    return 0;
  }
  fuzz::CheckConfig(*config);
  return 0;
}
