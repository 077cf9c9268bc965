// GET /heartbeat/events without sockets: the stream's bytes are read straight from the
// ResponseStream. Snapshot first, one event per change (never per beat), resume from
// Last-Event-ID, a snapshot when the id is too old, dropped and closed streams.
#include <fmt/format.h>
#include <catch2/catch.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "pulse/handlers/heartbeat/events.hpp"
#include "pulse/handlers/heartbeat/service.hpp"
#include "pulse/handlers/metrics.hpp"
#include "pulse/http/response_stream.hpp"
#include "pulse/presence/presence_registry.hpp"
#include "support/prometheus_text.hpp"
#include "support/sse.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using pulse::handlers::heartbeat::HeartbeatService;
using pulse::http::Method;
using pulse::http::Request;
using pulse::http::Response;
using pulse::presence::ManualClock;
using pulse::test::parse_sse;
using pulse::test::SseEvent;

namespace {

struct Events {
  Events()
      : service({}, clock),
        api(service.api_handler()),
        metrics(std::make_shared<pulse::handlers::MetricsHandler>(service.store(), service.event_streams(), stats)) {}

  Response send(Method method, const std::string& target) { return api->handle(Request::make(method, target)); }

  // Opens a stream; `last_event_id` as an EventSource sends it when it reconnects.
  std::shared_ptr<pulse::http::ResponseStream> open(std::optional<std::string> last_event_id = std::nullopt) {
    Request request = Request::make(Method::kGet, "/heartbeat/events");
    if (last_event_id) request.headers.push_back({"Last-Event-ID", *last_event_id});
    const Response response = api->handle(request);
    REQUIRE(response.status == 200);
    REQUIRE(response.stream);
    CHECK(response.header("Content-Type") == "text/event-stream");
    CHECK(response.header("Cache-Control") == "no-cache");
    return response.stream;
  }

  double open_streams() {
    const auto text = pulse::test::parse_prometheus_text(metrics->handle(Request::make(Method::kGet, "/metrics")).body);
    return text.value("pulse_heartbeat_event_streams").value_or(-1);
  }

  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  pulse::http::ServerStats stats;
  HeartbeatService service;
  std::shared_ptr<pulse::http::Handler> api;
  std::shared_ptr<pulse::http::Handler> metrics;
};

std::vector<SseEvent> take_events(pulse::http::ResponseStream& stream) {
  const auto parsed = parse_sse(stream.take().text());
  CHECK(parsed.rest.empty());  // events are written whole
  return parsed.events;
}

std::uint64_t id_of(const SseEvent& event) {
  REQUIRE(event.id);
  return std::stoull(*event.id);
}

}  // namespace

TEST_CASE("format_sse_event frames one event", "[handlers][heartbeat][sse]") {
  CHECK(pulse::handlers::heartbeat::format_sse_event(42, "join", "{}") == "id: 42\nevent: join\ndata: {}\n\n");
  CHECK(pulse::handlers::heartbeat::format_sse_event(std::nullopt, "beats", "[1]") == "event: beats\ndata: [1]\n\n");
}

TEST_CASE("a stream starts with a snapshot of every client", "[handlers][heartbeat][sse]") {
  Events events;
  REQUIRE(events.send(Method::kPost, "/heartbeat/b").status == 201);
  REQUIRE(events.send(Method::kPost, "/heartbeat/a?status=fail").status == 201);
  const auto stream = events.open();
  const auto parsed = parse_sse(stream->take().text());
  CHECK(parsed.retry == "3000");
  REQUIRE(parsed.events.size() == 1);
  const SseEvent& snapshot = parsed.events[0];
  CHECK(snapshot.event == "snapshot");
  const auto data = json::parse(snapshot.data);
  CHECK(data["total"] == 2);
  REQUIRE(data["clients"].size() == 2);
  CHECK(data["clients"][0]["id"] == "a");
  CHECK(data["clients"][0]["state"] == "failing");
  CHECK(data["counts"]["failing"] == 1);
  CHECK(events.open_streams() == 1);
}

