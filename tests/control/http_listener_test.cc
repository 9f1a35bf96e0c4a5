// The HTTP listener's parts: addresses, query parameters, listening sockets.
#include "agent/control/http_listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "agent/control/tcp_listen.h"

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

namespace vigil::control {
namespace {

TEST(ListenTcpTest, NumericAddressesAndNamedErrors) {
  StatusOr<int> v4 = ListenTcp("127.0.0.1", 0);
  ASSERT_TRUE(v4.ok()) << v4.status().message();
  ::close(*v4);
  StatusOr<int> any = ListenTcp("", 0);
  ASSERT_TRUE(any.ok()) << any.status().message();
  // The same port again: taken.
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  ASSERT_EQ(::getsockname(*any, reinterpret_cast<sockaddr*>(&sa), &len), 0);
  const int port = ntohs(sa.sin_port);
  StatusOr<int> again = ListenTcp("0.0.0.0", port);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().message(),
            "cannot listen on 0.0.0.0:" + std::to_string(port) + ": Address already in use");
  ::close(*any);
  StatusOr<int> bad = ListenTcp("300.1.2.3.invalid.", 9180);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind("cannot listen on 300.1.2.3.invalid.:9180: ", 0), 0u)
      << bad.status().message();
}

}  // namespace
}  // namespace vigil::control
