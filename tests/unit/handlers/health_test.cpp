// Health: 200 "ok" for GET and HEAD, 405 with Allow otherwise.
#include <catch2/catch.hpp>

#include "pulse/handlers/health.hpp"

using namespace pulse;

TEST_CASE("GET /healthz is 200 ok", "[health]") {
  handlers::Health health;
  const auto response = health.handle(http::Request::make(http::Method::kGet, "/healthz"));
  CHECK(response.status == 200);
  CHECK(response.body == "ok\n");
  CHECK(response.header("Cache-Control") == "no-store");
}

TEST_CASE("other methods on /healthz are 405 with Allow", "[health]") {
  handlers::Health health;
  const auto response = health.handle(http::Request::make(http::Method::kPost, "/healthz"));
  CHECK(response.status == 405);
  CHECK(response.header("Allow") == "GET, HEAD");
}
