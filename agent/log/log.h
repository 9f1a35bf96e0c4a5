// Logging setup for Vigil's processes: spdlog on stderr, as text for people or JSON lines for
// log pipelines. Vigil is quiet by default (warnings and errors only): a drop-in init must not
// add noise to a container's output.
//
// Call Setup() once from main() before logging; afterwards use spdlog::info(...) etc.
#pragma once

#include <string_view>

#include "agent/base/status.h"

namespace vigil::log {

enum class Level { kTrace, kDebug, kInfo, kWarn, kError, kOff };
enum class Format { kText, kJson };

StatusOr<Level> ParseLevel(std::string_view text);
StatusOr<Format> ParseFormat(std::string_view text);

// Text lines look like "vigil: error: cannot run 'x': No such file or directory";
// JSON lines like {"time":"2026-11-22T10:00:00.123Z","level":"error","logger":"vigil","msg":"..."}.
void Setup(Level level, Format format);

// Escapes `text` for use inside a JSON string (quotes, backslashes, control characters).
std::string JsonEscape(std::string_view text);

}  // namespace vigil::log
