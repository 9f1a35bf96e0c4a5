#include "agent/notify/notify_message.h"

#include <charconv>

namespace vigil {
namespace {

template <typename T>
bool ParseNumber(std::string_view text, T* out) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

NotifyParseResult Reject(NotifyRejection why, std::string error) {
  NotifyParseResult result;
  result.rejection = why;
  result.error = std::move(error);
  return result;
}

}  // namespace

const char* NotifyRejectionName(NotifyRejection rejection) {
  switch (rejection) {
    case NotifyRejection::kNone:
      return "none";
    case NotifyRejection::kOversized:
      return "oversized";
    case NotifyRejection::kEmpty:
      return "empty";
    case NotifyRejection::kNotText:
      return "not_text";
    case NotifyRejection::kMalformed:
      return "malformed";
    case NotifyRejection::kSenderGone:
      return "sender_gone";
    case NotifyRejection::kSenderOutsideNamespace:
      return "sender_outside_namespace";
    case NotifyRejection::kSenderNotInGroup:
      return "sender_not_in_group";
    case NotifyRejection::kNoCredentials:
      return "no_credentials";
    case NotifyRejection::kFdPassed:
      return "fd_passed";
    case NotifyRejection::kMainPidRefused:
      return "main_pid_refused";
  }
  return "unknown";
}

const char* NotifyKeyName(NotifyKey key) {
  switch (key) {
    case NotifyKey::kReady:
      return "READY";
    case NotifyKey::kReloading:
      return "RELOADING";
    case NotifyKey::kStopping:
      return "STOPPING";
    case NotifyKey::kStatus:
      return "STATUS";
    case NotifyKey::kWatchdog:
      return "WATCHDOG";
    case NotifyKey::kExtendTimeoutUsec:
      return "EXTEND_TIMEOUT_USEC";
    case NotifyKey::kMainPid:
      return "MAINPID";
    case NotifyKey::kErrno:
      return "ERRNO";
    case NotifyKey::kExitStatus:
      return "EXIT_STATUS";
    case NotifyKey::kVigilStop:
      return "X_VIGIL_STOP";
    case NotifyKey::kOther:
      return "other";
  }
  return "other";
}

void CountNotifyKeys(const NotifyMessage& m, uint64_t (&counts)[kNotifyKeyCount]) {
  auto add = [&counts](NotifyKey key, uint64_t n = 1) { counts[static_cast<int>(key)] += n; };
  if (m.ready) add(NotifyKey::kReady);
  if (m.reloading) add(NotifyKey::kReloading);
  if (m.stopping) add(NotifyKey::kStopping);
  if (m.status) add(NotifyKey::kStatus);
  if (m.watchdog_ping || m.watchdog_trigger) add(NotifyKey::kWatchdog);
  if (m.extend_timeout_usec) add(NotifyKey::kExtendTimeoutUsec);
  if (m.main_pid) add(NotifyKey::kMainPid);
  if (m.errno_value) add(NotifyKey::kErrno);
  if (m.exit_status) add(NotifyKey::kExitStatus);
  if (m.stop_pod) add(NotifyKey::kVigilStop);
  if (m.unknown_keys > 0) add(NotifyKey::kOther, static_cast<uint64_t>(m.unknown_keys));
}

NotifyParseResult ParseNotifyDatagram(std::string_view datagram) {
  if (datagram.size() > kMaxNotifyDatagram) {
    return Reject(NotifyRejection::kOversized,
                  "datagram larger than " + std::to_string(kMaxNotifyDatagram) + " bytes");
  }
  if (datagram.empty()) return Reject(NotifyRejection::kEmpty, "empty datagram");
  for (unsigned char c : datagram) {
    if (c == 0 || (c < 0x20 && c != '\n' && c != '\t' && c != '\r')) {
      return Reject(NotifyRejection::kNotText, "datagram contains binary bytes");
    }
  }

  NotifyParseResult result;
  NotifyMessage& m = result.message;
  size_t pos = 0;
  while (pos < datagram.size()) {
    size_t end = datagram.find('\n', pos);
    if (end == std::string_view::npos) end = datagram.size();
    std::string_view line = datagram.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return Reject(NotifyRejection::kMalformed,
                    "line without KEY=VALUE: '" + std::string(line.substr(0, 64)) + "'");
    }
    const std::string_view key = line.substr(0, eq);
    const std::string_view value = line.substr(eq + 1);
    auto bad = [&]() {
      return Reject(NotifyRejection::kMalformed, "bad value for " + std::string(key) + ": '" +
                                                     std::string(value.substr(0, 64)) + "'");
    };
    if (key == "READY") {
      if (value != "1") return bad();
      m.ready = true;
    } else if (key == "RELOADING") {
      if (value != "1") return bad();
      m.reloading = true;
    } else if (key == "STOPPING") {
      if (value != "1") return bad();
      m.stopping = true;
    } else if (key == "WATCHDOG") {
      if (value == "1") {
        m.watchdog_ping = true;
      } else if (value == "trigger") {
        m.watchdog_trigger = true;
      } else {
        return bad();
      }
    } else if (key == "STATUS") {
      m.status = std::string(value);
    } else if (key == "EXTEND_TIMEOUT_USEC") {
      uint64_t usec;
      if (!ParseNumber(value, &usec)) return bad();
      m.extend_timeout_usec = usec;
    } else if (key == "MAINPID") {
      int pid;
      if (!ParseNumber(value, &pid) || pid <= 0) return bad();
      m.main_pid = pid;
    } else if (key == "ERRNO") {
      int err;
      if (!ParseNumber(value, &err) || err < 0) return bad();
      m.errno_value = err;
    } else if (key == "EXIT_STATUS") {
      int status;
      if (!ParseNumber(value, &status) || status < 0) return bad();
      m.exit_status = status;
    } else if (key == "X_VIGIL_STOP") {
      if (value != "1") return bad();
      m.stop_pod = true;
    } else {
      ++m.unknown_keys;
    }
  }
  return result;
}

}  // namespace vigil
