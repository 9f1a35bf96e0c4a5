#include "agent/signal/signals.h"

#include "agent/base/quote.h"

#include <strings.h>

#include <array>
#include <cstdlib>

namespace vigil {
namespace {

struct NamedSignal {
  const char* name;  // Without the SIG prefix.
  int number;
};

constexpr std::array<NamedSignal, 31> kSignals = {{
    {"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT}, {"ILL", SIGILL},
    {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},     {"BUS", SIGBUS},   {"FPE", SIGFPE},
    {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT},
    {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},
    {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},   {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH},
    {"IO", SIGIO},     {"PWR", SIGPWR},       {"SYS", SIGSYS},
}};

// Parses a whole decimal number, or returns -1.
int ParseNumber(std::string_view text) {
  if (text.empty() || text.size() > 4) return -1;
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  return value;
}

bool EqualsIgnoreCase(std::string_view a, const char* b) {
  std::string_view bv(b);
  return a.size() == bv.size() && strncasecmp(a.data(), b, a.size()) == 0;
}

// "RTMIN", "RTMIN+n", "RTMAX", "RTMAX-n" -> signal number, or -1.
int ParseRealtime(std::string_view text) {
  if (text.size() < 5) return -1;
  std::string_view base = text.substr(0, 5);
  std::string_view rest = text.substr(5);
  int offset = 0;
  if (EqualsIgnoreCase(base, "RTMIN")) {
    if (!rest.empty()) {
      if (rest[0] != '+' || (offset = ParseNumber(rest.substr(1))) < 0) return -1;
    }
    return SIGRTMIN + offset;  // Above SIGRTMAX: rejected by the range check of ParseSignal.
  }
  if (EqualsIgnoreCase(base, "RTMAX")) {
    if (!rest.empty()) {
      if (rest[0] != '-' || (offset = ParseNumber(rest.substr(1))) < 0) return -1;
    }
    // Below SIGRTMIN is not a real-time signal (and 0 would mean "drop" to a rewrite rule).
    return SIGRTMAX - offset >= SIGRTMIN ? SIGRTMAX - offset : 65;
  }
  return -1;
}

}  // namespace

StatusOr<int> ParseSignal(std::string_view text, bool allow_zero) {
  const std::string original(text);
  int number = ParseNumber(text);
  if (number < 0) {
    if (text.size() > 3 && EqualsIgnoreCase(text.substr(0, 3), "SIG")) text.remove_prefix(3);
    for (const auto& s : kSignals) {
      if (EqualsIgnoreCase(text, s.name)) return s.number;
    }
    number = ParseRealtime(text);
    if (number < 0) return Status::Error("unknown signal " + Quoted(original));
  }
  if (number == 0 && allow_zero) return 0;
  if (number < 1 || number > SIGRTMAX) {
    return Status::Error("signal " + Quoted(original) + " is out of range (1.." +
                         std::to_string(SIGRTMAX) + ")");
  }
  return number;
}

std::string SignalName(int signo) {
  for (const auto& s : kSignals) {
    if (s.number == signo) return std::string("SIG") + s.name;
  }
  if (signo == SIGRTMIN) return "SIGRTMIN";
  if (signo > SIGRTMIN && signo <= SIGRTMAX) return "SIGRTMIN+" + std::to_string(signo - SIGRTMIN);
  return "signal " + std::to_string(signo);
}

bool IsFaultSignal(int signo) {
  switch (signo) {
    case SIGSEGV:
    case SIGFPE:
    case SIGILL:
    case SIGBUS:
    case SIGABRT:
    case SIGTRAP:
    case SIGSYS:
      return true;
    default:
      return false;
  }
}

sigset_t CoreSignalSet(bool with_fault_signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int signo = 1; signo <= SIGRTMAX; ++signo) {
    if (signo == SIGKILL || signo == SIGSTOP) continue;
    if (IsFaultSignal(signo) && !with_fault_signals) continue;
    sigaddset(&set, signo);  // glibc refuses its two internal signals (32, 33); that is fine.
  }
  return set;
}

}  // namespace vigil
