#include "agent/log/log.h"

#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include "agent/base/quote.h"
#include "agent/base/utf8.h"
#include "agent/log/output_channel.h"

namespace vigil::log {
namespace {

Format g_format = Format::kText;

// Vigil's stdout and stderr, made on first use: a quiet single-command run that logs nothing
// never opens them (start-up time matters for PID 1).
std::unique_ptr<OutputChannel> g_channels[2];
// vigil-control's threads share the channels; the core has one thread and pays an uncontended
// lock per line.
std::mutex g_channel_mutex;

OutputChannel& Channel(int fd) {
  std::unique_ptr<OutputChannel>& channel = g_channels[fd == 1 ? 0 : 1];
  if (!channel) channel = std::make_unique<OutputChannel>(fd == 1 ? 1 : 2);
  return *channel;
}

// spdlog's lines go to the stderr channel: never a blocking write (see output_channel.h).
class ChannelSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    std::lock_guard lock(g_channel_mutex);
    Channel(2).Write(std::string_view(formatted.data(), formatted.size()));
  }
  void flush_() override {
    std::lock_guard lock(g_channel_mutex);
    Channel(2).Flush();
  }
};

// Set while a drop notice is being written, so that it cannot recurse.
thread_local bool t_reporting = false;

void ReportDropsOf(bool now);

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
  return Status::Error("invalid log format " + Quoted(std::string(text)) +
                       " (expected text or json)");
}

std::string JsonEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  // JSON is UTF-8: bytes that are not (a worker's STATUS=, a file name) are written as \\xNN.
  const std::string valid = EscapeInvalidUtf8(text);
  for (unsigned char c : valid) {
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

void Setup(Level level, Format format) {
  {
    // Opened anew on first use after this: Setup() follows any change to descriptors 1 and 2
    // (tests capture stderr this way); what a slow reader has not taken yet goes out first.
    std::lock_guard lock(g_channel_mutex);
    for (auto& channel : g_channels) {
      if (channel) channel->Flush();
      channel.reset();
    }
  }
  // One sink for the core and vigil-control alike: it locks around each line, so threads that
  // share the logger never interleave their lines, and it never blocks (output_channel.h).
  auto sink = std::make_shared<ChannelSink>();
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
  ReportDrops();
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

OutputChannel& StandardChannel(int fd) {
  std::lock_guard lock(g_channel_mutex);
  return Channel(fd == 1 ? 1 : 2);
}

OutputChannel* StandardChannelIfOpen(int fd) {
  std::lock_guard lock(g_channel_mutex);
  return g_channels[fd == 1 ? 0 : 1].get();
}

namespace {
void ReportDropsOf(bool now) {
  if (t_reporting) return;
  t_reporting = true;
  for (int fd : {1, 2}) {
    uint64_t lines = 0;
    {
      std::lock_guard lock(g_channel_mutex);
      if (g_channels[fd - 1]) lines = g_channels[fd - 1]->TakeDropsToReport(now);
    }
    if (lines > 0) {
      Event(Level::kWarn, "output_dropped", "lines dropped: nobody read vigil's output in time",
            {{"stream", fd == 1 ? "stdout" : "stderr"}, {"lines", lines}});
    }
  }
  t_reporting = false;
}
}  // namespace

void ReportDrops() {
  ReportDropsOf(false);
}

void FlushStandardChannels(std::chrono::milliseconds limit) {
  // Said now: the reader may never come back.
  ReportDropsOf(true);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::lock_guard lock(g_channel_mutex);
  for (const auto& channel : g_channels) {
    if (!channel) continue;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    channel->FlushFor(std::max(left, std::chrono::milliseconds(0)));
  }
}

}  // namespace vigil::log
