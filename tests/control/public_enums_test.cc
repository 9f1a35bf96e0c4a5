// The control protocol's enums as the public API's (agent/control/public_enums.h): every value
// maps to the public value of the same name, values the public API does not know become its
// UNSPECIFIED, and the drain triggers have their public names.
#include "agent/control/public_enums.h"

#include <gtest/gtest.h>

namespace vigil::control {
namespace {

namespace in = internal::v1;

TEST(PublicEnums, EveryWorkerStateAndPhaseKeepsItsName) {
  for (int i = in::WorkerState_MIN; i <= in::WorkerState_MAX; ++i) {
    const auto state = static_cast<in::WorkerState>(i);
    EXPECT_EQ(v1::WorkerState_Name(ToPublic(state)), in::WorkerState_Name(state));
  }
  for (int i = in::Phase_MIN; i <= in::Phase_MAX; ++i) {
    const auto phase = static_cast<in::Phase>(i);
    EXPECT_EQ(v1::Phase_Name(ToPublic(phase)), in::Phase_Name(phase));
  }
}

TEST(PublicEnums, EveryEventKindKeepsItsName) {
  for (int i = in::Event::Kind_MIN; i <= in::Event::Kind_MAX; ++i) {
    if (!in::Event::Kind_IsValid(i)) continue;  // 1 is reserved: a snapshot is its own message
    const auto kind = static_cast<in::Event::Kind>(i);
    EXPECT_EQ(v1::Event::Kind_Name(ToPublic(kind)), in::Event::Kind_Name(kind));
  }
}

// A newer or broken core: nothing out of the public enums' range reaches a client.
TEST(PublicEnums, UnknownValuesAreUnspecified) {
  EXPECT_EQ(ToPublic(static_cast<in::WorkerState>(99)), v1::WORKER_STATE_UNSPECIFIED);
  EXPECT_EQ(ToPublic(static_cast<in::Phase>(-3)), v1::PHASE_UNSPECIFIED);
  EXPECT_EQ(ToPublic(static_cast<in::Event::Kind>(1)), v1::Event::KIND_UNSPECIFIED);
  EXPECT_EQ(ToPublic(static_cast<in::Event::Kind>(77)), v1::Event::KIND_UNSPECIFIED);
  EXPECT_STREQ(TriggerName(static_cast<in::DrainTrigger>(42)), "");
  EXPECT_STREQ(TriggerName(in::DRAIN_TRIGGER_UNSPECIFIED), "");
}

// The names docs/control.md and docs/drain.md give (and the core's logs and metrics use).
TEST(PublicEnums, TheDrainTriggersPublicNames) {
  EXPECT_STREQ(TriggerName(in::DRAIN_TRIGGER_SIGNAL), "signal");
  EXPECT_STREQ(TriggerName(in::DRAIN_TRIGGER_PRESTOP), "prestop");
  EXPECT_STREQ(TriggerName(in::DRAIN_TRIGGER_API), "api");
  EXPECT_STREQ(TriggerName(in::DRAIN_TRIGGER_WORKER), "worker");
  EXPECT_STREQ(TriggerName(in::DRAIN_TRIGGER_CRASH_LOOP), "crash_loop");
  EXPECT_STREQ(TriggerName(in::DRAIN_TRIGGER_FAST_STOP), "fast_stop");
}

TEST(PublicEnums, AClientMayAskForPrestopOrApi) {
  EXPECT_EQ(RequestedTrigger(""), in::DRAIN_TRIGGER_API);
  EXPECT_EQ(RequestedTrigger("api"), in::DRAIN_TRIGGER_API);
  EXPECT_EQ(RequestedTrigger("prestop"), in::DRAIN_TRIGGER_PRESTOP);
  for (const char* other : {"signal", "worker", "fast_stop", "PRESTOP", "api "})
    EXPECT_FALSE(RequestedTrigger(other).has_value()) << other;
}

}  // namespace
}  // namespace vigil::control
