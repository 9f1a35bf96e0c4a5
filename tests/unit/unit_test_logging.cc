// Test-binary setup: the code under test logs through spdlog's default logger. Route it to a
// null sink at trace level, so every log statement (and its formatting) still runs but the test
// output stays readable. Tests that need the output install their own logger and restore this.
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

namespace {

class QuietLogging : public ::testing::Environment {
 public:
  void SetUp() override {
    auto logger = std::make_shared<spdlog::logger>("vigil-test",
                                                   std::make_shared<spdlog::sinks::null_sink_st>());
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(std::move(logger));
  }
};

[[maybe_unused]] ::testing::Environment* const kQuietLogging =
    ::testing::AddGlobalTestEnvironment(new QuietLogging);

}  // namespace
