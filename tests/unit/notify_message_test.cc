// ParseNotifyDatagram: the sd_notify protocol. Every understood key, what is ignored (and
// counted), and every cause of rejection, which always leaves nothing applied.
#include "agent/notify/notify_message.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace vigil {
namespace {

using ::testing::HasSubstr;

NotifyMessage Accepted(std::string_view datagram) {
  NotifyParseResult r = ParseNotifyDatagram(datagram);
  EXPECT_EQ(r.rejection, NotifyRejection::kNone) << r.error;
  EXPECT_TRUE(r.error.empty());
  return r.message;
}

// A rejected datagram carries a cause and an untouched (default) message.
void ExpectRejected(std::string_view datagram, NotifyRejection why, const std::string& error_part) {
  SCOPED_TRACE(std::string(datagram.substr(0, 80)));
  NotifyParseResult r = ParseNotifyDatagram(datagram);
  EXPECT_EQ(r.rejection, why);
  EXPECT_THAT(r.error, HasSubstr(error_part));
  const NotifyMessage& m = r.message;
  EXPECT_FALSE(m.ready);
  EXPECT_FALSE(m.reloading);
  EXPECT_FALSE(m.stopping);
  EXPECT_FALSE(m.watchdog_ping);
  EXPECT_FALSE(m.watchdog_trigger);
  EXPECT_FALSE(m.stop_pod);
  EXPECT_FALSE(m.status.has_value());
  EXPECT_FALSE(m.extend_timeout_usec.has_value());
  EXPECT_FALSE(m.main_pid.has_value());
  EXPECT_FALSE(m.errno_value.has_value());
  EXPECT_FALSE(m.exit_status.has_value());
  EXPECT_EQ(m.unknown_keys, 0);
}

// ---- Every understood key ----

TEST(NotifyMessageTest, Ready) {
  EXPECT_TRUE(Accepted("READY=1").ready);
}
TEST(NotifyMessageTest, Reloading) {
  EXPECT_TRUE(Accepted("RELOADING=1").reloading);
}
TEST(NotifyMessageTest, Stopping) {
  EXPECT_TRUE(Accepted("STOPPING=1").stopping);
}

TEST(NotifyMessageTest, WatchdogPingAndTrigger) {
  NotifyMessage ping = Accepted("WATCHDOG=1");
  EXPECT_TRUE(ping.watchdog_ping);
  EXPECT_FALSE(ping.watchdog_trigger);
  NotifyMessage trigger = Accepted("WATCHDOG=trigger");
  EXPECT_TRUE(trigger.watchdog_trigger);
  EXPECT_FALSE(trigger.watchdog_ping);
}

TEST(NotifyMessageTest, StatusKeepsTheWholeValueIncludingEqualsSignsAndSpaces) {
  EXPECT_EQ(Accepted("STATUS=Serving 3 requests, load=0.5").status, "Serving 3 requests, load=0.5");
  EXPECT_EQ(Accepted("STATUS=").status, "");
  EXPECT_EQ(Accepted("STATUS=caf\xc3\xa9\ttab").status,
            "caf\xc3\xa9\ttab");  // UTF-8 and tabs are text.
}

TEST(NotifyMessageTest, ExtendTimeoutUsec) {
  EXPECT_EQ(Accepted("EXTEND_TIMEOUT_USEC=5000000").extend_timeout_usec, 5000000u);
  EXPECT_EQ(Accepted("EXTEND_TIMEOUT_USEC=0").extend_timeout_usec, 0u);
  EXPECT_EQ(Accepted("EXTEND_TIMEOUT_USEC=18446744073709551615").extend_timeout_usec,
            18446744073709551615u);
}

TEST(NotifyMessageTest, MainPid) {
  EXPECT_EQ(Accepted("MAINPID=4321").main_pid, 4321);
}
TEST(NotifyMessageTest, Errno) {
  EXPECT_EQ(Accepted("ERRNO=2").errno_value, 2);
}
TEST(NotifyMessageTest, ExitStatus) {
  EXPECT_EQ(Accepted("EXIT_STATUS=3").exit_status, 3);
  EXPECT_EQ(Accepted("EXIT_STATUS=0").exit_status, 0);
}
TEST(NotifyMessageTest, VigilStopPod) {
  EXPECT_TRUE(Accepted("X_VIGIL_STOP=1").stop_pod);
}

TEST(NotifyMessageTest, ManyKeysInOneDatagram) {
  NotifyMessage m = Accepted("READY=1\nSTATUS=up\nMAINPID=77\nWATCHDOG=1\nX_VIGIL_STOP=1\n");
  EXPECT_TRUE(m.ready);
  EXPECT_EQ(m.status, "up");
  EXPECT_EQ(m.main_pid, 77);
  EXPECT_TRUE(m.watchdog_ping);
  EXPECT_TRUE(m.stop_pod);
  EXPECT_EQ(m.unknown_keys, 0);
}

TEST(NotifyMessageTest, ALaterStatusInTheSameDatagramWins) {
  EXPECT_EQ(Accepted("STATUS=one\nSTATUS=two").status, "two");
}

TEST(NotifyMessageTest, NothingIsSetByDefault) {
  NotifyMessage m = Accepted("STATUS=x");
  EXPECT_FALSE(m.ready);
  EXPECT_FALSE(m.stop_pod);
  EXPECT_FALSE(m.main_pid.has_value());
}

// ---- Ignored: unknown keys, other X_ extensions, empty lines, CRLF ----

TEST(NotifyMessageTest, UnknownKeysAndOtherXExtensionsAreIgnoredAndCounted) {
  NotifyMessage m = Accepted("FDSTORE=1\nREADY=1\nX_OTHER=whatever\nX_VIGIL_OTHER=1\nBUSERROR=x");
  EXPECT_TRUE(m.ready);
  EXPECT_EQ(m.unknown_keys, 4);
}

TEST(NotifyMessageTest, UnknownKeysTakeAnyValue) {
  EXPECT_EQ(Accepted("NOTIFYACCESS=\x7f\xff").unknown_keys, 1);
  EXPECT_EQ(Accepted("FOO=").unknown_keys, 1);
}

TEST(NotifyMessageTest, KeysAreCaseSensitive) {
  NotifyMessage m = Accepted("ready=1");
  EXPECT_FALSE(m.ready);
  EXPECT_EQ(m.unknown_keys, 1);
}

TEST(NotifyMessageTest, EmptyLinesAreIgnored) {
  NotifyMessage m = Accepted("\n\nREADY=1\n\n\nSTATUS=a\n");
  EXPECT_TRUE(m.ready);
  EXPECT_EQ(m.status, "a");
  EXPECT_EQ(m.unknown_keys, 0);
  EXPECT_EQ(Accepted("\n").unknown_keys, 0);  // Only an empty line: accepted, nothing in it.
}

TEST(NotifyMessageTest, CrlfLineEndingsAreAccepted) {
  NotifyMessage m = Accepted("READY=1\r\nSTATUS=up\r\nWATCHDOG=trigger\r\n\r\n");
  EXPECT_TRUE(m.ready);
  EXPECT_EQ(m.status, "up");
  EXPECT_TRUE(m.watchdog_trigger);
}

TEST(NotifyMessageTest, ExactlyTheMaximumSizeIsAccepted) {
  std::string datagram = "STATUS=";
  datagram.append(kMaxNotifyDatagram - datagram.size(), 'x');
  ASSERT_EQ(datagram.size(), 4096u);
  EXPECT_EQ(Accepted(datagram).status->size(), 4096u - 7);
}

// ---- Rejections: the whole datagram, with its cause ----

TEST(NotifyMessageTest, OversizedIsRejected) {
  std::string datagram = "READY=1\nSTATUS=";
  datagram.append(kMaxNotifyDatagram + 1 - datagram.size(), 'x');
  ExpectRejected(datagram, NotifyRejection::kOversized, "larger than 4096");
}

TEST(NotifyMessageTest, EmptyIsRejected) {
  ExpectRejected("", NotifyRejection::kEmpty, "empty");
}

TEST(NotifyMessageTest, BinaryBytesAreRejected) {
  ExpectRejected(std::string("READY=1\0STATUS=x", 16), NotifyRejection::kNotText, "binary");
  ExpectRejected("READY=1\nSTATUS=\x01", NotifyRejection::kNotText, "binary");
  ExpectRejected("READY=1\x1b[0m", NotifyRejection::kNotText, "binary");
}

TEST(NotifyMessageTest, ALineWithoutKeyValueRejectsTheWholeDatagram) {
  ExpectRejected("READY=1\nhello", NotifyRejection::kMalformed, "line without KEY=VALUE: 'hello'");
  ExpectRejected("READY=1\n=1", NotifyRejection::kMalformed, "KEY=VALUE");  // An empty key.
  ExpectRejected("READY", NotifyRejection::kMalformed, "KEY=VALUE");
}

struct BadValue {
  const char* datagram;
  const char* key;
};

class NotifyBadValueTest : public ::testing::TestWithParam<BadValue> {};

TEST_P(NotifyBadValueTest, ABadValueForAKnownKeyRejectsTheWholeDatagram) {
  // Good keys before it are not applied either.
  const std::string datagram =
      std::string("READY=1\nX_VIGIL_STOP=1\nSTATUS=x\n") + GetParam().datagram;
  ExpectRejected(datagram, NotifyRejection::kMalformed,
                 std::string("bad value for ") + GetParam().key);
}

INSTANTIATE_TEST_SUITE_P(
    EveryKnownKey, NotifyBadValueTest,
    ::testing::Values(
        BadValue{"READY=0", "READY"}, BadValue{"READY=true", "READY"}, BadValue{"READY=", "READY"},
        BadValue{"RELOADING=yes", "RELOADING"}, BadValue{"STOPPING=2", "STOPPING"},
        BadValue{"WATCHDOG=0", "WATCHDOG"}, BadValue{"WATCHDOG=Trigger", "WATCHDOG"},
        BadValue{"EXTEND_TIMEOUT_USEC=", "EXTEND_TIMEOUT_USEC"},
        BadValue{"EXTEND_TIMEOUT_USEC=-1", "EXTEND_TIMEOUT_USEC"},
        BadValue{"EXTEND_TIMEOUT_USEC=5s", "EXTEND_TIMEOUT_USEC"},
        BadValue{"EXTEND_TIMEOUT_USEC=18446744073709551616", "EXTEND_TIMEOUT_USEC"},
        BadValue{"MAINPID=0", "MAINPID"}, BadValue{"MAINPID=-5", "MAINPID"},
        BadValue{"MAINPID=abc", "MAINPID"}, BadValue{"MAINPID= 5", "MAINPID"},
        BadValue{"ERRNO=-1", "ERRNO"}, BadValue{"ERRNO=x", "ERRNO"},
        BadValue{"EXIT_STATUS=-1", "EXIT_STATUS"}, BadValue{"EXIT_STATUS=1.5", "EXIT_STATUS"},
        BadValue{"X_VIGIL_STOP=0", "X_VIGIL_STOP"}, BadValue{"X_VIGIL_STOP=yes", "X_VIGIL_STOP"}),
    [](const auto& param_info) {
      const std::string datagram = param_info.param.datagram;
      return datagram.substr(0, datagram.find('=')) + "_" + std::to_string(param_info.index);
    });

TEST(NotifyMessageTest, RejectionNamesAreMetricLabels) {
  EXPECT_STREQ(NotifyRejectionName(NotifyRejection::kNone), "none");
  EXPECT_STREQ(NotifyRejectionName(NotifyRejection::kOversized), "oversized");
  EXPECT_STREQ(NotifyRejectionName(NotifyRejection::kEmpty), "empty");
  EXPECT_STREQ(NotifyRejectionName(NotifyRejection::kNotText), "not_text");
  EXPECT_STREQ(NotifyRejectionName(NotifyRejection::kMalformed), "malformed");
  EXPECT_STREQ(NotifyRejectionName(NotifyRejection::kSenderGone), "sender_gone");
  EXPECT_STREQ(NotifyRejectionName(NotifyRejection::kSenderOutsideNamespace),
               "sender_outside_namespace");
  EXPECT_STREQ(NotifyRejectionName(NotifyRejection::kSenderNotInGroup), "sender_not_in_group");
  EXPECT_STREQ(NotifyRejectionName(NotifyRejection::kNoCredentials), "no_credentials");
  EXPECT_STREQ(NotifyRejectionName(NotifyRejection::kFdPassed), "fd_passed");
  EXPECT_STREQ(NotifyRejectionName(NotifyRejection::kMainPidRefused), "main_pid_refused");
}

}  // namespace
}  // namespace vigil
