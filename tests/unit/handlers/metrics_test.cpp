// /metrics: valid Prometheus text 0.0.4 (checked by a strict parser), every family with HELP and
// TYPE, every state and status label present, values taken from the live counters.
#include "pulse/handlers/metrics.hpp"

#include <catch2/catch.hpp>
#include <future>
#include <memory>
#include <thread>

#include "pulse/handlers/heartbeat/service.hpp"
#include "pulse/http/deferred_response.hpp"
#include "support/flaky_store.hpp"
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

TEST_CASE("per-client series: only when asked for, capped, with the rest counted", "[handlers][metrics]") {
  auto clock = std::make_shared<pulse::presence::ManualClock>();
  pulse::http::ServerStats stats;
  pulse::handlers::heartbeat::HeartbeatService service({}, clock);
  const auto api = service.api_handler();
  for (const char* id : {"c", "a", "d", "b"}) {
    REQUIRE(api->handle(Request::make(Method::kPost, std::string("/heartbeat/") + id)).status == 201);
    clock->advance(1s);
  }
  REQUIRE(api->handle(Request::make(Method::kPost, "/heartbeat/b?status=fail")).status == 200);

  pulse::handlers::MetricsOptions options;
  options.client_metrics = 3;
  const auto capped =
      std::make_shared<pulse::handlers::MetricsHandler>(service.store(), service.event_streams(), stats, options);
  const auto text = capped->handle(Request::make(Method::kGet, "/metrics")).body;
  INFO(text);
  const auto parsed = parse_prometheus_text(text);
  for (const auto& error : parsed.errors) FAIL_CHECK(error);
  // The first three by id; d is left out and counted.
  CHECK(parsed.value("pulse_heartbeat_client_state", {{"id", "a"}, {"state", "up"}}) == 1);
  CHECK(parsed.value("pulse_heartbeat_client_state", {{"id", "b"}, {"state", "failing"}}) == 1);
  CHECK(parsed.value("pulse_heartbeat_client_state", {{"id", "c"}, {"state", "up"}}) == 1);
  CHECK_FALSE(parsed.value("pulse_heartbeat_client_state", {{"id", "d"}, {"state", "up"}}));
  CHECK(parsed.value("pulse_heartbeat_client_metrics_omitted") == 1);
  // 2026-01-01T00:00:01Z, when a beat first.
  CHECK(parsed.value("pulse_heartbeat_client_last_beat_timestamp_seconds", {{"id", "a"}}) == Approx(1767225601.0));
  std::size_t state_series = 0;
  for (const auto& sample : parsed.samples) state_series += sample.name == "pulse_heartbeat_client_state" ? 1 : 0;
  CHECK(state_series == 3);

  options.client_metrics = 10;
  const auto all =
      parse_prometheus_text(pulse::handlers::MetricsHandler(service.store(), service.event_streams(), stats, options)
                                .handle(Request::make(Method::kGet, "/metrics"))
                                .body);
  CHECK(all.value("pulse_heartbeat_client_metrics_omitted") == 0);
  CHECK(all.value("pulse_heartbeat_client_state", {{"id", "d"}, {"state", "up"}}) == 1);

  // Off by default: no client family at all.
  const auto off =
      parse_prometheus_text(pulse::handlers::MetricsHandler(service.store(), service.event_streams(), stats)
                                .handle(Request::make(Method::kGet, "/metrics"))
                                .body);
  CHECK(off.types.count("pulse_heartbeat_client_state") == 0);
  CHECK(off.types.count("pulse_heartbeat_client_metrics_omitted") == 0);
}

TEST_CASE("per-client series render durations and escape label values", "[handlers][metrics]") {
  pulse::handlers::ClientSeries series;
  pulse::presence::ClientView odd;
  odd.id = "quote\"back\\slash";  // ids cannot hold these; the exposition must not break if one did
  odd.state = pulse::presence::ClientState::kPaused;
  odd.last_duration = 1500ms;
  series.clients.push_back(odd);
  series.omitted = 7;
  const std::string text = pulse::handlers::render_metrics({}, {}, 0, pulse::http::ServerStats{}, nullptr, &series);
  INFO(text);
  const auto parsed = parse_prometheus_text(text);
  for (const auto& error : parsed.errors) FAIL_CHECK(error);
  CHECK(parsed.value("pulse_heartbeat_client_state", {{"id", odd.id}, {"state", "paused"}}) == 1);
  CHECK(parsed.value("pulse_heartbeat_client_last_duration_seconds", {{"id", odd.id}}) == Approx(1.5));
  CHECK(parsed.value("pulse_heartbeat_client_metrics_omitted") == 7);
}

TEST_CASE("with a store whose calls may block, per-client series are listed on a store thread", "[handlers][metrics]") {
  auto store = std::make_shared<pulse::testing::FlakyStore>(std::make_shared<pulse::presence::ManualClock>());
  pulse::handlers::heartbeat::HeartbeatService service({}, store);
  REQUIRE(store->beat({.id = "a"}).accepted());
  pulse::http::ServerStats stats;
  pulse::handlers::MetricsOptions options;
  options.client_metrics = 5;
  options.store_calls = service.store_calls();
  REQUIRE(options.store_calls != nullptr);
  pulse::handlers::MetricsHandler handler(service.store(), service.event_streams(), stats, options);
  const auto calls_before = store->call_threads().size();
  auto response = handler.handle(Request::make(Method::kGet, "/metrics"));
  REQUIRE(response.deferred != nullptr);
  auto promise = std::make_shared<std::promise<pulse::http::Response>>();
  auto future = promise->get_future();
  response.deferred->attach([promise](pulse::http::Response completed) { promise->set_value(std::move(completed)); });
  response.deferred.reset();
  REQUIRE(future.wait_for(10s) == std::future_status::ready);
  const auto answered = future.get();
  CHECK(answered.status == 200);
  CHECK(parse_prometheus_text(answered.body).value("pulse_heartbeat_client_state", {{"id", "a"}, {"state", "up"}}) ==
        1);
  const auto threads = store->call_threads();
  REQUIRE(threads.size() > calls_before);
  for (std::size_t i = calls_before; i < threads.size(); ++i) CHECK(threads[i] != std::this_thread::get_id());

  // Unreachable: a 503, not an exception on a store thread.
  store->set_reachable(false);
  auto refused = handler.handle(Request::make(Method::kGet, "/metrics"));
  REQUIRE(refused.deferred != nullptr);
  auto promise2 = std::make_shared<std::promise<pulse::http::Response>>();
  auto future2 = promise2->get_future();
  refused.deferred->attach([promise2](pulse::http::Response completed) { promise2->set_value(std::move(completed)); });
  refused.deferred.reset();
  REQUIRE(future2.wait_for(10s) == std::future_status::ready);
  CHECK(future2.get().status == 503);
}
