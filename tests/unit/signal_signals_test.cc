#include "agent/signal/signals.h"

#include <signal.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <string>

namespace vigil {
namespace {

using ::testing::HasSubstr;

int Parsed(const std::string& text, bool allow_zero = false) {
  auto s = ParseSignal(text, allow_zero);
  EXPECT_TRUE(s.ok()) << "'" << text << "': " << s.status().message();
  return s.ok() ? *s : -1;
}

std::string ErrorOf(const std::string& text, bool allow_zero = false) {
  auto s = ParseSignal(text, allow_zero);
  EXPECT_FALSE(s.ok()) << "'" << text << "' parsed as " << (s.ok() ? *s : 0);
  return s.ok() ? "" : s.status().message();
}

std::string Lower(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

TEST(SignalName, ClassicNames) {
  EXPECT_EQ(SignalName(SIGTERM), "SIGTERM");
  EXPECT_EQ(SignalName(SIGHUP), "SIGHUP");
  EXPECT_EQ(SignalName(SIGCHLD), "SIGCHLD");
  EXPECT_EQ(SignalName(SIGSTKFLT), "SIGSTKFLT");
  EXPECT_EQ(SignalName(SIGSYS), "SIGSYS");
}

TEST(SignalName, RealtimeSignalsAreNamedFromRtmin) {
  EXPECT_EQ(SignalName(SIGRTMIN), "SIGRTMIN");
  EXPECT_EQ(SignalName(SIGRTMIN + 3), "SIGRTMIN+3");
  EXPECT_EQ(SignalName(SIGRTMAX), "SIGRTMIN+" + std::to_string(SIGRTMAX - SIGRTMIN));
}

TEST(SignalName, NumbersWithoutANameAreSpelledOut) {
  EXPECT_EQ(SignalName(0), "signal 0");
  EXPECT_EQ(SignalName(32), "signal 32");  // glibc-internal, below SIGRTMIN.
  EXPECT_EQ(SignalName(SIGRTMAX + 1), "signal " + std::to_string(SIGRTMAX + 1));
  EXPECT_EQ(SignalName(-1), "signal -1");
}

TEST(ParseSignal, EveryClassicSignalRoundTripsThroughItsName) {
  for (int signo = 1; signo <= 31; ++signo) {
    const std::string name = SignalName(signo);
    ASSERT_EQ(name.rfind("SIG", 0), 0u) << signo << " has no name: " << name;
    const std::string bare = name.substr(3);
    EXPECT_EQ(Parsed(name), signo) << name;
    EXPECT_EQ(Parsed(bare), signo) << bare;
    EXPECT_EQ(Parsed(Lower(name)), signo) << Lower(name);
    EXPECT_EQ(Parsed(Lower(bare)), signo) << Lower(bare);
    EXPECT_EQ(Parsed(std::to_string(signo)), signo);
  }
}

TEST(ParseSignal, MixedCaseAndPrefix) {
  EXPECT_EQ(Parsed("SigTerm"), SIGTERM);
  EXPECT_EQ(Parsed("sigusr1"), SIGUSR1);
  EXPECT_EQ(Parsed("Usr2"), SIGUSR2);
}

TEST(ParseSignal, EveryNumberUpToRtmax) {
  for (int signo = 1; signo <= SIGRTMAX; ++signo) {
    EXPECT_EQ(Parsed(std::to_string(signo)), signo);
  }
  EXPECT_EQ(Parsed("015"), SIGTERM);  // Leading zeros are still decimal.
}

TEST(ParseSignal, RealtimeNames) {
  EXPECT_EQ(Parsed("RTMIN"), SIGRTMIN);
  EXPECT_EQ(Parsed("SIGRTMIN"), SIGRTMIN);
  EXPECT_EQ(Parsed("rtmin"), SIGRTMIN);
  EXPECT_EQ(Parsed("RTMIN+0"), SIGRTMIN);
  EXPECT_EQ(Parsed("RTMIN+3"), SIGRTMIN + 3);
  EXPECT_EQ(Parsed("SIGRTMIN+3"), SIGRTMIN + 3);
  EXPECT_EQ(Parsed("RTMAX"), SIGRTMAX);
  EXPECT_EQ(Parsed("sigrtmax"), SIGRTMAX);
  EXPECT_EQ(Parsed("RTMAX-1"), SIGRTMAX - 1);
  EXPECT_EQ(Parsed("SIGRTMAX-2"), SIGRTMAX - 2);
}

TEST(ParseSignal, EveryRealtimeSignalRoundTripsThroughItsName) {
  for (int signo = SIGRTMIN; signo <= SIGRTMAX; ++signo) {
    EXPECT_EQ(Parsed(SignalName(signo)), signo) << SignalName(signo);
    EXPECT_EQ(Parsed("RTMIN+" + std::to_string(signo - SIGRTMIN)), signo);
    EXPECT_EQ(Parsed("RTMAX-" + std::to_string(SIGRTMAX - signo)), signo);
  }
}

TEST(ParseSignal, ZeroIsOutOfRangeUnlessAllowed) {
  EXPECT_THAT(ErrorOf("0"), HasSubstr("'0'"));
  EXPECT_THAT(ErrorOf("0"), HasSubstr("out of range"));
  EXPECT_EQ(Parsed("0", /*allow_zero=*/true), 0);
}

TEST(ParseSignal, AllowZeroStillParsesEverythingElse) {
  EXPECT_EQ(Parsed("TERM", /*allow_zero=*/true), SIGTERM);
  EXPECT_EQ(Parsed("9", /*allow_zero=*/true), SIGKILL);
  EXPECT_THAT(ErrorOf("nope", /*allow_zero=*/true), HasSubstr("'nope'"));
}

TEST(ParseSignal, NumbersAboveRtmaxAreOutOfRangeNamingTheInput) {
  const std::string text = std::to_string(SIGRTMAX + 1);
  std::string msg = ErrorOf(text);
  EXPECT_THAT(msg, HasSubstr("'" + text + "'"));
  EXPECT_THAT(msg, HasSubstr("out of range"));
  EXPECT_THAT(msg, HasSubstr(std::to_string(SIGRTMAX)));
  EXPECT_THAT(ErrorOf("999"), HasSubstr("'999'"));
  EXPECT_THAT(ErrorOf("99999"), HasSubstr("'99999'"));
}

TEST(ParseSignal, RtminBeyondRtmaxIsOutOfRange) {
  const std::string text = "RTMIN+" + std::to_string(SIGRTMAX - SIGRTMIN + 1);
  std::string msg = ErrorOf(text);
  EXPECT_THAT(msg, HasSubstr("'" + text + "'"));
  EXPECT_THAT(msg, HasSubstr("out of range"));
}

TEST(ParseSignal, UnknownNamesAreRejectedNamingTheInput) {
  for (const char* text :
       {"FOO", "SIGFOO", "SIG", "", "TERMX", "TER", "-15", "+15", "15x", " 15", "SIGSIGTERM",
        "RTMIN+", "RTMIN-1", "RTMAX+1", "RTMIN+x", "RTMID", "SIG15"}) {
    std::string msg = ErrorOf(text);
    EXPECT_THAT(msg, HasSubstr(std::string("'") + text + "'")) << text;
    EXPECT_THAT(msg, HasSubstr("unknown signal")) << text;
  }
}

// Regression test for a fixed bug: "RTMAX-n" is not checked against SIGRTMIN: RTMAX-40 parses as 24
// (SIGXCPU), RTMAX-31 as 33 (a glibc-internal signal), and RTMAX-64 with allow_zero as 0, so
// `--rewrite TERM:RTMAX-64` silently drops SIGTERM. RTMIN+n past SIGRTMAX is rejected; RTMAX-n
// below SIGRTMIN should be too.
TEST(ParseSignal, RtmaxMinusTooMuchIsOutOfRange) {
  for (int below : {1, 10, 30}) {
    const std::string text = "RTMAX-" + std::to_string(SIGRTMAX - SIGRTMIN + below);
    std::string msg = ErrorOf(text);
    EXPECT_THAT(msg, HasSubstr("'" + text + "'")) << text;
  }
  EXPECT_FALSE(ParseSignal("RTMAX-" + std::to_string(SIGRTMAX), /*allow_zero=*/true).ok());
}

TEST(IsFaultSignal, TheSynchronousFaults) {
  for (int signo : {SIGSEGV, SIGFPE, SIGILL, SIGBUS, SIGABRT, SIGTRAP, SIGSYS}) {
    EXPECT_TRUE(IsFaultSignal(signo)) << SignalName(signo);
  }
}

TEST(IsFaultSignal, NothingElse) {
  int faults = 0;
  for (int signo = 0; signo <= SIGRTMAX + 1; ++signo)
    faults += IsFaultSignal(signo) ? 1 : 0;
  EXPECT_EQ(faults, 7);
  for (int signo : {SIGTERM, SIGKILL, SIGSTOP, SIGCHLD, SIGINT, SIGXCPU, SIGPIPE}) {
    EXPECT_FALSE(IsFaultSignal(signo)) << SignalName(signo);
  }
}

TEST(CoreSignalSet, HoldsTheForwardedSignals) {
  const sigset_t set = CoreSignalSet();
  for (int signo : {SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT,
                    SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE, SIGALRM, SIGPWR, SIGXCPU}) {
    EXPECT_EQ(sigismember(&set, signo), 1) << SignalName(signo);
  }
}

TEST(CoreSignalSet, HoldsEveryRealtimeSignal) {
  const sigset_t set = CoreSignalSet();
  for (int signo = SIGRTMIN; signo <= SIGRTMAX; ++signo) {
    EXPECT_EQ(sigismember(&set, signo), 1) << SignalName(signo);
  }
}

TEST(CoreSignalSet, LeavesOutKillStopAndTheFaults) {
  const sigset_t set = CoreSignalSet();
  for (int signo : {SIGKILL, SIGSTOP, SIGSEGV, SIGFPE, SIGILL, SIGBUS, SIGABRT, SIGTRAP, SIGSYS}) {
    EXPECT_EQ(sigismember(&set, signo), 0) << SignalName(signo);
  }
}

TEST(CoreSignalSet, WithFaultSignalsHoldsTheFaultsButNotKillOrStop) {
  const sigset_t set = CoreSignalSet(/*with_fault_signals=*/true);
  for (int signo : {SIGSEGV, SIGFPE, SIGILL, SIGBUS, SIGABRT, SIGTRAP, SIGSYS, SIGTERM, SIGHUP}) {
    EXPECT_EQ(sigismember(&set, signo), 1) << SignalName(signo);
  }
  EXPECT_EQ(sigismember(&set, SIGKILL), 0);
  EXPECT_EQ(sigismember(&set, SIGSTOP), 0);
}

}  // namespace
}  // namespace vigil
