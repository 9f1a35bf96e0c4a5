// NotifyKeyName and CountNotifyKeys: the sd_notify keys counted in metrics, from messages as
// ParseNotifyDatagram gives them.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "agent/notify/notify_message.h"

namespace vigil {
namespace {

struct Counts {
  uint64_t n[kNotifyKeyCount] = {};
  uint64_t operator[](NotifyKey k) const { return n[static_cast<int>(k)]; }
  uint64_t total() const {
    uint64_t t = 0;
    for (uint64_t v : n)
      t += v;
    return t;
  }
};

Counts CountOf(const std::string& datagram) {
  NotifyParseResult parsed = ParseNotifyDatagram(datagram);
  EXPECT_EQ(parsed.rejection, NotifyRejection::kNone) << parsed.error;
  Counts c;
  CountNotifyKeys(parsed.message, c.n);
  return c;
}

TEST(NotifyKeysTest, EveryKeyHasItsName) {
  EXPECT_STREQ(NotifyKeyName(NotifyKey::kReady), "READY");
  EXPECT_STREQ(NotifyKeyName(NotifyKey::kReloading), "RELOADING");
  EXPECT_STREQ(NotifyKeyName(NotifyKey::kStopping), "STOPPING");
  EXPECT_STREQ(NotifyKeyName(NotifyKey::kStatus), "STATUS");
  EXPECT_STREQ(NotifyKeyName(NotifyKey::kWatchdog), "WATCHDOG");
  EXPECT_STREQ(NotifyKeyName(NotifyKey::kExtendTimeoutUsec), "EXTEND_TIMEOUT_USEC");
  EXPECT_STREQ(NotifyKeyName(NotifyKey::kMainPid), "MAINPID");
  EXPECT_STREQ(NotifyKeyName(NotifyKey::kErrno), "ERRNO");
  EXPECT_STREQ(NotifyKeyName(NotifyKey::kExitStatus), "EXIT_STATUS");
  EXPECT_STREQ(NotifyKeyName(NotifyKey::kVigilStop), "X_VIGIL_STOP");
  EXPECT_STREQ(NotifyKeyName(NotifyKey::kOther), "other");
}

TEST(NotifyKeysTest, KeyNamesAreDistinctAndTheCountCoversTheEnum) {
  EXPECT_EQ(static_cast<int>(NotifyKey::kOther) + 1, kNotifyKeyCount);
  for (int i = 0; i < kNotifyKeyCount; ++i) {
    for (int j = i + 1; j < kNotifyKeyCount; ++j) {
      EXPECT_STRNE(NotifyKeyName(static_cast<NotifyKey>(i)),
                   NotifyKeyName(static_cast<NotifyKey>(j)));
    }
  }
}

TEST(NotifyKeysTest, RejectionCountCoversTheEnumAndNamesAreDistinctLabels) {
  EXPECT_EQ(static_cast<int>(NotifyRejection::kMainPidRefused) + 1, kNotifyRejectionCount);
  for (int i = 0; i < kNotifyRejectionCount; ++i) {
    const std::string name = NotifyRejectionName(static_cast<NotifyRejection>(i));
    EXPECT_NE(name, "unknown");
    EXPECT_EQ(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_"), std::string::npos) << name;
    for (int j = i + 1; j < kNotifyRejectionCount; ++j)
      EXPECT_NE(name, NotifyRejectionName(static_cast<NotifyRejection>(j)));
  }
}

TEST(NotifyKeysTest, AnEmptyMessageCountsNothing) {
  Counts c;
  CountNotifyKeys(NotifyMessage{}, c.n);
  EXPECT_EQ(c.total(), 0u);
}

TEST(NotifyKeysTest, EachUnderstoodKeyCountsOnceUnderItsName) {
  const std::pair<const char*, NotifyKey> cases[] = {
      {"READY=1", NotifyKey::kReady},
      {"RELOADING=1", NotifyKey::kReloading},
      {"STOPPING=1", NotifyKey::kStopping},
      {"STATUS=serving", NotifyKey::kStatus},
      {"STATUS=", NotifyKey::kStatus},
      {"WATCHDOG=1", NotifyKey::kWatchdog},
      {"WATCHDOG=trigger", NotifyKey::kWatchdog},
      {"EXTEND_TIMEOUT_USEC=5000000", NotifyKey::kExtendTimeoutUsec},
      {"MAINPID=123", NotifyKey::kMainPid},
      {"ERRNO=2", NotifyKey::kErrno},
      {"EXIT_STATUS=3", NotifyKey::kExitStatus},
      {"X_VIGIL_STOP=1", NotifyKey::kVigilStop},
      {"FOO=bar", NotifyKey::kOther},
      {"X_OTHER_EXTENSION=1", NotifyKey::kOther},
  };
  for (const auto& [datagram, key] : cases) {
    Counts c = CountOf(datagram);
    EXPECT_EQ(c[key], 1u) << datagram;
    EXPECT_EQ(c.total(), 1u) << datagram;
  }
}

TEST(NotifyKeysTest, WatchdogPingAndTriggerInOneMessageCountOnce) {
  Counts c = CountOf("WATCHDOG=1\nWATCHDOG=trigger\n");
  EXPECT_EQ(c[NotifyKey::kWatchdog], 1u);
  EXPECT_EQ(c.total(), 1u);
}

TEST(NotifyKeysTest, UnknownKeysAndExtensionsCountOncePerLine) {
  Counts c = CountOf("READY=1\nFOO=1\nX_CUSTOM=2\nFOO=again\n\nSTATUS=ok\n");
  EXPECT_EQ(c[NotifyKey::kOther], 3u);
  EXPECT_EQ(c[NotifyKey::kReady], 1u);
  EXPECT_EQ(c[NotifyKey::kStatus], 1u);
  EXPECT_EQ(c.total(), 5u);
}

TEST(NotifyKeysTest, EveryKeyInOneDatagram) {
  Counts c = CountOf(
      "READY=1\nRELOADING=1\nSTOPPING=1\nSTATUS=x\nWATCHDOG=1\nEXTEND_TIMEOUT_USEC=1\n"
      "MAINPID=7\nERRNO=0\nEXIT_STATUS=0\nX_VIGIL_STOP=1\nX_FOO=1\n");
  for (int k = 0; k < kNotifyKeyCount; ++k)
    EXPECT_EQ(c.n[k], 1u) << NotifyKeyName(static_cast<NotifyKey>(k));
}

TEST(NotifyKeysTest, CountsAddToWhatIsThere) {
  Counts c;
  c.n[static_cast<int>(NotifyKey::kReady)] = 5;
  NotifyMessage m;
  m.ready = true;
  m.unknown_keys = 2;
  CountNotifyKeys(m, c.n);
  CountNotifyKeys(m, c.n);
  EXPECT_EQ(c[NotifyKey::kReady], 7u);
  EXPECT_EQ(c[NotifyKey::kOther], 4u);
}

}  // namespace
}  // namespace vigil
