#include "agent/sys/child_stack.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

namespace vigil::testing {
namespace {

const size_t kPage = static_cast<size_t>(::sysconf(_SC_PAGESIZE));

// The protection of the mapping holding `address`, as /proc/self/maps shows it ("rw-p").
std::string ProtectionAt(const void* address) {
  const auto a = reinterpret_cast<uintptr_t>(address);
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream in(line);
    std::string range, perms;
    in >> range >> perms;
    const size_t dash = range.find('-');
    const uintptr_t from = std::stoull(range.substr(0, dash), nullptr, 16);
    const uintptr_t to = std::stoull(range.substr(dash + 1), nullptr, 16);
    if (a >= from && a < to) return perms;
  }
  return "";
}

TEST(ChildStack, TheSameStackServesEverySpawnThatFitsIt) {
  ChildStack stack;
  EXPECT_EQ(stack.mapped(), 0u);
  void* top = stack.Top(70 * 1024);
  ASSERT_NE(top, nullptr);
  const size_t mapped = stack.mapped();
  EXPECT_GE(mapped, 70 * 1024 + kPage);
  EXPECT_EQ(stack.Top(70 * 1024), top);
  EXPECT_EQ(stack.Top(1024), top);  // Smaller: the same one.
  EXPECT_EQ(stack.mapped(), mapped);
}

TEST(ChildStack, ItIsWritableAboveAGuardPage) {
  ChildStack stack;
  char* top = static_cast<char*>(stack.Top(16 * 1024));
  ASSERT_NE(top, nullptr);
  char* base = top - stack.mapped();
  top[-1] = 1;      // The first byte a child would push.
  base[kPage] = 1;  // The lowest usable byte.
  EXPECT_EQ(ProtectionAt(top - 1).substr(0, 2), "rw");
  EXPECT_EQ(ProtectionAt(base + kPage).substr(0, 2), "rw");
  EXPECT_EQ(ProtectionAt(base).substr(0, 3), "---");  // The guard page.
}

TEST(ChildStack, ABiggerNeedMapsABiggerStack) {
  ChildStack stack;
  ASSERT_NE(stack.Top(16 * 1024), nullptr);
  const size_t small = stack.mapped();
  char* top = static_cast<char*>(stack.Top(256 * 1024));
  ASSERT_NE(top, nullptr);
  EXPECT_GT(stack.mapped(), small);
  EXPECT_GE(stack.mapped(), 256 * 1024 + kPage);
  top[-static_cast<ptrdiff_t>(256 * 1024)] = 1;  // All of it usable.
}

}  // namespace
}  // namespace vigil::testing