TEST_CASE("then one event per change, with increasing ids, never one per beat", "[handlers][heartbeat][sse]") {
  Events events;
  const auto stream = events.open();
  const auto snapshot_id = id_of(take_events(*stream).at(0));

  REQUIRE(events.send(Method::kPost, "/heartbeat/web?interval=10&grace=5").status == 201);
  events.service.sweep();
  auto received = take_events(*stream);
  REQUIRE_FALSE(received.empty());
  CHECK(received[0].event == "join");
  CHECK(id_of(received[0]) == snapshot_id + 1);
  const auto join = json::parse(received[0].data);
  CHECK(join["previous"].is_null());
  CHECK(join["client"]["id"] == "web");
  CHECK(join["client"]["state"] == "up");

  // Plain beats: at most a "beats" digest, which has no id, so Last-Event-ID never moves.
  for (int i = 0; i < 3; ++i) {
    events.clock->advance(1s);
    REQUIRE(events.send(Method::kPost, "/heartbeat/web?interval=10&grace=5").status == 200);
  }
  events.service.sweep();
  received = take_events(*stream);
  REQUIRE(received.size() == 1);
  CHECK(received[0].event == "beats");
  CHECK_FALSE(received[0].id);
  const auto beats = json::parse(received[0].data);
  REQUIRE(beats["clients"].size() == 1);
  CHECK(beats["clients"][0]["beats"] == 4);
  CHECK(beats["clients"][0]["last_beat"] == "2026-01-01T00:00:03.000Z");

  // Time passes: up -> late.
  events.clock->advance(10s);
  events.service.sweep();
  received = take_events(*stream);
  REQUIRE(received.size() == 1);
  CHECK(received[0].event == "change");
  CHECK(id_of(received[0]) == snapshot_id + 2);
  const auto change = json::parse(received[0].data);
  CHECK(change["previous"] == "up");
  CHECK(change["client"]["state"] == "late");

  // Nothing happened: nothing sent.
  events.service.sweep();
  CHECK(stream->take().text().empty());

  // A fail beat: a change too (and its digest).
  REQUIRE(events.send(Method::kPost, "/heartbeat/web?interval=10&status=fail").status == 200);
  events.service.sweep();
  received = take_events(*stream);
  REQUIRE(received.size() == 2);
  CHECK(received[0].event == "change");
  CHECK(json::parse(received[0].data)["client"]["state"] == "failing");
  CHECK(json::parse(received[0].data)["previous"] == "late");
  CHECK(received[1].event == "beats");

  // Signing off.
  REQUIRE(events.send(Method::kDelete, "/heartbeat/web").status == 204);
  events.service.sweep();
  received = take_events(*stream);
  REQUIRE(received.size() == 1);
  CHECK(received[0].event == "leave");
  CHECK(id_of(received[0]) == snapshot_id + 4);
  const auto leave = json::parse(received[0].data);
  CHECK(leave["id"] == "web");
  CHECK(leave["reason"] == "signed_off");
}

TEST_CASE("a reconnect with Last-Event-ID gets what it missed, not a snapshot", "[handlers][heartbeat][sse]") {
  Events events;
  REQUIRE(events.send(Method::kPost, "/heartbeat/a?interval=10").status == 201);
  const auto first = events.open();
  const auto seen = id_of(take_events(*first).at(0));

  // The client goes away; meanwhile two things happen.
  first->detach();
  REQUIRE(events.send(Method::kPost, "/heartbeat/b").status == 201);
  REQUIRE(events.send(Method::kDelete, "/heartbeat/a").status == 204);
  events.service.sweep();
  CHECK(events.open_streams() == 0);  // the detached stream was dropped

  const auto second = events.open(std::to_string(seen));
  const auto missed = take_events(*second);
  REQUIRE(missed.size() == 2);
  CHECK(missed[0].event == "join");
  CHECK(id_of(missed[0]) == seen + 1);
  CHECK(json::parse(missed[0].data)["client"]["id"] == "b");
  CHECK(missed[1].event == "leave");
  CHECK(id_of(missed[1]) == seen + 2);

  // Already up to date: nothing but the retry line.
  const auto third = events.open(std::to_string(seen + 2));
  const auto parsed = parse_sse(third->take().text());
  CHECK(parsed.events.empty());
  CHECK(parsed.retry == "3000");
}

TEST_CASE("a Last-Event-ID that is too old, unknown or garbage gets a snapshot", "[handlers][heartbeat][sse]") {
  Events events;
  REQUIRE(events.send(Method::kPost, "/heartbeat/a").status == 201);
  for (const std::string last_id : {"1", "99999999999999999", "yesterday", ""}) {
    INFO(last_id);
    const auto stream = events.open(last_id);
    const auto received = take_events(*stream);
    REQUIRE(received.size() == 1);
    CHECK(received[0].event == "snapshot");
    CHECK(json::parse(received[0].data)["total"] == 1);
  }

  // More changes than the history holds (1024) while a client is away: snapshot.
  const auto stream = events.open();
  const auto seen = id_of(take_events(*stream).at(0));
  stream->detach();
  for (int i = 0; i < 1100; ++i) REQUIRE(events.send(Method::kPost, fmt::format("/heartbeat/n{}", i)).status == 201);
  const auto late = events.open(std::to_string(seen));
  const auto received = take_events(*late);
  REQUIRE(received.size() == 1);
  CHECK(received[0].event == "snapshot");
  CHECK(id_of(received[0]) == seen + 1100);
  CHECK(json::parse(received[0].data)["total"] == 1101);
}

