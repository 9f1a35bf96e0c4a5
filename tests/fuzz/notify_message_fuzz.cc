// Fuzz target: the sd_notify parser (agent/notify/notify_message.h), fed any datagram a worker
// (or anyone who can reach its socket) could send.
//
// Invariants: a rejection names its cause and changes nothing; an accepted datagram is text of
// at most kMaxNotifyDatagram bytes, and every value it carries is within its bound (MAINPID > 0,
// ERRNO and EXIT_STATUS >= 0, STATUS one line of the datagram); rendering the understood keys
// again and parsing that gives the same message (parse -> format -> parse); error messages
// quote at most a bounded part of the datagram.
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/notify/notify_message.h"
#include "tests/fuzz/fuzz_check.h"

namespace vigil {
namespace {

// The understood keys of `m` as a datagram: the parser's inverse.
std::string Format(const NotifyMessage& m) {
  std::string out;
  auto line = [&out](std::string_view key, std::string_view value) {
    out.append(key).append("=").append(value);
    // The parser drops one '\r' before each '\n' (CRLF senders): keep a trailing one.
    out += !value.empty() && value.back() == '\r' ? "\r\n" : "\n";
  };
  if (m.ready) line("READY", "1");
  if (m.reloading) line("RELOADING", "1");
  if (m.stopping) line("STOPPING", "1");
  if (m.watchdog_ping) line("WATCHDOG", "1");
  if (m.watchdog_trigger) line("WATCHDOG", "trigger");
  if (m.stop_pod) line("X_VIGIL_STOP", "1");
  if (m.status) line("STATUS", *m.status);
  if (m.extend_timeout_usec) line("EXTEND_TIMEOUT_USEC", std::to_string(*m.extend_timeout_usec));
  if (m.main_pid) line("MAINPID", std::to_string(*m.main_pid));
  if (m.errno_value) line("ERRNO", std::to_string(*m.errno_value));
  if (m.exit_status) line("EXIT_STATUS", std::to_string(*m.exit_status));
  return out;
}

bool SameKeys(const NotifyMessage& a, const NotifyMessage& b) {
  return a.ready == b.ready && a.reloading == b.reloading && a.stopping == b.stopping &&
         a.watchdog_ping == b.watchdog_ping && a.watchdog_trigger == b.watchdog_trigger &&
         a.stop_pod == b.stop_pod && a.status == b.status &&
         a.extend_timeout_usec == b.extend_timeout_usec && a.main_pid == b.main_pid &&
         a.errno_value == b.errno_value && a.exit_status == b.exit_status;
}

}  // namespace
}  // namespace vigil

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil;
  const std::string_view datagram(reinterpret_cast<const char*>(data), size);
  const std::string shown = fuzz::Printable(datagram);
  const NotifyParseResult r = ParseNotifyDatagram(datagram);
  FUZZ_CHECK(r.error.size() <= 256, "an error message of " + std::to_string(r.error.size()) +
                                        " bytes for '" + shown + "'");
  if (r.rejection != NotifyRejection::kNone) {
    FUZZ_CHECK(!r.error.empty(), std::string("rejected as ") + NotifyRejectionName(r.rejection) +
                                     " without a message: '" + shown + "'");
    FUZZ_CHECK(SameKeys(r.message, NotifyMessage()), "a rejected datagram changed the message");
    return 0;
  }
  FUZZ_CHECK(r.error.empty(), "accepted with an error: " + r.error);
  FUZZ_CHECK(size > 0 && size <= kMaxNotifyDatagram, "accepted at " + std::to_string(size));
  const NotifyMessage& m = r.message;
  FUZZ_CHECK(!m.main_pid || *m.main_pid > 0, "MAINPID " + std::to_string(*m.main_pid));
  FUZZ_CHECK(!m.errno_value || *m.errno_value >= 0, "ERRNO " + std::to_string(*m.errno_value));
  FUZZ_CHECK(!m.exit_status || *m.exit_status >= 0,
             "EXIT_STATUS " + std::to_string(*m.exit_status));
  FUZZ_CHECK(m.unknown_keys >= 0 && static_cast<size_t>(m.unknown_keys) <= size,
             "unknown_keys " + std::to_string(m.unknown_keys));
  if (m.status) {
    FUZZ_CHECK(
        m.status->find('\n') == std::string::npos && m.status->find('\0') == std::string::npos,
        "STATUS spans lines: '" + fuzz::Printable(*m.status) + "'");
    FUZZ_CHECK(datagram.find(*m.status) != std::string_view::npos,
               "STATUS is not from the datagram");
  }
  uint64_t counts[kNotifyKeyCount] = {};
  CountNotifyKeys(m, counts);
  for (int k = 0; k < kNotifyKeyCount; ++k) {
    FUZZ_CHECK(NotifyKeyName(static_cast<NotifyKey>(k)) != nullptr, "a key without a name");
  }

  const std::string again = Format(m);
  if (again.empty() || again.size() > kMaxNotifyDatagram) return 0;  // only unknown keys
  const NotifyParseResult r2 = ParseNotifyDatagram(again);
  FUZZ_CHECK(r2.rejection == NotifyRejection::kNone,
             "'" + shown + "' formats as '" + fuzz::Printable(again) + "', rejected: " + r2.error);
  FUZZ_CHECK(SameKeys(m, r2.message),
             "'" + shown + "' formats as '" + fuzz::Printable(again) + "', which parses otherwise");
  return 0;
}
