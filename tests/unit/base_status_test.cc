#include "agent/base/status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

namespace vigil {
namespace {

using ::testing::HasSubstr;

TEST(Status, DefaultIsOkWithNoMessageAndNoErrno) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.os_error(), 0);
}

TEST(Status, ErrorKeepsItsMessageAndHasNoErrno) {
  Status s = Status::Error("--kill-grace: bad");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "--kill-grace: bad");
  EXPECT_EQ(s.os_error(), 0);
}

TEST(Status, FromErrnoNamesWhatFailedAndKeepsErrno) {
  Status s = Status::FromErrno("open /x", ENOENT);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.message(), std::string("open /x: ") + std::strerror(ENOENT));
  EXPECT_EQ(s.os_error(), ENOENT);
}

TEST(StatusOr, HoldsAValue) {
  StatusOr<int> v = 7;
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 7);
  EXPECT_EQ(v.value(), 7);
  EXPECT_TRUE(v.status().ok());
}

TEST(StatusOr, HoldsAnError) {
  StatusOr<int> v = Status::Error("nope");
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(v.status().message(), "nope");
}

TEST(StatusOr, ArrowAndMoveOutOfTheValue) {
  StatusOr<std::string> v = std::string("hello");
  EXPECT_EQ(v->size(), 5u);
  std::string moved = std::move(v).value();
  EXPECT_EQ(moved, "hello");
}

TEST(StatusOr, HoldsMoveOnlyValues) {
  StatusOr<std::unique_ptr<int>> v = std::make_unique<int>(3);
  ASSERT_TRUE(v.ok());
  std::unique_ptr<int> p = std::move(v).value();
  EXPECT_EQ(*p, 3);
}

}  // namespace
}  // namespace vigil
