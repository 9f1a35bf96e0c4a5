#include "agent/log/log.h"

#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace vigil::log {
namespace {

Format g_format = Format::kText;

spdlog::level::level_enum ToSpdlog(Level level) {
  switch (level) {
    case Level::kTrace:
      return spdlog::level::trace;
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
    case Level::kOff:
      return spdlog::level::off;
  }
  return spdlog::level::warn;
}

// Text values with spaces or quotes are quoted, logfmt style.
void AppendTextValue(std::string* out, const std::string& value) {
  bool plain = !value.empty() && value.find_first_of(" \"=\n\t") == std::string::npos;
  if (plain) {
    *out += value;
  } else {
    *out += '"';
    *out += JsonEscape(value);
    *out += '"';
  }
}

}  // namespace

StatusOr<Level> ParseLevel(std::string_view text) {
  if (text == "trace") return Level::kTrace;
  if (text == "debug") return Level::kDebug;
  if (text == "info") return Level::kInfo;
  if (text == "warn" || text == "warning") return Level::kWarn;
  if (text == "error") return Level::kError;
  if (text == "off" || text == "none") return Level::kOff;
  return Status::Error("invalid log level '" + std::string(text) +
                       "' (expected trace, debug, info, warn, error or off)");
}

StatusOr<Format> ParseFormat(std::string_view text) {
  if (text == "text") return Format::kText;
  if (text == "json") return Format::kJson;
  return Status::Error("invalid log format '" + std::string(text) + "' (expected text or json)");
}

std::string JsonEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

void Setup(Level level, Format format, Threading threading) {
  // Single-threaded sink for the core (one thread; the _st sink takes no lock); a locked one
  // where threads share the logger, so that their lines never interleave.
  spdlog::sink_ptr sink;
  if (threading == Threading::kMulti) {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else {
    sink = std::make_shared<spdlog::sinks::stderr_sink_st>();
  }
  auto logger = std::make_shared<spdlog::logger>("vigil", std::move(sink));
  g_format = format;
  if (format == Format::kJson) {
    // The payload is already a run of JSON members (see Write).
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","logger":"%n",%v})");
    logger->set_formatter(std::move(formatter));
  } else {
    logger->set_pattern("%n: %l: %v");
  }
  logger->set_level(ToSpdlog(level));
  // Flush every line: a crash or SIGKILL must not eat the last words of PID 1.
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
}

bool Enabled(Level level) {
  return spdlog::default_logger_raw()->should_log(ToSpdlog(level));
}

namespace {

// The line's payload: JSON members (the pattern wraps them) or text.
std::string Line(std::string_view event, std::string_view message,
                 std::initializer_list<Field> fields) {
  std::string line;
  line.reserve(64 + message.size());
  if (g_format == Format::kJson) {
    if (!event.empty()) {
      line += "\"event\":\"";
      line += JsonEscape(event);
      line += "\",";
    }
    line += "\"msg\":\"";
    line += JsonEscape(message);
    line += '"';
    for (const Field& f : fields) {
      line += ",\"";
      line += JsonEscape(f.key);
      line += "\":";
      if (f.quoted) {
        line += '"';
        line += JsonEscape(f.value);
        line += '"';
      } else {
        line += f.value;
      }
    }
  } else {
    line += message;
    for (const Field& f : fields) {
      line += ' ';
      line += f.key;
      line += '=';
      AppendTextValue(&line, f.value);
    }
  }
  return line;
}

}  // namespace

void Write(Level level, std::string_view event, std::string_view message,
           std::initializer_list<Field> fields) {
  spdlog::default_logger_raw()->log(ToSpdlog(level), "{}", Line(event, message, fields));
}

void WriteAs(std::string_view logger, Level level, std::string_view event, std::string_view message,
             std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  // A clone of the default logger (same sink, pattern and level) under the other name, made
  // once per name: library lines are rare.
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<spdlog::logger>, std::less<>> named;
  std::shared_ptr<spdlog::logger> target;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = named.find(logger);
    if (it == named.end() || it->second->sinks() != spdlog::default_logger_raw()->sinks()) {
      it = named
               .insert_or_assign(std::string(logger),
                                 spdlog::default_logger()->clone(std::string(logger)))
               .first;
    }
    target = it->second;
  }
  target->log(ToSpdlog(level), "{}", Line(event, message, fields));
}

}  // namespace vigil::log
