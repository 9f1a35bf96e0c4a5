// ParseProcStat and ParseBootTime on /proc contents (a real line of this process's, and made-up
// ones whose comm holds spaces and parentheses), and ReadProcessStats on this very process.
#include "agent/control/process_stats.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace vigil::control {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A /proc/PID/stat line: "pid (comm) " then fields 3.. of proc(5), with utime (14), stime (15),
// starttime (22) and rss (24) as given and plausible values elsewhere.
std::string StatLine(const std::string& comm, const std::string& utime, const std::string& stime,
                     const std::string& start, const std::string& rss, int total_fields = 52) {
  std::string line = "123 (" + comm + ")";
  for (int n = 3; n <= total_fields; ++n) {
    std::string v = "0";
    if (n == 3) v = "S";
    if (n == 4) v = "1";
    if (n == 14) v = utime;
    if (n == 15) v = stime;
    if (n == 18) v = "20";
    if (n == 20) v = "1";
    if (n == 22) v = start;
    if (n == 23) v = "12345678";
    if (n == 24) v = rss;
    if (n == 25) v = "18446744073709551615";
    line += " " + v;
  }
  return line + "\n";
}

TEST(ParseProcStatTest, ComputesCpuRssAndStartTime) {
  ProcessStats s;
  ASSERT_TRUE(
      ParseProcStat(StatLine("vigil", "250", "150", "10000", "300"), 100, 4096, 1'700'000'000, &s));
  EXPECT_DOUBLE_EQ(s.cpu_seconds, 4.0);
  EXPECT_EQ(s.resident_bytes, 300u * 4096u);
  EXPECT_DOUBLE_EQ(s.start_time_seconds, 1'700'000'100.0);
  EXPECT_EQ(s.open_fds, -1);  // Not the parser's to fill.
}

TEST(ParseProcStatTest, ACommWithSpacesAndParenthesesIsSkippedWhole) {
  ProcessStats s;
  ASSERT_TRUE(ParseProcStat(StatLine("a b) c", "1", "2", "300", "5"), 100, 4096, 0, &s));
  EXPECT_DOUBLE_EQ(s.cpu_seconds, 0.03);
  EXPECT_EQ(s.resident_bytes, 5u * 4096u);
  EXPECT_DOUBLE_EQ(s.start_time_seconds, 3.0);
  ASSERT_TRUE(ParseProcStat(StatLine(") ) 1 2 3 4 5 (", "1", "2", "300", "5"), 100, 4096, 0, &s));
  EXPECT_DOUBLE_EQ(s.cpu_seconds, 0.03);
  EXPECT_EQ(s.resident_bytes, 5u * 4096u);
}

TEST(ParseProcStatTest, TheLiteralExampleFromTheBrief) {
  // "123 (a b) c) S 1 ...": fields counted from the last ')'.
  const std::string line =
      "123 (a b) c) S 1 123 123 0 -1 4194560 500 0 0 0 7 3 0 0 20 0 1 0 4242 1000 9 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";
  ProcessStats s;
  ASSERT_TRUE(ParseProcStat(line, 100, 1000, 10, &s));
  EXPECT_DOUBLE_EQ(s.cpu_seconds, 0.1);
  EXPECT_EQ(s.resident_bytes, 9000u);
  EXPECT_DOUBLE_EQ(s.start_time_seconds, 10 + 42.42);
}

TEST(ParseProcStatTest, OtherClockTickRates) {
  ProcessStats s;
  ASSERT_TRUE(ParseProcStat(StatLine("x", "500", "500", "1000", "1"), 1000, 4096, 0, &s));
  EXPECT_DOUBLE_EQ(s.cpu_seconds, 1.0);
  EXPECT_DOUBLE_EQ(s.start_time_seconds, 1.0);
}

TEST(ParseProcStatTest, ANegativeOrZeroRssIsZeroBytes) {
  ProcessStats s;
  ASSERT_TRUE(ParseProcStat(StatLine("x", "0", "0", "0", "-1"), 100, 4096, 0, &s));
  EXPECT_EQ(s.resident_bytes, 0u);
  ASSERT_TRUE(ParseProcStat(StatLine("x", "0", "0", "0", "0"), 100, 4096, 0, &s));
  EXPECT_EQ(s.resident_bytes, 0u);
}

TEST(ParseProcStatTest, JustEnoughFields) {
  ProcessStats s;
  EXPECT_TRUE(ParseProcStat(StatLine("x", "1", "1", "1", "1", 24), 100, 4096, 0, &s));
  EXPECT_FALSE(ParseProcStat(StatLine("x", "1", "1", "1", "1", 23), 100, 4096, 0, &s));
}

TEST(ParseProcStatTest, MalformedIsFalse) {
  ProcessStats s;
  EXPECT_FALSE(ParseProcStat("", 100, 4096, 0, &s));
  EXPECT_FALSE(ParseProcStat("123 no parenthesis S 1 2 3", 100, 4096, 0, &s));
  EXPECT_FALSE(ParseProcStat("123 (x) S 1 2 3\n", 100, 4096, 0, &s));  // Too short.
  EXPECT_FALSE(ParseProcStat(StatLine("x", "abc", "1", "1", "1"), 100, 4096, 0, &s));
  EXPECT_FALSE(ParseProcStat(StatLine("x", "1", "-2", "1", "1"), 100, 4096, 0, &s));
  EXPECT_FALSE(ParseProcStat(StatLine("x", "1", "1", "1x", "1"), 100, 4096, 0, &s));
  EXPECT_FALSE(ParseProcStat(StatLine("x", "1", "1", "1", "many"), 100, 4096, 0, &s));
  EXPECT_FALSE(ParseProcStat(StatLine("x", "1", "1", "1", "1"), 0, 4096, 0, &s));  // No ticks.
}

TEST(ParseProcStatTest, ARealLineOfThisProcess) {
  const std::string line = Slurp("/proc/self/stat");
  ASSERT_FALSE(line.empty());
  ProcessStats s;
  ASSERT_TRUE(ParseProcStat(line, ::sysconf(_SC_CLK_TCK), ::sysconf(_SC_PAGESIZE),
                            ParseBootTime(Slurp("/proc/stat")), &s))
      << line;
  EXPECT_GE(s.cpu_seconds, 0);
  EXPECT_GT(s.resident_bytes, 0u);
  EXPECT_GT(s.start_time_seconds, 1e9);  // After 2001.
}

TEST(ParseBootTimeTest, FindsBtime) {
  EXPECT_EQ(ParseBootTime("cpu  1 2 3 4\ncpu0 1 2 3 4\nintr 5\nctxt 6\nbtime 1700000000\n"
                          "processes 7\n"),
            1700000000u);
  EXPECT_EQ(ParseBootTime("btime 42"), 42u);
}

TEST(ParseBootTimeTest, AbsentOrBadIsZero) {
  EXPECT_EQ(ParseBootTime(""), 0u);
  EXPECT_EQ(ParseBootTime("cpu 1 2 3\nprocesses 7\n"), 0u);
  EXPECT_EQ(ParseBootTime("btime abc\n"), 0u);
  EXPECT_EQ(ParseBootTime("xbtime 42\n"), 0u);
}

TEST(ParseBootTimeTest, TheRealProcStatHasOne) {
  EXPECT_GT(ParseBootTime(Slurp("/proc/stat")), 1'000'000'000u);
}

TEST(ReadProcessStatsTest, ThisProcessHasPlausibleValues) {
  const auto s = ReadProcessStats(::getpid());
  ASSERT_TRUE(s.has_value());
  EXPECT_GT(s->resident_bytes, 0u);
  EXPECT_GT(s->open_fds, 0);  // stdin, stdout, stderr at least.
  EXPECT_GE(s->cpu_seconds, 0);
  EXPECT_GT(s->start_time_seconds, 1e9);
}

TEST(ReadProcessStatsTest, OpenFdsFollowsWhatThisProcessOpens) {
  const auto before = ReadProcessStats(::getpid());
  ASSERT_TRUE(before.has_value());
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const auto after = ReadProcessStats(::getpid());
  ::close(fds[0]);
  ::close(fds[1]);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->open_fds, before->open_fds + 2);
}

TEST(ReadProcessStatsTest, TheSizeOfTheFdDirectoryAndItsListingAgreeWithFiveHundredMore) {
  std::vector<int> fds(500);
  for (size_t i = 0; i < fds.size(); i += 2)
    ASSERT_EQ(::pipe(&fds[i]), 0);
  const int64_t listed = CountOpenFdsByListing(::getpid());
  const int64_t sized = CountOpenFdsFromSize(::getpid());
  const int64_t counted = CountOpenFds(::getpid());
  for (int fd : fds)
    ::close(fd);
  EXPECT_GE(listed, 503);
  EXPECT_EQ(counted, listed);
  // Kernels before 6.2 do not report the size: the listing is then the only count.
  if (sized >= 0) {
    EXPECT_EQ(sized, listed);
  }
  EXPECT_EQ(CountOpenFds(-5), -1);
}

TEST(ReadProcessStatsTest, AProcessThatDoesNotExistIsNullopt) {
  EXPECT_FALSE(ReadProcessStats(-5).has_value());
  EXPECT_FALSE(ReadProcessStats(0x7ffffff0).has_value());
}

}  // namespace
}  // namespace vigil::control
