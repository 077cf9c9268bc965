// Accept-Encoding: when the .gz sibling may be sent.
#include "pulse/http/accept_encoding.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

using pulse::http::accepts_gzip;

TEST_CASE("accepts_gzip: codings, weights and the wildcard", "[static][encoding]") {
  const std::vector<std::pair<std::string, bool>> cases{
      {"gzip", true},
      {"GZIP", true},
      {"x-gzip", true},
      {"gzip, deflate, br", true},
      {"br;q=1, gzip;q=0.5", true},
      {"gzip;q=1.0", true},
      {"gzip;q=1", true},
      {"gzip;q=0.001", true},
      {"gzip ; Q=0.5", true},
      {"*", true},
      {"*;q=0.1", true},
      {"gzip;q=0", false},
      {" gzip ; q=0 ", false},
      {"gzip;q=0.000", false},
      {"gzip;q=0.", false},
      {"gzip;q=abc", false},  // a weight we cannot read is not an acceptance
      {"gzip;q=1.5", false},
      {"gzip;q=0.0001", false},
      {"*;q=0", false},
      {"gzip;q=0, *", false},  // an explicit refusal beats the wildcard
      {"br", false},
      {"identity", false},
      {"deflate, br", false},
      {"gzipx", false},
      {"", false},
  };
  for (const auto& [value, expected] : cases) {
    INFO("Accept-Encoding: " << value);
    CHECK(accepts_gzip(value) == expected);
  }
}
