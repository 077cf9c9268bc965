// Request helpers: case-insensitive headers, query and form pairs, percent-decoding, token lists.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

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

TEST_CASE("headers are looked up case-insensitively, tokens in lists", "[request]") {
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

TEST_CASE("find_header: the first field of that name, in any case", "[request]") {
  const std::vector<Header> headers{{"Vary", "Accept"}, {"vary", "Cookie"}, {"ETag", "\"x\""}};
  CHECK(find_header(headers, "VARY") == "Accept");
  CHECK(find_header(headers, "etag") == "\"x\"");
  CHECK_FALSE(find_header(headers, "Date").has_value());
  CHECK_FALSE(find_header({}, "Date").has_value());
}

TEST_CASE("for_each_form_pair splits on '&' and the first '=', still encoded", "[request]") {
  std::vector<std::string> seen;
  for_each_form_pair("a=1&&flag&b=x=y&c%3D=%41&", [&](const FormPair& pair) {
    seen.push_back(std::string(pair.name) + (pair.has_value ? "|" + std::string(pair.value) : ""));
    return true;
  });
  CHECK(seen == std::vector<std::string>{"a|1", "", "flag", "b|x=y", "c%3D|%41"});

  std::size_t visited = 0;
  for_each_form_pair("a=1&b=2&c=3", [&](const FormPair& pair) {
    ++visited;
    return pair.name != "b";  // stops at b
  });
  CHECK(visited == 2);
  for_each_form_pair("", [&](const FormPair&) {
    ++visited;
    return true;
  });
  CHECK(visited == 2);  // no pair in empty text
}
