// /metrics: valid Prometheus text 0.0.4 (checked by a strict parser), every family with HELP and
// TYPE, every state and status label present, values taken from the live counters.
#include "pulse/handlers/metrics.hpp"

#include <catch2/catch.hpp>
#include <memory>

#include "pulse/handlers/heartbeat/service.hpp"
#include "support/prometheus_text.hpp"

using namespace std::chrono_literals;
using pulse::http::Method;
using pulse::http::Request;
using pulse::test::parse_prometheus_text;

TEST_CASE("the exposition is valid Prometheus text with every label present", "[handlers][metrics]") {
  pulse::presence::StoreCounters presence;
  presence.clients.by_state = {4, 3, 2, 1};
  presence.beats_total = 1234;
  presence.transitions_total = 56;
  presence.rate_limited_total = 7;
  pulse::http::ServerStats stats;
  for (int i = 0; i < 3; ++i) stats.on_response(200);
  stats.on_response(404);
  stats.on_response(599);
  stats.on_connection_opened();
  stats.on_connection_opened();
  stats.on_connection_closed();
  stats.add_bytes_sent(4096);

  const pulse::presence::StoreHealth store{.ready = false, .errors_total = 9, .detail = "connection refused"};
  const std::string text = pulse::handlers::render_metrics(presence, store, 3, stats);
  const auto parsed = parse_prometheus_text(text);
  INFO(text);
  for (const auto& error : parsed.errors) FAIL_CHECK(error);

  CHECK(parsed.value("pulse_heartbeat_clients", {{"state", "up"}}) == 4);
  CHECK(parsed.value("pulse_heartbeat_clients", {{"state", "late"}}) == 3);
  CHECK(parsed.value("pulse_heartbeat_clients", {{"state", "down"}}) == 2);
  CHECK(parsed.value("pulse_heartbeat_clients", {{"state", "failing"}}) == 1);
  CHECK(parsed.value("pulse_heartbeat_beats_total") == 1234);
  CHECK(parsed.value("pulse_heartbeat_transitions_total") == 56);
  CHECK(parsed.value("pulse_heartbeat_rejected_beats_total", {{"reason", "rate_limited"}}) == 7);
  CHECK(parsed.value("pulse_heartbeat_rejected_beats_total", {{"reason", "registry_full"}}) == 0);
  CHECK(parsed.value("pulse_heartbeat_event_streams") == 3);
  CHECK(parsed.value("pulse_presence_store_ready") == 0);
  CHECK(parsed.value("pulse_presence_store_errors_total") == 9);
  CHECK(parsed.value("pulse_http_requests_total", {{"code", "200"}}) == 3);
  CHECK(parsed.value("pulse_http_requests_total", {{"code", "404"}}) == 1);
  CHECK(parsed.value("pulse_http_requests_total", {{"code", "503"}}) == 0);
  CHECK(parsed.value("pulse_http_requests_total", {{"code", "other"}}) == 1);
  CHECK(parsed.value("pulse_http_open_connections") == 1);
  CHECK(parsed.value("pulse_http_connections_total") == 2);
  CHECK(parsed.value("pulse_http_bytes_sent_total") == 4096);

  for (const auto& [family, type] : parsed.types) {
    INFO(family);
    CHECK(family.starts_with("pulse_"));
    CHECK(parsed.help.count(family) == 1);
    // The naming convention scrapers and people rely on.
    CHECK((type == "counter") == family.ends_with("_total"));
  }
}

TEST_CASE("the parser used above rejects what Prometheus would", "[handlers][metrics]") {
  CHECK_FALSE(parse_prometheus_text("# TYPE a counter\na 1\n").errors.size());
  CHECK(parse_prometheus_text("a 1\n").errors.size() == 1);                                  // no TYPE
  CHECK(parse_prometheus_text("# TYPE a counter\na 1").errors.size() == 1);                  // no final newline
  CHECK(parse_prometheus_text("# TYPE a counter\na one\n").errors.size() == 1);              // bad value
  CHECK(parse_prometheus_text("# TYPE a gauge\na{x=\"1\" 1\n").errors.size() == 1);          // bad labels
  CHECK(parse_prometheus_text("# TYPE a gauge\n# TYPE a gauge\na 1\n").errors.size() == 1);  // TYPE twice
  CHECK_FALSE(parse_prometheus_text("# TYPE a gauge\n# TYPE b gauge\na 1\nb 2\na 3\n").errors.empty());  // interleaved
  CHECK(parse_prometheus_text("# TYPE 9a gauge\n").errors.size() == 1);                                  // bad name
}

TEST_CASE("GET /metrics follows the live registry", "[handlers][metrics]") {
  auto clock = std::make_shared<pulse::presence::ManualClock>();
  pulse::http::ServerStats stats;
  pulse::handlers::heartbeat::HeartbeatService service({}, clock);
  const auto api = service.api_handler();
  const auto metrics =
      std::make_shared<pulse::handlers::MetricsHandler>(service.store(), service.event_streams(), stats);
  REQUIRE(api->handle(Request::make(Method::kPost, "/heartbeat/a?interval=10")).status == 201);
  REQUIRE(api->handle(Request::make(Method::kPost, "/heartbeat/b?status=fail")).status == 201);
  clock->advance(1s);
  REQUIRE(api->handle(Request::make(Method::kPost, "/heartbeat/b")).status == 200);
  clock->advance(10s);
  service.sweep();  // a: late

  const auto response = metrics->handle(Request::make(Method::kGet, "/metrics"));
  CHECK(response.status == 200);
  CHECK(response.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
  const auto parsed = parse_prometheus_text(response.body);
  CHECK(parsed.errors.empty());
  CHECK(parsed.value("pulse_heartbeat_clients", {{"state", "up"}}) == 1);
  CHECK(parsed.value("pulse_heartbeat_clients", {{"state", "late"}}) == 1);
  CHECK(parsed.value("pulse_heartbeat_clients", {{"state", "failing"}}) == 0);
  CHECK(parsed.value("pulse_heartbeat_beats_total") == 3);
  CHECK(parsed.value("pulse_heartbeat_transitions_total") == 2);  // b: failing -> up, a: up -> late

  const auto post = metrics->handle(Request::make(Method::kPost, "/metrics"));
  CHECK(post.status == 405);
  CHECK(post.header("Allow") == "GET, HEAD");
}
