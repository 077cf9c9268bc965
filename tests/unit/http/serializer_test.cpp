// ResponseSerializer: status line, mandatory headers, Content-Length rules.
#include <catch2/catch.hpp>

#include <string>

#include "pulse/http/http_date.hpp"
#include "pulse/http/serializer.hpp"

using namespace pulse::http;

TEST_CASE("every response carries Date, Server and Content-Length", "[serializer]") {
  auto response = Response::text(200, "hello");
  std::string out;
  serialize_head(response, {}, out);
  CHECK(out.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(out.find("\r\nDate: ") != std::string::npos);
  CHECK(out.find(" GMT\r\n") != std::string::npos);
  CHECK(out.find("\r\nServer: pulsehttpd/") != std::string::npos);
  CHECK(out.find("\r\nContent-Length: 5\r\n") != std::string::npos);
  CHECK(out.find("Connection:") == std::string::npos);
  CHECK(out.substr(out.size() - 4) == "\r\n\r\n");
}

TEST_CASE("Connection header and chunked streams", "[serializer]") {
  Response response;
  std::string out;
  serialize_head(response, {.connection_header = "close"}, out);
  CHECK(out.find("\r\nConnection: close\r\n") != std::string::npos);
  out.clear();
  serialize_head(response, {.chunked = true}, out);
  CHECK(out.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
  CHECK(out.find("Content-Length") == std::string::npos);
}

TEST_CASE("204 and 304 carry no Content-Length, HEAD keeps GET's", "[serializer]") {
  for (int status : {204, 304}) {
    Response response;
    response.status = status;
    std::string out;
    serialize_head(response, {}, out);
    CHECK(out.find("Content-Length") == std::string::npos);
  }
  auto response = Response::text(200, std::string(1234, 'x'));
  std::string out;
  serialize_head(response, {.head_request = true}, out);
  CHECK(out.find("Content-Length: 1234\r\n") != std::string::npos);
}

TEST_CASE("HTTP dates are IMF-fixdate", "[serializer]") {
  CHECK(format_http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");
}

TEST_CASE("shared header lines go out after the headers as they are, and empty slots add nothing", "[serializer]") {
  auto response = Response::text(200, "hi");
  response.header_lines[1] = std::make_shared<const std::string>("ETag: \"x\"\r\nX-Two: 2\r\n");
  std::string out;
  serialize_head(response, {}, out);
  const auto type = out.find("\r\nContent-Type: text/plain; charset=utf-8\r\n");
  const auto lines = out.find("\r\nETag: \"x\"\r\nX-Two: 2\r\nContent-Length: 2\r\n");
  REQUIRE(type != std::string::npos);
  REQUIRE(lines != std::string::npos);
  CHECK(type < lines);
  CHECK(out.find("\r\n\r\n") == out.size() - 4);  // no blank line from the empty slot 0
}

TEST_CASE("Response::header finds a field in the shared lines too, headers first", "[serializer]") {
  auto response = Response::text(200, "hi");
  response.header_lines[0] = std::make_shared<const std::string>("ETag: \"v1\"\r\nLast-Modified:\tnow\r\n");
  response.header_lines[1] = std::make_shared<const std::string>("Content-Type: image/png\r\nX-Last: end\r\n");
  CHECK(response.header("etag") == "\"v1\"");
  CHECK(response.header("Last-Modified") == "now");  // optional whitespace after the colon skipped
  CHECK(response.header("X-Last") == "end");
  CHECK(response.header("Content-Type") == "text/plain; charset=utf-8");  // `headers` come first
  CHECK_FALSE(response.header("X-Two"));
  CHECK_FALSE(response.header("ETag: \"v1\""));
}
