// FUZZ_CHECK: the invariant checks of the fuzz targets (tests/fuzz/*_fuzz.cc).
//
// A failed check prints what was expected and aborts, so libFuzzer records the input as a
// crash (and saves it), and the corpus replay of the normal suite (replay_main.cc) fails.
// Also a null log sink, so that the code under test formats every log line it would write
// but the fuzzer's output stays readable.
#pragma once

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#define FUZZ_CHECK(cond, what)                                                               \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      std::fprintf(stderr, "%s:%d: invariant broken: %s\n  %s\n", __FILE__, __LINE__, #cond, \
                   std::string(what).c_str());                                               \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)

namespace vigil::fuzz {

// Logs at trace level into a null sink: every log statement and its formatting still runs.
inline void QuietLogging() {
  static const bool done = [] {
    auto logger = std::make_shared<spdlog::logger>("vigil-fuzz",
                                                   std::make_shared<spdlog::sinks::null_sink_st>());
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(std::move(logger));
    return true;
  }();
  (void)done;
}

// Bytes shown in a failure message: printable ASCII as is, the rest as \xNN, at most 200.
inline std::string Printable(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes.substr(0, 200)) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (bytes.size() > 200) out += "...";
  return out;
}

}  // namespace vigil::fuzz
