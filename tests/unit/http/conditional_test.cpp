// Conditional request decisions (RFC 9110 section 13.2.2), each header alone and in combination.
#include "pulse/http/conditional.hpp"

#include <catch2/catch.hpp>

#include <set>

using pulse::http::ConditionalHeaders;
using pulse::http::evaluate_preconditions;
using pulse::http::if_range_holds;
using pulse::http::make_etag;
using pulse::http::Precondition;
using pulse::http::Validators;

namespace {

const Validators kFile{"\"abc-1\"", std::chrono::sys_seconds{std::chrono::seconds{784111777}}};
constexpr const char* kAtModified = "Sun, 06 Nov 1994 08:49:37 GMT";
constexpr const char* kBefore = "Sun, 06 Nov 1994 08:49:36 GMT";
constexpr const char* kAfter = "Mon, 07 Nov 1994 00:00:00 GMT";

// Builds the precondition headers of one request.
struct Given {
  ConditionalHeaders headers;
  Given& match(std::string_view v) {
    headers.if_match = v;
    return *this;
  }
  Given& none_match(std::string_view v) {
    headers.if_none_match = v;
    return *this;
  }
  Given& modified_since(std::string_view v) {
    headers.if_modified_since = v;
    return *this;
  }
  Given& unmodified_since(std::string_view v) {
    headers.if_unmodified_since = v;
    return *this;
  }
};

std::string decide(const Given& given) {
  return std::string(to_string(evaluate_preconditions(given.headers, kFile)));
}

const std::string kProceed{to_string(Precondition::kProceed)};
const std::string kNotModified{to_string(Precondition::kNotModified)};
const std::string kFailed{to_string(Precondition::kPreconditionFailed)};

}  // namespace

TEST_CASE("no precondition: proceed", "[static][conditional]") {
  CHECK(decide(Given()) == kProceed);
}

TEST_CASE("If-None-Match uses weak comparison", "[static][conditional]") {
  CHECK(decide(Given().none_match("\"abc-1\"")) == kNotModified);
  CHECK(decide(Given().none_match("W/\"abc-1\"")) == kNotModified);
  CHECK(decide(Given().none_match("\"x\", \"abc-1\"")) == kNotModified);
  CHECK(decide(Given().none_match("\"x\",W/\"abc-1\" , \"y\"")) == kNotModified);
  CHECK(decide(Given().none_match("\"a,b\", \"abc-1\"")) == kNotModified);  // ',' may sit inside a tag
  CHECK(decide(Given().none_match("*")) == kNotModified);
  CHECK(decide(Given().none_match("\"x\"")) == kProceed);
  CHECK(decide(Given().none_match("\"abc-1")) == kProceed);  // malformed: no match
  CHECK(decide(Given().none_match("abc-1")) == kProceed);
  CHECK(decide(Given().none_match("\"ABC-1\"")) == kProceed);  // opaque tags are case-sensitive
}

TEST_CASE("If-Modified-Since: not modified at or after Last-Modified", "[static][conditional]") {
  CHECK(decide(Given().modified_since(kAtModified)) == kNotModified);
  CHECK(decide(Given().modified_since(kAfter)) == kNotModified);
  CHECK(decide(Given().modified_since(kBefore)) == kProceed);
  CHECK(decide(Given().modified_since("Sunday, 06-Nov-94 08:49:37 GMT")) == kNotModified);
  CHECK(decide(Given().modified_since("yesterday")) == kProceed);  // invalid dates are ignored
}

TEST_CASE("If-None-Match wins over If-Modified-Since", "[static][conditional]") {
  CHECK(decide(Given().none_match("\"other\"").modified_since(kAfter)) == kProceed);
  CHECK(decide(Given().none_match("\"abc-1\"").modified_since(kBefore)) == kNotModified);
}

TEST_CASE("If-Match uses strong comparison", "[static][conditional]") {
  CHECK(decide(Given().match("\"abc-1\"")) == kProceed);
  CHECK(decide(Given().match("\"x\", \"abc-1\"")) == kProceed);
  CHECK(decide(Given().match("*")) == kProceed);
  CHECK(decide(Given().match("W/\"abc-1\"")) == kFailed);
  CHECK(decide(Given().match("\"x\"")) == kFailed);
  CHECK(decide(Given().match("garbage")) == kFailed);
}

TEST_CASE("If-Unmodified-Since, and If-Match taking precedence over it", "[static][conditional]") {
  CHECK(decide(Given().unmodified_since(kBefore)) == kFailed);
  CHECK(decide(Given().unmodified_since(kAtModified)) == kProceed);
  CHECK(decide(Given().unmodified_since(kAfter)) == kProceed);
  CHECK(decide(Given().unmodified_since("not a date")) == kProceed);
  CHECK(decide(Given().match("\"abc-1\"").unmodified_since(kBefore)) == kProceed);
}

TEST_CASE("a failed If-Match is decided before If-None-Match", "[static][conditional]") {
  CHECK(decide(Given().match("\"x\"").none_match("\"abc-1\"")) == kFailed);
  CHECK(decide(Given().match("\"abc-1\"").none_match("\"abc-1\"")) == kNotModified);
}

TEST_CASE("If-Range: a strong tag or the exact date lets the range through", "[static][conditional]") {
  CHECK(if_range_holds("\"abc-1\"", kFile));
  CHECK(if_range_holds(kAtModified, kFile));
  CHECK_FALSE(if_range_holds("W/\"abc-1\"", kFile));
  CHECK_FALSE(if_range_holds("\"x\"", kFile));
  CHECK_FALSE(if_range_holds("\"abc-1\", \"x\"", kFile));
  CHECK_FALSE(if_range_holds(kAfter, kFile));
  CHECK_FALSE(if_range_holds(kBefore, kFile));
  CHECK_FALSE(if_range_holds("", kFile));
  CHECK_FALSE(if_range_holds("garbage", kFile));
}

TEST_CASE("make_etag: strong, quoted, and different when any input differs", "[static][conditional]") {
  const auto base = make_etag(42, 1000, 1'700'000'000'123'456'789);
  CHECK(base.front() == '"');
  CHECK(base.back() == '"');
  CHECK(base.substr(0, 2) != "W/");
  std::set<std::string> tags{base, make_etag(43, 1000, 1'700'000'000'123'456'789),
                             make_etag(42, 1001, 1'700'000'000'123'456'789),
                             make_etag(42, 1000, 1'700'000'000'123'456'790)};
  CHECK(tags.size() == 4);
  CHECK(make_etag(42, 1000, 1'700'000'000'123'456'789) == base);
}
