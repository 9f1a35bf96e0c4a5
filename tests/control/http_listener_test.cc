// The pure parts of the HTTP listener: addresses and query parameters.
#include "agent/control/http_listener.h"

#include <gtest/gtest.h>

namespace vigil::control {
namespace {

TEST(SplitHostPortTest, HostAndPort) {
  std::string host;
  int port = 0;
  ASSERT_TRUE(SplitHostPort("127.0.0.1:9180", &host, &port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 9180);
  ASSERT_TRUE(SplitHostPort(":80", &host, &port));
  EXPECT_EQ(host, "");
  EXPECT_EQ(port, 80);
  for (const char* bad : {"", "9180", "host:", "h:0", "h:65536", "h:12a", "h:123456"}) {
    EXPECT_FALSE(SplitHostPort(bad, &host, &port)) << bad;
  }
}

TEST(HttpRequestTest, HeadersIgnoreCase) {
  HttpRequest r;
  r.headers = {{"Host", "x"}, {"authorization", "Bearer t"}};
  EXPECT_EQ(r.Header("Authorization"), "Bearer t");
  EXPECT_EQ(r.Header("HOST"), "x");
  EXPECT_EQ(r.Header("X-None"), "");
}

TEST(HttpRequestTest, QueryValuesAreDecoded) {
  HttpRequest r;
  r.query = "a=1&timeout=1m%2030s&flag&plus=a+b&bad=%zz";
  std::string v;
  ASSERT_TRUE(r.QueryValue("timeout", &v));
  EXPECT_EQ(v, "1m 30s");
  ASSERT_TRUE(r.QueryValue("flag", &v));
  EXPECT_EQ(v, "");
  ASSERT_TRUE(r.QueryValue("plus", &v));
  EXPECT_EQ(v, "a b");
  ASSERT_TRUE(r.QueryValue("bad", &v));
  EXPECT_EQ(v, "%zz");
  EXPECT_FALSE(r.QueryValue("missing", &v));
}

}  // namespace
}  // namespace vigil::control
