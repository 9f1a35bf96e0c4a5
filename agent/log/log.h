// Logging for Vigil's processes: spdlog on stderr, as text for people or JSON lines for log
// pipelines. Vigil is quiet by default (warnings and errors only): a drop-in init must not add
// noise to a container's output.
//
// Two kinds of line:
//   log::Info("started {} workers", n);                       // a message
//   log::Event(Level::kInfo, "worker_exited", "worker exited",  // an event with fields
//              {{"pool", "web"}, {"slot", 0}, {"reason", "exited"}, {"code", 1}});
// Text:  vigil: info: worker exited pool=web slot=0 reason=exited code=1
// JSON:  {"time":"...","level":"info","logger":"vigil","event":"worker_exited",
//         "msg":"worker exited","pool":"web","slot":0,"reason":"exited","code":1}
//
// Output never blocks: lines go to Vigil's stderr through a non-blocking channel with a bounded
// buffer; what a stalled reader cannot take is dropped, counted and reported
// (output_channel.h).
//
// Call Setup() once from main(); until then lines go out as text at the default level.
// All logging goes through these functions (never spdlog directly), so that every JSON line is
// well-formed. Thread-safe: the sink locks around each line (vigil-control's gRPC and HTTP
// threads all log); the core has one thread and pays an uncontended lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "agent/base/status.h"

namespace vigil::log {

enum class Level { kTrace, kDebug, kInfo, kWarn, kError, kOff };
enum class Format { kText, kJson };

StatusOr<Level> ParseLevel(std::string_view text);
StatusOr<Format> ParseFormat(std::string_view text);

// Not while the loop runs: it replaces the output channels (see StandardChannel).
void Setup(Level level, Format format);
bool Enabled(Level level);

// A key and its value; numbers are written unquoted in JSON.
struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v), quoted(true) {}
  Field(std::string_view k, const char* v) : key(k), value(v), quoted(true) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v), quoted(true) {}
  Field(std::string_view k, bool v) : key(k), value(v ? "true" : "false"), quoted(false) {}
  template <typename T,
            typename = std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>>
  Field(std::string_view k, T v) : key(k), value(std::to_string(v)), quoted(false) {}
  std::string_view key;
  std::string value;
  bool quoted;
};

void Write(Level level, std::string_view event, std::string_view message,
           std::initializer_list<Field> fields);
// Write under another logger's name (JSON "logger", the text prefix), for the lines of the
// libraries a program links ("grpc", "protobuf"), so that they too are Vigil's lines.
void WriteAs(std::string_view logger, Level level, std::string_view event, std::string_view message,
             std::initializer_list<Field> fields);

inline void Event(Level level, std::string_view event, std::string_view message,
                  std::initializer_list<Field> fields) {
  if (Enabled(level)) Write(level, event, message, fields);
}

template <typename... Args>
void Trace(fmt::format_string<Args...> f, Args&&... args) {
  if (Enabled(Level::kTrace))
    Write(Level::kTrace, {}, fmt::format(f, std::forward<Args>(args)...), {});
}
template <typename... Args>
void Debug(fmt::format_string<Args...> f, Args&&... args) {
  if (Enabled(Level::kDebug))
    Write(Level::kDebug, {}, fmt::format(f, std::forward<Args>(args)...), {});
}
template <typename... Args>
void Info(fmt::format_string<Args...> f, Args&&... args) {
  if (Enabled(Level::kInfo))
    Write(Level::kInfo, {}, fmt::format(f, std::forward<Args>(args)...), {});
}
template <typename... Args>
void Warn(fmt::format_string<Args...> f, Args&&... args) {
  if (Enabled(Level::kWarn))
    Write(Level::kWarn, {}, fmt::format(f, std::forward<Args>(args)...), {});
}
template <typename... Args>
void Error(fmt::format_string<Args...> f, Args&&... args) {
  if (Enabled(Level::kError))
    Write(Level::kError, {}, fmt::format(f, std::forward<Args>(args)...), {});
}

// Escapes `text` for use inside a JSON string (quotes, backslashes, control characters; bytes
// that are not UTF-8 as \\xNN, so every line is valid JSON).
std::string JsonEscape(std::string_view text);

class OutputChannel;
// Vigil's own stdout (fd 1) and stderr (fd 2, where log lines go) as non-blocking channels
// (output_channel.h): nothing Vigil writes can block it when nobody reads. The log's own lines
// are written under a lock; a caller that writes a channel directly (the core's output relay
// and loop, single-threaded) must not share it with other threads.
OutputChannel& StandardChannel(int fd);
// The same, or null if nothing has used it yet (so that a quiet run never opens it).
OutputChannel* StandardChannelIfOpen(int fd);
// Logs a warning for lines a channel dropped, once that channel takes lines again. Write()
// calls it; so does whatever flushes the channels from the loop.
void ReportDrops();
// The last lines before exit: waits up to `limit` in all for slow readers, then gives up.
void FlushStandardChannels(std::chrono::milliseconds limit);

}  // namespace vigil::log
