// HTTP-date parsing: the three forms RFC 9110 requires recipients to accept, and what is not a date.
#include "pulse/http/http_date.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using pulse::http::parse_http_date;
using namespace std::chrono;

namespace {

constexpr sys_seconds kExample{seconds{784111777}};  // Sun, 06 Nov 1994 08:49:37 GMT
constexpr sys_seconds k2026{seconds{1767225600}};    // 2026-01-01T00:00:00Z

sys_seconds at(int y, unsigned m, unsigned d) {
  return sys_days{year{y} / month{m} / day{d}};
}

}  // namespace

TEST_CASE("parse_http_date: the three forms of one instant", "[static][date]") {
  CHECK(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", k2026) == kExample);
  CHECK(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", k2026) == kExample);
  CHECK(parse_http_date("Sun Nov  6 08:49:37 1994", k2026) == kExample);
  CHECK(parse_http_date("  Sun, 06 Nov 1994 08:49:37 GMT\t", k2026) == kExample);
}

TEST_CASE("parse_http_date: asctime with a two-digit day", "[static][date]") {
  CHECK(parse_http_date("Wed Nov 16 08:49:37 1994", k2026) == kExample + days{10});
}

TEST_CASE("parse_http_date: RFC 850 two-digit years follow the 50-year rule", "[static][date]") {
  CHECK(parse_http_date("Wednesday, 01-Jan-76 00:00:00 GMT", k2026) == at(2076, 1, 1));
  CHECK(parse_http_date("Saturday, 01-Jan-77 00:00:00 GMT", k2026) == at(1977, 1, 1));
  CHECK(parse_http_date("Friday, 01-Jan-99 00:00:00 GMT", k2026) == at(1999, 1, 1));
  CHECK(parse_http_date("Thursday, 01-Jan-26 00:00:00 GMT", k2026) == at(2026, 1, 1));
  CHECK(parse_http_date("Thursday, 01-Jan-10 00:00:00 GMT", at(2090, 6, 1)) == at(2110, 1, 1));
}

TEST_CASE("parse_http_date: calendar edges", "[static][date]") {
  CHECK(parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT", k2026) == at(2000, 2, 29));
  CHECK(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT", k2026) == sys_seconds{});
  CHECK(parse_http_date("Thu, 31 Dec 2099 23:59:59 GMT", k2026) ==
        at(2099, 12, 31) + hours{23} + minutes{59} + seconds{59});
  CHECK(parse_http_date("Sat, 31 Dec 2016 23:59:60 GMT", k2026) == at(2017, 1, 1));  // leap second
}

TEST_CASE("parse_http_date: what is not an HTTP-date", "[static][date]") {
  const std::vector<std::string> invalid{
      "",
      "Sun",
      "sun, 06 Nov 1994 08:49:37 GMT",  // case-sensitive
      "Sun, 06 nov 1994 08:49:37 GMT",
      "Sun, 6 Nov 1994 08:49:37 GMT",  // two-digit day required
      "Sun, 06 Nov 94 08:49:37 GMT",   // four-digit year required
      "Sun, 06 Nov 1994 08:49:37 UTC",
      "Sun, 06 Nov 1994 08:49:37",
      "Sun, 06 Nov 1994 08:49:37 GMT x",
      "Sun, 06 Nov 1994 8:49:37 GMT",
      "Sun, 31 Feb 1994 08:49:37 GMT",  // no such day
      "Sun, 29 Feb 1900 08:49:37 GMT",  // 1900 is not a leap year
      "Sun, 00 Nov 1994 08:49:37 GMT",
      "Sun, 06 Nov 1994 24:00:00 GMT",
      "Sun, 06 Nov 1994 08:60:00 GMT",
      "Sun, 06 Nov 1994 08:49:61 GMT",
      "Sun, 06 Foo 1994 08:49:37 GMT",
      "Xyz, 06 Nov 1994 08:49:37 GMT",
      "Funday, 06-Nov-94 08:49:37 GMT",
      "Sunday, 06-Nov-1994 08:49:37 GMT",
      "Sun Nov 6 08:49:37 1994",  // asctime pads the day with a space
      "Sun Nov  6 08:49:37 94",
      "1994-11-06T08:49:37Z",
      "784111777",
  };
  for (const auto& text : invalid) {
    INFO("'" << text << "'");
    CHECK_FALSE(parse_http_date(text, k2026).has_value());
  }
}

TEST_CASE("parse_http_date reads back what format_http_date writes", "[static][date]") {
  for (const std::time_t t : {std::time_t{0}, std::time_t{784111777}, std::time_t{951782400}, std::time_t{1767225600},
                              std::time_t{4102444799}}) {
    INFO(t);
    const auto text = pulse::http::format_http_date(t);
    const auto parsed = parse_http_date(text, k2026);
    REQUIRE(parsed.has_value());
    CHECK(parsed->time_since_epoch().count() == t);
  }
}