TEST_CASE("a stream that fell behind the history catches up with a snapshot", "[handlers][heartbeat][sse]") {
  Events events;
  const auto stream = events.open();
  const auto seen = id_of(take_events(*stream).at(0));
  for (int i = 0; i < 1100; ++i) REQUIRE(events.send(Method::kPost, fmt::format("/heartbeat/n{}", i)).status == 201);
  events.service.sweep();
  const auto received = take_events(*stream);
  REQUIRE_FALSE(received.empty());
  CHECK(received[0].event == "snapshot");
  CHECK(id_of(received[0]) == seen + 1100);
}

TEST_CASE("HEAD gets the headers without subscribing to events", "[handlers][heartbeat][sse]") {
  Events events;
  const auto response = events.send(Method::kHead, "/heartbeat/events");
  CHECK(response.status == 200);
  CHECK(response.header("Content-Type") == "text/event-stream");
  // Stream-shaped (so the connection frames it as GET would), but nobody produces into it.
  REQUIRE(response.stream);
  CHECK(events.open_streams() == 0);
}

TEST_CASE("stop() ends every stream and refuses new ones", "[handlers][heartbeat][sse]") {
  Events events;
  const auto a = events.open();
  const auto b = events.open();
  CHECK(events.open_streams() == 2);
  events.service.stop();
  CHECK(a->closed());
  CHECK(b->closed());
  const auto refused = events.send(Method::kGet, "/heartbeat/events");
  CHECK(refused.status == 503);
  CHECK_FALSE(refused.stream);
  events.service.stop();  // idempotent
}

TEST_CASE("EventStreams keeps at most its maximum of streams", "[handlers][heartbeat][sse]") {
  using Refusal = pulse::handlers::heartbeat::EventStreams::Refusal;
  auto clock = std::make_shared<ManualClock>();
  pulse::presence::PresenceRegistry registry({}, clock);
  pulse::handlers::heartbeat::EventStreams streams(registry, {.max_streams = 2, .max_per_address = 2});
  const auto a = streams.open(std::nullopt, "10.0.0.1").stream;
  const auto b = streams.open(std::nullopt, "10.0.0.2").stream;
  REQUIRE(a);
  REQUIRE(b);
  const auto full = streams.open(std::nullopt, "10.0.0.3");
  CHECK_FALSE(full.stream);
  CHECK(full.refusal == Refusal::kServerFull);
  // A client that went away frees its slot at the next keep-alive.
  a->detach();
  streams.send_keep_alive();
  CHECK(streams.size() == 1);
  CHECK(b->take().text().ends_with(": keep-alive\n\n"));
  CHECK(streams.open(std::nullopt, "10.0.0.3").stream);
}

TEST_CASE("one address cannot take every event-stream slot", "[handlers][heartbeat][sse]") {
  using Refusal = pulse::handlers::heartbeat::EventStreams::Refusal;
  auto clock = std::make_shared<ManualClock>();
  pulse::presence::PresenceRegistry registry({}, clock);
  pulse::handlers::heartbeat::EventStreams streams(registry, {.max_streams = 100, .max_per_address = 3});
  std::vector<std::shared_ptr<pulse::http::ResponseStream>> greedy;
  for (int i = 0; i < 3; ++i) greedy.push_back(streams.open(std::nullopt, "10.0.0.9").stream);
  for (const auto& stream : greedy) CHECK(stream);
  const auto fourth = streams.open(std::nullopt, "10.0.0.9");
  CHECK_FALSE(fourth.stream);
  CHECK(fourth.refusal == Refusal::kAddressFull);
  CHECK(streams.open(std::nullopt, "10.0.0.10").stream);  // everyone else is still served
  greedy.front()->detach();
  streams.send_keep_alive();
  CHECK(streams.open(std::nullopt, "10.0.0.9").stream);
}

TEST_CASE("streams that need a snapshot share one buffer, rendered once per registry version",
          "[handlers][heartbeat][sse]") {
  auto clock = std::make_shared<ManualClock>();
  pulse::presence::PresenceRegistry registry({}, clock);
  pulse::presence::BeatRequest beat;
  beat.id = "web-1";
  REQUIRE(registry.beat(beat).accepted());
  pulse::handlers::heartbeat::EventStreams streams(registry, {});
  const auto a = streams.open(std::nullopt, "10.0.0.1").stream;
  const auto b = streams.open(std::nullopt, "10.0.0.2").stream;
  const auto first = a->take();
  const auto second = b->take();
  REQUIRE(first.segments.size() == 2);  // "retry:", then the snapshot
  REQUIRE(second.segments.size() == 2);
  REQUIRE(first.segments[1].shared);
  CHECK(first.segments[1].shared == second.segments[1].shared);  // the same buffer, not a copy
  CHECK(first.text().find("event: snapshot") != std::string::npos);
  CHECK(first.text().find("web-1") != std::string::npos);

  clock->advance(std::chrono::seconds(2));  // older than kSnapshotMaxAge: rendered again
  const auto c = streams.open(std::nullopt, "10.0.0.3").stream;
  const auto third = c->take();
  REQUIRE(third.segments.size() == 2);
  CHECK(third.segments[1].shared != first.segments[1].shared);
}
