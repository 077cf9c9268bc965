// Request helpers: case-insensitive headers, query parameters, percent-decoding, token lists.
#include <catch2/catch.hpp>

#include "pulse/http/request.hpp"

using namespace pulse::http;

TEST_CASE("percent_decode decodes escapes and rejects malformed ones", "[request]") {
  CHECK(percent_decode("a%20b", false) == "a b");
  CHECK(percent_decode("a+b", false) == "a+b");
  CHECK(percent_decode("a+b", true) == "a b");
  CHECK(percent_decode("%e2%9c%93", false) == "\xe2\x9c\x93");
  CHECK(percent_decode("%00", false) == std::string(1, '\0'));
  CHECK_FALSE(percent_decode("%", false).has_value());
  CHECK_FALSE(percent_decode("%2", false).has_value());
  CHECK_FALSE(percent_decode("%zz", false).has_value());
  CHECK_FALSE(percent_decode("abc%4", false).has_value());
}

TEST_CASE("query parameters are found and decoded", "[request]") {
  auto request = Request::make(Method::kPost, "/heartbeat/x?interval=30&msg=hello+there%21&flag&empty=");
  CHECK(request.path == "/heartbeat/x");
  CHECK(request.query_param("interval") == "30");
  CHECK(request.query_param("msg") == "hello there!");
  CHECK(request.query_param("flag") == "");
  CHECK(request.query_param("empty") == "");
  CHECK_FALSE(request.query_param("missing").has_value());
}

TEST_CASE("headers are looked up case-insensitively; tokens in lists", "[request]") {
  Request request;
  request.headers = {{"Content-Type", "text/plain"}, {"connection", "Keep-Alive, Upgrade"}};
  CHECK(request.header("content-type") == "text/plain");
  CHECK(request.header("CONNECTION") == "Keep-Alive, Upgrade");
  CHECK_FALSE(request.header("Host").has_value());
  CHECK(header_has_token("Keep-Alive, Upgrade", "upgrade"));
  CHECK(header_has_token(" close ", "close"));
  CHECK_FALSE(header_has_token("closed", "close"));
  CHECK_FALSE(header_has_token("", "close"));
}

TEST_CASE("methods map to and from their names", "[request]") {
  CHECK(method_from_string("GET") == Method::kGet);
  CHECK(method_from_string("DELETE") == Method::kDelete);
  CHECK(method_from_string("get") == Method::kOther);
  CHECK(to_string(Method::kOptions) == "OPTIONS");
}

TEST_CASE("a query with a malformed escape is reported", "[request]") {
  CHECK(Request::make(Method::kGet, "/x?a=1&b=%41").query_is_well_formed());
  CHECK(Request::make(Method::kGet, "/x").query_is_well_formed());
  CHECK_FALSE(Request::make(Method::kGet, "/x?interval=%zz").query_is_well_formed());
  CHECK_FALSE(Request::make(Method::kGet, "/x?a=1&b%4=2").query_is_well_formed());
}
