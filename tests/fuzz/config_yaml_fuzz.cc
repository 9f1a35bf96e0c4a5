// Fuzz target: every YAML value of the config file, through LoadConfig as `vigil --config`
// runs it (agent/config/config_loader.h: the YAML walk, every option's setter, validation).
//
// Invariants: no exception escapes (yaml-cpp's included); a config accepted satisfies every
// documented bound and cross-field rule (config_invariants.h); an error names where the bad value
// came from (it starts with the file's name) and does not amplify the input.
#include <cstdint>
#include <string>

#include "agent/config/config_loader.h"
#include "tests/fuzz/config_invariants.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil;
  fuzz::QuietLogging();
  const std::string text(reinterpret_cast<const char*>(data), size);
  CliOptions cli;
  cli.mode = CliOptions::Mode::kPools;
  cli.config_path = "fuzz.yaml";
  auto config = LoadConfig(
      cli, [](const char*) -> const char* { return nullptr; },
      [&text](const std::string&) -> StatusOr<std::string> { return text; });
  if (config.ok()) {
    FUZZ_CHECK(config->source == "fuzz.yaml", "source " + config->source);
    fuzz::CheckConfig(*config);
    return 0;
  }
  const std::string& error = config.status().message();
  FUZZ_CHECK(error.rfind("fuzz.yaml", 0) == 0,
             "an error that does not name the file: " + fuzz::Printable(error));
  FUZZ_CHECK(error.size() <= 2 * size + 1024, "a " + std::to_string(error.size()) +
                                                  "-byte error for " + std::to_string(size) +
                                                  " bytes of YAML");
  return 0;
}
