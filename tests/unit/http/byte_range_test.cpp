// Range header parsing and resolution against a file size.
#include "pulse/http/byte_range.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using pulse::http::ByteRange;
using pulse::http::content_range;
using pulse::http::evaluate_range;
using pulse::http::RangeOutcome;
using pulse::http::unsatisfied_content_range;

namespace {

struct Case {
  std::string header;
  std::uint64_t size;
  RangeOutcome outcome;
  ByteRange range;  // when kPartial
};

}  // namespace

TEST_CASE("evaluate_range: single ranges, suffixes, clamping and refusals", "[static][range]") {
  const std::vector<Case> cases{
      {"bytes=0-99", 1000, RangeOutcome::kPartial, {0, 100}},
      {"bytes=100-", 1000, RangeOutcome::kPartial, {100, 900}},
      {"bytes=-100", 1000, RangeOutcome::kPartial, {900, 100}},
      {"bytes=0-0", 1000, RangeOutcome::kPartial, {0, 1}},
      {"bytes=999-999", 1000, RangeOutcome::kPartial, {999, 1}},
      {"bytes=0-", 1000, RangeOutcome::kPartial, {0, 1000}},
      {"bytes=0-5000", 1000, RangeOutcome::kPartial, {0, 1000}},  // last clamped to the end
      {"bytes=-5000", 1000, RangeOutcome::kPartial, {0, 1000}},   // suffix longer than the file
      {"bytes=0-99999999999999999999999", 1000, RangeOutcome::kPartial, {0, 1000}},
      {"BYTES=0-9", 1000, RangeOutcome::kPartial, {0, 10}},   // range units are case-insensitive
      {"bytes=0-9,", 1000, RangeOutcome::kPartial, {0, 10}},  // empty list elements are skipped
      {" bytes=0-9 ", 1000, RangeOutcome::kPartial, {0, 10}},
      {"bytes=4294967296-", 5ULL << 30, RangeOutcome::kPartial, {4294967296ULL, (5ULL << 30) - 4294967296ULL}},
      // Unsatisfiable: 416.
      {"bytes=1000-", 1000, RangeOutcome::kUnsatisfiable, {}},
      {"bytes=1000-2000", 1000, RangeOutcome::kUnsatisfiable, {}},
      {"bytes=-0", 1000, RangeOutcome::kUnsatisfiable, {}},
      {"bytes=99999999999999999999999-", 1000, RangeOutcome::kUnsatisfiable, {}},
      {"bytes=0-", 0, RangeOutcome::kUnsatisfiable, {}},
      {"bytes=-1", 0, RangeOutcome::kUnsatisfiable, {}},
      {"bytes=2000-3000, 4000-", 1000, RangeOutcome::kUnsatisfiable, {}},
      // Ignored: the whole file is sent.
      {"bytes=5-4", 1000, RangeOutcome::kIgnore, {}},
      {"bytes=abc", 1000, RangeOutcome::kIgnore, {}},
      {"bytes=", 1000, RangeOutcome::kIgnore, {}},
      {"bytes=-", 1000, RangeOutcome::kIgnore, {}},
      {"bytes=,", 1000, RangeOutcome::kIgnore, {}},
      {"bytes=+5-10", 1000, RangeOutcome::kIgnore, {}},
      {"bytes=5-+10", 1000, RangeOutcome::kIgnore, {}},
      {"bytes=-+5", 1000, RangeOutcome::kIgnore, {}},
      {"bytes=1 0-20", 1000, RangeOutcome::kIgnore, {}},  // no spaces inside a number
      {"bytes=0- 5", 1000, RangeOutcome::kIgnore, {}},
      {"bytes=0 -5", 1000, RangeOutcome::kIgnore, {}},
      {"bytes=0x10-20", 1000, RangeOutcome::kIgnore, {}},
      {"bytes=1.5-2", 1000, RangeOutcome::kIgnore, {}},
      {"bytes=0-1-2", 1000, RangeOutcome::kIgnore, {}},
      {"bytes 0-99", 1000, RangeOutcome::kIgnore, {}},
      {"items=0-99", 1000, RangeOutcome::kIgnore, {}},
      {"", 1000, RangeOutcome::kIgnore, {}},
      {"bytes=0-99,200-299", 1000, RangeOutcome::kIgnore, {}},  // several ranges: whole file
      {"bytes=0-99, 2000-3000", 1000, RangeOutcome::kIgnore, {}},
      {"bytes=0-99,x", 1000, RangeOutcome::kIgnore, {}},
  };
  for (const auto& c : cases) {
    INFO("Range: " << c.header << " against " << c.size << " bytes");
    const auto decision = evaluate_range(c.header, c.size);
    REQUIRE(to_string(decision.outcome) == to_string(c.outcome));
    if (c.outcome == RangeOutcome::kPartial) {
      CHECK(decision.range.first == c.range.first);
      CHECK(decision.range.length == c.range.length);
      CHECK(decision.range.last() < c.size);
    }
  }
}

TEST_CASE("Content-Range values", "[static][range]") {
  CHECK(content_range({0, 100}, 1000) == "bytes 0-99/1000");
  CHECK(content_range({999, 1}, 1000) == "bytes 999-999/1000");
  CHECK(content_range({3221225472ULL, 10}, 4294967296ULL) == "bytes 3221225472-3221225481/4294967296");
  CHECK(unsatisfied_content_range(1000) == "bytes */1000");
  CHECK(unsatisfied_content_range(0) == "bytes */0");
}
