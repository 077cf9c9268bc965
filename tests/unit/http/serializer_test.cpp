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
