#include <gtest/gtest.h>

#include "agent/control/lifecycle_service.h"

namespace vigil::control {
namespace {

TEST(TokenMatches, AcceptsOnlyTheExactBearerToken) {
  EXPECT_TRUE(TokenMatches("Bearer s3cret", "s3cret"));
  EXPECT_FALSE(TokenMatches("Bearer s3cre", "s3cret"));    // prefix of the token
  EXPECT_FALSE(TokenMatches("Bearer s3cretX", "s3cret"));  // token plus more
  EXPECT_FALSE(TokenMatches("bearer s3cret", "s3cret"));   // scheme is case-sensitive here
  EXPECT_FALSE(TokenMatches("s3cret", "s3cret"));          // no scheme
  EXPECT_FALSE(TokenMatches("", "s3cret"));
  EXPECT_FALSE(TokenMatches("Bearer ", "s3cret"));
}

TEST(TokenMatches, AnEmptyExpectedTokenNeverMatches) {
  EXPECT_FALSE(TokenMatches("Bearer ", ""));
  EXPECT_FALSE(TokenMatches("", ""));
}

}  // namespace
}  // namespace vigil::control
