// ControlOptionsFor (agent/ipc/control_options.h): the core's `control.*` configuration as the
// options frame vigil-control gets first, field by field.
#include "agent/ipc/control_options.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

namespace in = internal::v1;

TEST(ControlOptionsFor, EveryFieldOfTheConfiguration) {
  Config config;
  config.control.socket = "/run/v/control.sock";
  config.control.socket_mode = 0660;
  config.control.health_port = 9901;
  config.control.api_port = 9900;
  config.control.api_address = "10.0.0.1";
  config.control.token_file = "/etc/token";
  config.control.http_port = 9902;
  config.control.http_drain = true;
  config.control.metrics_address = "0.0.0.0:9180";
  config.log_level = log::Level::kDebug;
  config.log_format = log::Format::kJson;
  config.control.grpc_idle_linger = std::chrono::milliseconds(2500);
  const in::ControlOptions o = ControlOptionsFor(config);
  EXPECT_EQ(o.socket(), "/run/v/control.sock");
  EXPECT_EQ(o.socket_mode(), 0660u);
  EXPECT_EQ(o.health_port(), 9901u);
  EXPECT_EQ(o.api_port(), 9900u);
  EXPECT_EQ(o.api_address(), "10.0.0.1");
  EXPECT_EQ(o.token_file(), "/etc/token");
  EXPECT_EQ(o.http_port(), 9902u);
  EXPECT_TRUE(o.http_drain());
  EXPECT_EQ(o.metrics_address(), "0.0.0.0:9180");
  EXPECT_EQ(o.log_level(), in::LOG_LEVEL_DEBUG);
  EXPECT_EQ(o.log_format(), in::LOG_FORMAT_JSON);
  EXPECT_EQ(o.grpc_idle_linger_ms(), 2500u);
}

// As with the flags before: the API's address applies to the HTTP port only when the API is on
// TCP; /drain only with an HTTP port; /metrics off is an empty address.
TEST(ControlOptionsFor, WhatIsOffIsLeftOut) {
  Config config;
  config.control.api_address = "10.0.0.1";
  config.control.http_drain = true;
  config.control.metrics_address = "";
  const in::ControlOptions o = ControlOptionsFor(config);
  EXPECT_EQ(o.api_port(), 0u);
  EXPECT_TRUE(o.api_address().empty());
  EXPECT_FALSE(o.http_drain());
  EXPECT_TRUE(o.metrics_address().empty());
  EXPECT_EQ(o.log_level(), in::LOG_LEVEL_WARN);
  EXPECT_EQ(o.log_format(), in::LOG_FORMAT_TEXT);
}

TEST(ControlOptionsFor, EveryLogLevel) {
  const std::pair<log::Level, in::LogLevel> levels[] = {
      {log::Level::kTrace, in::LOG_LEVEL_TRACE}, {log::Level::kDebug, in::LOG_LEVEL_DEBUG},
      {log::Level::kInfo, in::LOG_LEVEL_INFO},   {log::Level::kWarn, in::LOG_LEVEL_WARN},
      {log::Level::kError, in::LOG_LEVEL_ERROR}, {log::Level::kOff, in::LOG_LEVEL_OFF},
  };
  for (const auto& [level, wire] : levels) {
    Config config;
    config.log_level = level;
    EXPECT_EQ(ControlOptionsFor(config).log_level(), wire);
  }
}

}  // namespace
}  // namespace vigil
