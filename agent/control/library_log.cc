#include "agent/control/library_log.h"

#include <google/protobuf/stubs/logging.h>
#include <grpc/support/log.h>

#include <cstring>

#include "agent/base/utf8.h"
#include "agent/log/log.h"

namespace vigil::control {
namespace {

std::string_view BaseName(const char* file) {
  if (file == nullptr) return "";
  const char* slash = std::strrchr(file, '/');
  return slash != nullptr ? slash + 1 : file;
}

void FromGrpc(gpr_log_func_args* args) {
  log::Level level = log::Level::kError;
  if (args->severity == GPR_LOG_SEVERITY_DEBUG) {
    level = log::Level::kDebug;
  } else if (args->severity == GPR_LOG_SEVERITY_INFO) {
    level = log::Level::kInfo;
  }
  if (!log::Enabled(level)) return;
  log::WriteAs("grpc", level, "", ValidUtf8(args->message != nullptr ? args->message : ""),
               {{"file", BaseName(args->file)}, {"line", args->line}});
}

void FromProtobuf(google::protobuf::LogLevel severity, const char* file, int line,
                  const std::string& message) {
  log::Level level = log::Level::kError;  // ERROR and FATAL (protobuf aborts after FATAL)
  if (severity == google::protobuf::LOGLEVEL_INFO) {
    level = log::Level::kInfo;
  } else if (severity == google::protobuf::LOGLEVEL_WARNING) {
    level = log::Level::kWarn;
  }
  if (!log::Enabled(level)) return;
  log::WriteAs("protobuf", level, "", ValidUtf8(message),
               {{"file", BaseName(file)}, {"line", line}});
}

}  // namespace

std::string ValidUtf8(std::string_view text) {
  if (IsValidUtf8(text)) return std::string(text);
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (const size_t n = Utf8SequenceLength(text, i); n > 0) {
      out.append(text.substr(i, n));
      i += n;
    } else {
      out += "\xef\xbf\xbd";  // U+FFFD
      ++i;
    }
  }
  return out;
}

void RouteLibraryLogs() {
  gpr_set_log_function(&FromGrpc);
  google::protobuf::SetLogHandler(&FromProtobuf);
}

}  // namespace vigil::control
