// parse_decimal / parse_decimal_saturating / parse_decimal_prefix: digits only, whole input, no
// overflow.
#include "pulse/base/parse.hpp"

#include <catch2/catch.hpp>

#include <cstdint>

using pulse::base::parse_decimal;
using pulse::base::parse_decimal_prefix;
using pulse::base::parse_decimal_saturating;

TEST_CASE("parse_decimal takes plain digits and nothing else", "[base][parse]") {
  CHECK(parse_decimal<std::uint64_t>("0") == 0u);
  CHECK(parse_decimal<std::uint64_t>("007") == 7u);
  CHECK(parse_decimal<std::uint64_t>("18446744073709551615") == UINT64_MAX);
  CHECK_FALSE(parse_decimal<std::uint64_t>("18446744073709551616"));  // overflow
  CHECK(parse_decimal<std::uint8_t>("255") == 255u);
  CHECK_FALSE(parse_decimal<std::uint8_t>("256"));
  for (const char* bad : {"", " 1", "1 ", "+1", "-1", "0x10", "1e3", "1.0", "١"}) {
    INFO(bad);
    CHECK_FALSE(parse_decimal<std::uint64_t>(bad));
  }
}

TEST_CASE("parse_decimal_saturating reads too large as the maximum, and is otherwise as strict", "[base][parse]") {
  CHECK(parse_decimal_saturating<std::uint64_t>("0") == 0u);
  CHECK(parse_decimal_saturating<std::uint64_t>("18446744073709551615") == UINT64_MAX);
  CHECK(parse_decimal_saturating<std::uint64_t>("18446744073709551616") == UINT64_MAX);
  CHECK(parse_decimal_saturating<std::uint64_t>("99999999999999999999999") == UINT64_MAX);
  CHECK(parse_decimal_saturating<std::uint8_t>("256") == 255u);
  for (const char* bad : {"", " 1", "1 ", "+1", "-1", "0x10", "1e3", "1.0", "99999999999999999999999x"}) {
    INFO(bad);
    CHECK_FALSE(parse_decimal_saturating<std::uint64_t>(bad));
  }
}

TEST_CASE("parse_decimal_prefix stops at the first non-digit", "[base][parse]") {
  const auto range = parse_decimal_prefix<std::uint64_t>("10-20");
  CHECK(range.value == 10u);
  CHECK(range.digits == 2);
  CHECK(parse_decimal_prefix<std::uint64_t>("-20").digits == 0);
  CHECK(parse_decimal_prefix<std::uint64_t>("").digits == 0);
  CHECK(parse_decimal_prefix<std::uint8_t>("300s").digits == 0);  // too large is no number
  CHECK(parse_decimal_prefix<std::uint32_t>("5s").value == 5u);
}
