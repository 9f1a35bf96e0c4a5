#include "agent/control/library_log.h"

#include <google/protobuf/stubs/logging.h>
#include <grpc/support/log.h>

#include <cstring>

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
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    size_t n = 0;
    uint32_t min = 0;
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 2;
      min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      n = 3;
      min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      n = 4;
      min = 0x10000;
    }
    bool ok = n != 0 && i + n <= text.size();
    uint32_t cp = n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;
    for (size_t k = 1; ok && k < n; ++k) {
      const unsigned char cc = static_cast<unsigned char>(text[i + k]);
      ok = (cc & 0xc0) == 0x80;
      cp = (cp << 6) | (cc & 0x3f);
    }
    ok = ok && cp >= min && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
    if (ok) {
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
