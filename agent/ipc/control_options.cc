#include "agent/ipc/control_options.h"

#include <chrono>

namespace vigil {
namespace {

namespace v1 = internal::v1;

v1::LogLevel ToWire(log::Level level) {
  switch (level) {
    case log::Level::kTrace:
      return v1::LOG_LEVEL_TRACE;
    case log::Level::kDebug:
      return v1::LOG_LEVEL_DEBUG;
    case log::Level::kInfo:
      return v1::LOG_LEVEL_INFO;
    case log::Level::kWarn:
      return v1::LOG_LEVEL_WARN;
    case log::Level::kError:
      return v1::LOG_LEVEL_ERROR;
    case log::Level::kOff:
      return v1::LOG_LEVEL_OFF;
  }
  return v1::LOG_LEVEL_UNSPECIFIED;
}

v1::LogFormat ToWire(log::Format format) {
  return format == log::Format::kJson ? v1::LOG_FORMAT_JSON : v1::LOG_FORMAT_TEXT;
}

}  // namespace

v1::ControlOptions ControlOptionsFor(const Config& config) {
  const ControlConfig& c = config.control;
  v1::ControlOptions o;
  o.set_socket(c.socket);
  o.set_socket_mode(static_cast<uint32_t>(c.socket_mode));
  o.set_health_port(static_cast<uint32_t>(c.health_port));
  o.set_api_port(static_cast<uint32_t>(c.api_port));
  // The HTTP port listens on the API's address only when the API is on TCP too (else on
  // 0.0.0.0), as it always has.
  if (c.api_port != 0) o.set_api_address(c.api_address);
  o.set_token_file(c.token_file);
  o.set_http_port(static_cast<uint32_t>(c.http_port));
  o.set_http_drain(c.http_port != 0 && c.http_drain);
  o.set_metrics_address(c.metrics_address);
  o.set_grpc_idle_linger_ms(static_cast<uint32_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(c.grpc_idle_linger).count()));
  o.set_log_level(ToWire(config.log_level));
  o.set_log_format(ToWire(config.log_format));
  return o;
}

}  // namespace vigil
