// LogCapture: while it lives, Vigil's log lines go to a string instead of the test binary's
// null logger, as text lines without a prefix ("message key=value ..."), every level. For the
// tests that check what a line says. Not thread-safe (the core's tests are single-threaded).
#pragma once

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <sstream>
#include <string>

namespace vigil::testing {

class LogCapture {
 public:
  LogCapture() : saved_(spdlog::default_logger()) {
    auto logger = std::make_shared<spdlog::logger>(
        "vigil", std::make_shared<spdlog::sinks::ostream_sink_st>(out_));
    logger->set_level(spdlog::level::trace);
    logger->set_pattern("%v");
    spdlog::set_default_logger(std::move(logger));
  }
  ~LogCapture() { spdlog::set_default_logger(saved_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> saved_;
};

}  // namespace vigil::testing
