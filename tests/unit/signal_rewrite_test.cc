#include "agent/signal/rewrite.h"

#include <signal.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace vigil {
namespace {

using ::testing::HasSubstr;

TEST(SignalRewrite, UnmappedSignalsPassThrough) {
  SignalRewrite r;
  for (int signo = 1; signo <= SIGRTMAX; ++signo)
    EXPECT_EQ(r.Apply(signo), signo);
}

TEST(SignalRewrite, OutOfTableSignalsPassThrough) {
  SignalRewrite r;
  EXPECT_EQ(r.Apply(0), 0);
  EXPECT_EQ(r.Apply(-3), -3);
  EXPECT_EQ(r.Apply(65), 65);
}

TEST(SignalRewrite, RuleByName) {
  SignalRewrite r;
  ASSERT_TRUE(r.AddRule("TERM:QUIT").ok());
  EXPECT_EQ(r.Apply(SIGTERM), SIGQUIT);
  EXPECT_EQ(r.Apply(SIGQUIT), SIGQUIT);  // One-way.
  EXPECT_EQ(r.Apply(SIGINT), SIGINT);
}

TEST(SignalRewrite, RuleByNumber) {
  SignalRewrite r;
  ASSERT_TRUE(r.AddRule("15:3").ok());
  EXPECT_EQ(r.Apply(SIGTERM), SIGQUIT);
}

TEST(SignalRewrite, RuleWithPrefixesCaseAndRealtimeNames) {
  SignalRewrite r;
  ASSERT_TRUE(r.AddRule("sigusr1:SIGUSR2").ok());
  ASSERT_TRUE(r.AddRule("RTMIN+1:USR1").ok());
  ASSERT_TRUE(r.AddRule("WINCH:RTMAX").ok());
  EXPECT_EQ(r.Apply(SIGUSR1), SIGUSR2);
  EXPECT_EQ(r.Apply(SIGRTMIN + 1), SIGUSR1);
  EXPECT_EQ(r.Apply(SIGWINCH), SIGRTMAX);
}

TEST(SignalRewrite, ToZeroDrops) {
  SignalRewrite r;
  ASSERT_TRUE(r.AddRule("WINCH:0").ok());
  EXPECT_EQ(r.Apply(SIGWINCH), 0);
}

TEST(SignalRewrite, LaterRuleReplacesEarlier) {
  SignalRewrite r;
  ASSERT_TRUE(r.AddRule("TERM:QUIT").ok());
  ASSERT_TRUE(r.AddRule("15:INT").ok());
  EXPECT_EQ(r.Apply(SIGTERM), SIGINT);
  ASSERT_TRUE(r.AddRule("TERM:0").ok());
  EXPECT_EQ(r.Apply(SIGTERM), 0);
  ASSERT_TRUE(r.AddRule("TERM:TERM").ok());
  EXPECT_EQ(r.Apply(SIGTERM), SIGTERM);
}

TEST(SignalRewrite, RulesAreNotChained) {
  SignalRewrite r;
  ASSERT_TRUE(r.AddRule("TERM:QUIT").ok());
  ASSERT_TRUE(r.AddRule("QUIT:KILL").ok());
  EXPECT_EQ(r.Apply(SIGTERM), SIGQUIT);
  EXPECT_EQ(r.Apply(SIGQUIT), SIGKILL);
}

TEST(SignalRewrite, SetOverridesDirectlyAndIgnoresOutOfRange) {
  SignalRewrite r;
  r.Set(SIGHUP, SIGUSR1);
  r.Set(0, SIGUSR1);
  r.Set(65, SIGUSR1);
  r.Set(-1, SIGUSR1);
  EXPECT_EQ(r.Apply(SIGHUP), SIGUSR1);
  EXPECT_EQ(r.Apply(0), 0);
  EXPECT_EQ(r.Apply(65), 65);
}

TEST(SignalRewrite, MissingColonIsRejectedNamingTheRule) {
  SignalRewrite r;
  Status s = r.AddRule("TERM");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("'TERM'"));
  EXPECT_THAT(s.message(), HasSubstr("FROM:TO"));
}

TEST(SignalRewrite, BadFromIsRejectedNamingTheRuleAndTheSignal) {
  SignalRewrite r;
  Status s = r.AddRule("FOO:TERM");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("invalid rewrite 'FOO:TERM'"));
  EXPECT_THAT(s.message(), HasSubstr("'FOO'"));
}

TEST(SignalRewrite, BadToIsRejectedNamingTheRuleAndTheSignal) {
  SignalRewrite r;
  Status s = r.AddRule("TERM:BAR");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("invalid rewrite 'TERM:BAR'"));
  EXPECT_THAT(s.message(), HasSubstr("'BAR'"));
}

TEST(SignalRewrite, FromZeroIsRejected) {
  SignalRewrite r;
  Status s = r.AddRule("0:TERM");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("'0:TERM'"));
}

TEST(SignalRewrite, OtherMalformedRulesAreRejectedNamingTheRule) {
  for (const char* rule :
       {":TERM", "TERM:", ":", "", "TERM:QUIT:HUP", "TERM:99", "99:TERM", "TERM::QUIT"}) {
    SignalRewrite r;
    Status s = r.AddRule(rule);
    ASSERT_FALSE(s.ok()) << rule;
    EXPECT_THAT(s.message(), HasSubstr(std::string("'") + rule + "'")) << rule;
  }
}

TEST(SignalRewrite, RejectedRuleLeavesTheTableUnchanged) {
  SignalRewrite r;
  ASSERT_TRUE(r.AddRule("TERM:QUIT").ok());
  EXPECT_FALSE(r.AddRule("TERM:BOGUS").ok());
  EXPECT_EQ(r.Apply(SIGTERM), SIGQUIT);
}

}  // namespace
}  // namespace vigil
