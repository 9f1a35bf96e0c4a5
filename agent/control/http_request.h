// The HTTP/1.x text of vigil-control's plain-HTTP listeners (http_listener.h), without any
// socket: a request header parsed into an HttpRequest, an HttpResponse written out, and the
// "HOST:PORT" of a listen address.
//
// Requests are untrusted: ParseRequestHead accepts only "METHOD /path HTTP/1.0|1.1" and
// "Name: value" lines, and says what is wrong otherwise (the listener answers 400 with it).
// Responses always close the connection (one request per connection). Pure; no thread affinity.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vigil::control {

struct HttpRequest {
  std::string method;  // "GET"
  std::string path;    // "/drain"
  std::string query;   // what follows '?', as sent
  std::vector<std::pair<std::string, std::string>> headers;

  // The value of header `name` (case-insensitive), "" when absent.
  std::string Header(std::string_view name) const;
  // The value of query parameter `name`, percent-decoded; false when absent.
  bool QueryValue(std::string_view name, std::string* value) const;
};

struct HttpResponse {
  int code = 200;
  std::string body;
  std::string content_type = "text/plain; charset=utf-8";
};

// The request header (without its blank line) into `r`; false with `why` when it is not HTTP:
// a control byte, no or a malformed request line, a method that is not 1-16 capitals, a target
// that is not a path, a version other than HTTP/1.0 and HTTP/1.1, a header without "Name:".
bool ParseRequestHead(std::string_view head, HttpRequest* r, std::string* why);

// The whole answer: status line, Content-Type, Content-Length, Cache-Control: no-store,
// Connection: close, then the body.
std::string FormatResponse(const HttpResponse& response);

// "HOST:PORT" or ":PORT" into its parts; false when it is not that.
bool SplitHostPort(const std::string& address, std::string* host, int* port);

}  // namespace vigil::control
