#include "agent/control/options.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "agent/base/quote.h"
#include "vigil/internal/v1/ipc.pb.h"

namespace vigil::control {
namespace {

namespace in = internal::v1;
using Clock = std::chrono::steady_clock;

// Reads exactly `size` bytes into `out` by `deadline`.
Status ReadExactly(int fd, char* out, size_t size, Clock::time_point deadline) {
  size_t got = 0;
  while (got < size) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{fd, POLLIN, 0};
    const int ready = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0)
      return Status::FromErrno("waiting for the core on fd " + std::to_string(fd), errno);
    if (ready == 0) return Status::Error("the core sent no options in time");
    const ssize_t n = ::recv(fd, out + got, size - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno("reading from the core on fd " + std::to_string(fd), errno);
    if (n == 0) return Status::Error("the core closed the connection before sending the options");
    got += static_cast<size_t>(n);
  }
  return Status();
}

Status PortIn(const char* field, uint32_t value, int* out) {
  if (value > 65535) {
    return Status::Error(std::string(field) + " must be a port from 0 to 65535; got " +
                         std::to_string(value));
  }
  *out = static_cast<int>(value);
  return Status();
}

// Paths and addresses reach C APIs as C strings: a NUL byte inside would cut them short.
Status TextIn(const char* field, const std::string& value, std::string* out) {
  if (value.find('\0') != std::string::npos) {
    return Status::Error(std::string(field) + " holds a NUL byte: " + Quoted(value));
  }
  *out = value;
  return Status();
}

StatusOr<log::Level> LevelIn(in::LogLevel level) {
  switch (level) {
    case in::LOG_LEVEL_UNSPECIFIED:
    case in::LOG_LEVEL_WARN:
      return log::Level::kWarn;
    case in::LOG_LEVEL_TRACE:
      return log::Level::kTrace;
    case in::LOG_LEVEL_DEBUG:
      return log::Level::kDebug;
    case in::LOG_LEVEL_INFO:
      return log::Level::kInfo;
    case in::LOG_LEVEL_ERROR:
      return log::Level::kError;
    case in::LOG_LEVEL_OFF:
      return log::Level::kOff;
    default:
      return Status::Error("log_level " + std::to_string(static_cast<int>(level)) +
                           " is not a log level");
  }
}

StatusOr<log::Format> FormatIn(in::LogFormat format) {
  switch (format) {
    case in::LOG_FORMAT_UNSPECIFIED:
    case in::LOG_FORMAT_TEXT:
      return log::Format::kText;
    case in::LOG_FORMAT_JSON:
      return log::Format::kJson;
    default:
      return Status::Error("log_format " + std::to_string(static_cast<int>(format)) +
                           " is not a log format");
  }
}

const char* BodyName(in::CoreMessage::BodyCase body) {
  switch (body) {
    case in::CoreMessage::kSnapshot:
      return "a snapshot";
    case in::CoreMessage::kEvent:
      return "an event";
    case in::CoreMessage::kResult:
      return "a result";
    default:
      return "an empty message";
  }
}

}  // namespace

StatusOr<std::string> ReadFirstFrame(int fd, std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  unsigned char header[4];
  if (Status s = ReadExactly(fd, reinterpret_cast<char*>(header), 4, deadline); !s.ok()) return s;
  const uint32_t size = static_cast<uint32_t>(header[0]) | static_cast<uint32_t>(header[1]) << 8 |
                        static_cast<uint32_t>(header[2]) << 16 |
                        static_cast<uint32_t>(header[3]) << 24;
  if (size > kMaxOptionsFrame) {
    return Status::Error(
        "the first frame from the core is not its options: " + std::to_string(size) +
        " bytes, the options take at most " + std::to_string(kMaxOptionsFrame));
  }
  std::string payload(size, '\0');
  if (Status s = ReadExactly(fd, payload.data(), size, deadline); !s.ok()) return s;
  return payload;
}

StatusOr<Options> OptionsFromFrame(std::string_view payload) {
  in::CoreMessage message;
  if (!message.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return Status::Error("the first frame from the core is not a message of the protocol (" +
                         std::to_string(payload.size()) + " bytes)");
  }
  if (!message.has_options()) {
    return Status::Error(
        std::string("the first frame from the core is not its options but ") +
        BodyName(message.body_case()) +
        ": vigil-control is started by vigil, which sends them first (docs/control.md)");
  }
  const in::ControlOptions& m = message.options();
  Options o;
  Status s;
  if (m.socket().empty()) return Status::Error("socket: empty; the unix socket needs a path");
  if (!(s = TextIn("socket", m.socket(), &o.socket)).ok()) return s;
  if (m.socket_mode() > 07777) {
    return Status::Error("socket_mode must be at most 07777; got " +
                         std::to_string(m.socket_mode()));
  }
  o.socket_mode = static_cast<int>(m.socket_mode());
  if (!(s = PortIn("health_port", m.health_port(), &o.health_port)).ok()) return s;
  if (!(s = PortIn("api_port", m.api_port(), &o.api_port)).ok()) return s;
  if (!(s = PortIn("http_port", m.http_port(), &o.http_port)).ok()) return s;
  if (!m.api_address().empty() &&
      !(s = TextIn("api_address", m.api_address(), &o.api_address)).ok()) {
    return s;
  }
  if (!(s = TextIn("token_file", m.token_file(), &o.token_file)).ok()) return s;
  if (!(s = TextIn("metrics_address", m.metrics_address(), &o.metrics_address)).ok()) return s;
  o.http_drain = m.http_drain();
  if (m.grpc_idle_linger_ms() > 24u * 3600 * 1000) {
    return Status::Error("grpc_idle_linger_ms must be at most 24 h; got " +
                         std::to_string(m.grpc_idle_linger_ms()));
  }
  if (m.grpc_idle_linger_ms() != 0) {
    o.grpc_idle_linger = std::chrono::milliseconds(m.grpc_idle_linger_ms());
  }
  auto level = LevelIn(m.log_level());
  if (!level.ok()) return level.status();
  o.log_level = *level;
  auto format = FormatIn(m.log_format());
  if (!format.ok()) return format.status();
  o.log_format = *format;
  return o;
}

}  // namespace vigil::control
