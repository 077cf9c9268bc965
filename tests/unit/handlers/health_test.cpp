// Health: 200 "ok" for GET and HEAD, 405 with Allow otherwise; readiness follows the store.
#include <catch2/catch.hpp>

#include "pulse/handlers/health.hpp"
#include "support/flaky_store.hpp"

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

TEST_CASE("GET /readyz follows the presence store: 200 while reachable, 503 with Retry-After when not",
          "[health][readyz]") {
  auto store = std::make_shared<testing::FlakyStore>(std::make_shared<presence::ManualClock>());
  handlers::Readiness readiness(store);
  const auto request = http::Request::make(http::Method::kGet, "/readyz");

  const auto ready = readiness.handle(request);
  CHECK(ready.status == 200);
  CHECK(ready.body == "ready\n");
  CHECK(ready.header("Cache-Control") == "no-store");

  store->set_reachable(false);
  const auto not_ready = readiness.handle(request);
  CHECK(not_ready.status == 503);
  CHECK(not_ready.header("Retry-After") == "1");
  CHECK(not_ready.body.find("test: unreachable") != std::string::npos);

  store->set_reachable(true);
  CHECK(readiness.handle(request).status == 200);
  CHECK(readiness.handle(http::Request::make(http::Method::kPost, "/readyz")).status == 405);
}
