// The Lifecycle API's request checks: every field out of its range is INVALID_ARGUMENT naming
// the field, the bound and the value (cut); values in range pass. And the names given to the
// errors gRPC makes without a message (error_naming.h).
#include "agent/control/request_checks.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "agent/control/error_naming.h"
#include "grpc/health/v1/health.pb.h"

namespace vigil::control {
namespace {

void ExpectInvalid(const grpc::Status& s, std::initializer_list<std::string> words) {
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  for (const auto& w : words)
    EXPECT_NE(s.error_message().find(w), std::string::npos) << w << " in " << s.error_message();
}

TEST(CheckDrainTest, DeadlineBounds) {
  v1::DrainRequest r;
  EXPECT_TRUE(CheckDrain(r).ok());
  r.set_deadline_ms(365LL * 24 * 3600 * 1000);
  EXPECT_TRUE(CheckDrain(r).ok());
  r.set_deadline_ms(365LL * 24 * 3600 * 1000 + 1);
  ExpectInvalid(CheckDrain(r), {"deadline_ms", "31536000000", "365 days", "31536000001"});
  r.set_deadline_ms(std::numeric_limits<int64_t>::max());
  ExpectInvalid(CheckDrain(r), {"deadline_ms", "9223372036854775807"});
  r.set_deadline_ms(-1);
  ExpectInvalid(CheckDrain(r), {"deadline_ms", "between 0 and", "got -1"});
  r.set_deadline_ms(std::numeric_limits<int64_t>::min());
  ExpectInvalid(CheckDrain(r), {"deadline_ms"});
}

TEST(CheckDrainTest, TriggerAndReason) {
  v1::DrainRequest r;
  for (const char* t : {"", "api", "prestop"}) {
    r.set_trigger(t);
    EXPECT_TRUE(CheckDrain(r).ok()) << t;
  }
  r.set_trigger("signal");
  ExpectInvalid(CheckDrain(r), {"trigger", "'signal'"});
  r.set_trigger("");
  r.set_reason(std::string(1024, 'r'));
  EXPECT_TRUE(CheckDrain(r).ok());
  r.set_reason(std::string(1025, 'r'));
  ExpectInvalid(CheckDrain(r), {"reason is 1025 bytes; at most 1024"});
}

TEST(CheckScaleTest, PoolAndReplicas) {
  v1::ScaleRequest r;
  ExpectInvalid(CheckScale(r), {"pool is required"});
  r.set_pool(std::string(64, 'p'));
  ExpectInvalid(CheckScale(r), {"pool name is 64 bytes; at most 63"});
  r.set_pool("web");
  for (int n : {0, 1, 100000}) {
    r.set_replicas(n);
    EXPECT_TRUE(CheckScale(r).ok()) << n;
  }
  for (int n :
       {-1, 100001, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()}) {
    r.set_replicas(n);
    ExpectInvalid(CheckScale(r),
                  {"replicas must be between 0 and 100000; got " + std::to_string(n)});
  }
}

TEST(CheckRestartTest, MaxUnavailable) {
  v1::RestartRequest r;
  r.set_pool("web");
  EXPECT_TRUE(CheckRestart(r).ok());
  r.set_max_unavailable(-1);
  ExpectInvalid(CheckRestart(r), {"max_unavailable", "100000", "-1"});
  r.set_max_unavailable(100001);
  ExpectInvalid(CheckRestart(r), {"max_unavailable"});
}

TEST(CheckSignalTest, SlotAndSignal) {
  v1::SignalRequest r;
  r.set_pool("web");
  r.set_signal("HUP");
  int signo = 0;
  for (int slot : {-1, 0, 99999}) {
    r.set_slot(slot);
    EXPECT_TRUE(CheckSignal(r, &signo).ok()) << slot;
    EXPECT_EQ(signo, 1);
  }
  for (int slot : {-2, 100000, std::numeric_limits<int32_t>::min()}) {
    r.set_slot(slot);
    ExpectInvalid(CheckSignal(r, &signo), {"slot must be between -1", "99999"});
  }
  r.set_slot(0);
  r.set_signal("");
  ExpectInvalid(CheckSignal(r, &signo), {"signal is required"});
  r.set_signal("NOSUCH");
  ExpectInvalid(CheckSignal(r, &signo), {"NOSUCH"});
  r.set_signal(std::string(33, 'S'));
  ExpectInvalid(CheckSignal(r, &signo), {"signal is 33 bytes; at most 32"});
}

TEST(ExcerptTest, CutsAndEscapes) {
  EXPECT_EQ(Excerpt("web"), "'web'");
  EXPECT_EQ(Excerpt("a\nb'"), "'a\\x0ab\\x27'");
  EXPECT_EQ(Excerpt(std::string(100, 'x'), 4), "'xxxx'... (100 bytes)");
}

TEST(NameEmptyUnimplementedTest, MalformedRequestNamesItsType) {
  // The descriptors are looked up in the generated pool: link health.proto's in, as the
  // binary does through the health service.
  ASSERT_NE(grpc::health::v1::HealthCheckRequest::descriptor(), nullptr);
  const grpc::Status s = NameEmptyUnimplemented("/vigil.v1.Lifecycle/Drain",
                                                {"vigil.v1.Lifecycle", "grpc.health.v1.Health"});
  ExpectInvalid(s, {"malformed request", "vigil.v1.DrainRequest"});
  ExpectInvalid(NameEmptyUnimplemented("/grpc.health.v1.Health/Check", {"grpc.health.v1.Health"}),
                {"grpc.health.v1.HealthCheckRequest"});
}

TEST(NameEmptyUnimplementedTest, ServiceNotServedHereOrNoSuchMethod) {
  grpc::Status s =
      NameEmptyUnimplemented("/vigil.v1.Lifecycle/GetStatus", {"grpc.health.v1.Health"});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(s.error_message(),
            "this listener does not serve '/vigil.v1.Lifecycle/GetStatus' (it serves "
            "grpc.health.v1.Health)");
  s = NameEmptyUnimplemented("/vigil.v1.Lifecycle/Frobnicate", {"vigil.v1.Lifecycle"});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(s.error_message(), "no method 'Frobnicate' in vigil.v1.Lifecycle");
  s = NameEmptyUnimplemented("garbage", {"vigil.v1.Lifecycle"});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

}  // namespace
}  // namespace vigil::control
