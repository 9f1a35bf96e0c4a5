// The HTTP text of the plain-HTTP listeners (agent/control/http_request.h), without sockets:
// what a request header parses into, what is refused and why, and the answer's exact bytes.
#include "agent/control/http_request.h"

#include <gtest/gtest.h>

#include <string>

namespace vigil::control {
namespace {

HttpRequest Parsed(std::string_view head) {
  HttpRequest r;
  std::string why;
  EXPECT_TRUE(ParseRequestHead(head, &r, &why)) << why;
  return r;
}

std::string Refused(std::string_view head) {
  HttpRequest r;
  std::string why;
  EXPECT_FALSE(ParseRequestHead(head, &r, &why)) << head;
  return why;
}

TEST(ParseRequestHeadTest, RequestLineQueryAndHeaders) {
  const HttpRequest r = Parsed(
      "POST /drain?wait=1&timeout=30s HTTP/1.1\r\nHost: pod:8080\r\nAuthorization:\t Bearer t "
      "\r\n\r\n");
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/drain");
  EXPECT_EQ(r.query, "wait=1&timeout=30s");
  ASSERT_EQ(r.headers.size(), 2u);
  EXPECT_EQ(r.Header("host"), "pod:8080");
  EXPECT_EQ(r.Header("Authorization"), "Bearer t");  // Blanks around the value trimmed.
}

TEST(ParseRequestHeadTest, BareNewlinesAndHttp10) {
  const HttpRequest r = Parsed("GET /metrics HTTP/1.0\nAccept: */*");
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.path, "/metrics");
  EXPECT_EQ(r.query, "");
  EXPECT_EQ(r.Header("accept"), "*/*");
}

TEST(ParseRequestHeadTest, RefusesWhatIsNotHttpAndSaysWhy) {
  EXPECT_EQ(Refused(""), "no request line");
  EXPECT_EQ(Refused("\r\nGET / HTTP/1.1"), "no request line");
  EXPECT_EQ(Refused("GET /"), "the request line is not 'METHOD /path HTTP/1.1'");
  EXPECT_EQ(Refused("GET / HTTP/1.1 extra"), "the request line is not 'METHOD /path HTTP/1.1'");
  EXPECT_EQ(Refused("get / HTTP/1.1"), "bad method");
  EXPECT_EQ(Refused("ABCDEFGHIJKLMNOPQ / HTTP/1.1"), "bad method");  // 17 capitals.
  EXPECT_EQ(Refused("GET metrics HTTP/1.1"), "the target is not a path");
  EXPECT_EQ(Refused("GET / HTTP/2.0"), "not HTTP/1.0 or HTTP/1.1");
  EXPECT_EQ(Refused("GET / HTTP/1.1\r\nno colon here"), "a header line is not 'Name: value'");
  EXPECT_EQ(Refused("GET / HTTP/1.1\r\n: empty name"), "a header line is not 'Name: value'");
  EXPECT_EQ(Refused("GET / HTTP/1.1\r\nBad Name: x"), "a header line is not 'Name: value'");
  EXPECT_EQ(Refused(std::string("GET / HTTP/1.1\r\nX: a\0b", 21)),
            "control byte in the request header");
  EXPECT_EQ(Refused("GET / HTTP/1.1\r\nX: \x7f"), "control byte in the request header");
}

TEST(ParseRequestHeadTest, SixteenCapitalsIsAMethod) {
  EXPECT_EQ(Parsed("ABCDEFGHIJKLMNOP / HTTP/1.1").method, "ABCDEFGHIJKLMNOP");
}

TEST(FormatResponseTest, ExactBytes) {
  EXPECT_EQ(FormatResponse({200, "ok\n"}),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\nok\n");
  HttpResponse metrics{200, "", "text/plain; version=0.0.4"};
  EXPECT_EQ(FormatResponse(metrics),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: 0\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n");
}

TEST(FormatResponseTest, ReasonPhrases) {
  const std::pair<int, const char*> cases[] = {{400, "400 Bad Request"},
                                               {401, "401 Unauthorized"},
                                               {404, "404 Not Found"},
                                               {405, "405 Method Not Allowed"},
                                               {408, "408 Request Timeout"},
                                               {431, "431 Request Header Fields Too Large"},
                                               {500, "500 Internal Server Error"},
                                               {503, "503 Service Unavailable"},
                                               {504, "504 Gateway Timeout"},
                                               {299, "299 Unknown"}};
  for (const auto& [code, line] : cases) {
    EXPECT_EQ(FormatResponse({code, ""}).rfind(std::string("HTTP/1.1 ") + line + "\r\n", 0), 0u)
        << code;
  }
}

}  // namespace
}  // namespace vigil::control
