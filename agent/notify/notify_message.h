// The sd_notify protocol, parsed: one datagram of newline-separated KEY=VALUE lines, as sent by
// systemd's sd_notify(3), python3-sdnotify, gunicorn and `systemd-notify`.
//
// Understood keys: READY=1, RELOADING=1, STOPPING=1, STATUS=text, WATCHDOG=1, WATCHDOG=trigger,
// EXTEND_TIMEOUT_USEC=n, MAINPID=n, ERRNO=n, EXIT_STATUS=n, and Vigil's own X_VIGIL_STOP=1
// (the worker asks Vigil to stop the whole pod). Unknown keys, other X_ extensions and empty lines
// are ignored, as systemd does. A datagram that is not text, has a line without '=', or has a
// bad value for a known key is rejected as a whole, with the cause, and changes nothing.
// Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vigil {

inline constexpr size_t kMaxNotifyDatagram = 4096;

struct NotifyMessage {
  bool ready = false;
  bool reloading = false;
  bool stopping = false;
  bool watchdog_ping = false;
  bool watchdog_trigger = false;
  bool stop_pod = false;  // X_VIGIL_STOP=1
  std::optional<std::string> status;
  std::optional<uint64_t> extend_timeout_usec;
  std::optional<int> main_pid;
  std::optional<int> errno_value;
  std::optional<int> exit_status;
  int unknown_keys = 0;  // Ignored lines, counted for metrics.
};

// Why a datagram was rejected; also a metrics label (docs/metrics.md lists them).
enum class NotifyRejection {
  kNone,
  kOversized,  // more than kMaxNotifyDatagram bytes
  kEmpty,
  kNotText,    // NUL or other binary bytes
  kMalformed,  // a line without '=', or a bad value for a known key
  // Who sent it (notify_auth.h): the datagram is refused before it is even parsed.
  kSenderGone,              // exited and reaped before it was read: cannot be attributed
  kSenderOutsideNamespace,  // a process outside Vigil's PID namespace (another container)
  kSenderNotInGroup,        // alive, but not of the worker's process group
  kNoCredentials,           // the kernel attached no usable credentials
  kFdPassed,                // it carried descriptors (SCM_RIGHTS): closed, never used
  kMainPidRefused,          // MAINPID= naming PID 1, Vigil, another worker, or a foreign process
};

inline constexpr int kNotifyRejectionCount = 11;  // kNone included, so the enum indexes arrays

const char* NotifyRejectionName(NotifyRejection rejection);

// The keys counted in metrics: each understood key, and kOther for ignored ones (unknown keys,
// other X_ extensions). WATCHDOG=1 and WATCHDOG=trigger are both kWatchdog.
enum class NotifyKey {
  kReady,
  kReloading,
  kStopping,
  kStatus,
  kWatchdog,
  kExtendTimeoutUsec,
  kMainPid,
  kErrno,
  kExitStatus,
  kVigilStop,
  kOther,
};
inline constexpr int kNotifyKeyCount = 11;

const char* NotifyKeyName(NotifyKey key);  // "READY", ..., "X_VIGIL_STOP", "other"

// Adds one to counts[key] for each key the message carried (kOther: once per ignored line).
void CountNotifyKeys(const NotifyMessage& message, uint64_t (&counts)[kNotifyKeyCount]);

struct NotifyParseResult {
  NotifyMessage message;
  NotifyRejection rejection = NotifyRejection::kNone;
  std::string error;  // Human-readable cause when rejected.
};

NotifyParseResult ParseNotifyDatagram(std::string_view datagram);

}  // namespace vigil
