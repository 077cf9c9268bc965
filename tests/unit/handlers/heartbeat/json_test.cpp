// The heartbeat JSON documents: ISO 8601 times rendered against one instant, field names and
// order, null for "never", and that every document is real JSON.
#include "pulse/handlers/heartbeat/json.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace std::chrono_literals;
using pulse::handlers::heartbeat::format_iso8601;
using pulse::presence::ClientState;
using pulse::presence::ClientView;
using pulse::presence::Time;

namespace {

Time wall_at(std::chrono::milliseconds since_epoch) {
  return Time(std::chrono::duration_cast<Time::duration>(since_epoch));
}

// "now" is 2026-01-01T00:01:00Z.
const Time kAt = wall_at(std::chrono::seconds(1767225660));

ClientView sample_client() {
  ClientView client;
  client.id = "web-1";
  client.state = ClientState::kLate;
  client.interval = 30s;
  client.grace = 15s;
  client.message = "caf\xC3\xA9 \"open\"";
  client.remote_addr = "203.0.113.9";
  client.beats = 7;
  client.last_beat = kAt - 40s;
  client.next_due = client.last_beat + 30s;
  client.down_at = client.next_due + 15s;
  return client;
}

}  // namespace

TEST_CASE("ISO 8601 times are UTC with milliseconds", "[handlers][heartbeat][json]") {
  CHECK(format_iso8601(wall_at(0ms)) == "1970-01-01T00:00:00.000Z");
  CHECK(format_iso8601(wall_at(std::chrono::seconds(1767225600) + 1234ms)) == "2026-01-01T00:00:01.234Z");
  CHECK(format_iso8601(wall_at(std::chrono::seconds(1709251199) + 999ms)) == "2024-02-29T23:59:59.999Z");
  CHECK(format_iso8601(wall_at(-1000ms)) == "1969-12-31T23:59:59.000Z");
  // Sub-millisecond parts are cut, never rounded up into the next second.
  CHECK(format_iso8601(Time(std::chrono::duration_cast<Time::duration>(999'999us))) ==
        "1970-01-01T00:00:00.999Z");
}

TEST_CASE("a client renders every field, times relative to one instant", "[handlers][heartbeat][json]") {
  const auto document = pulse::handlers::heartbeat::client_json(sample_client());
  CHECK(document.begin().key() == "id");  // people read the id first
  CHECK(document["id"] == "web-1");
  CHECK(document["state"] == "late");
  CHECK(document["online"] == true);
  CHECK(document["status"] == "ok");
  CHECK(document["last_beat"] == "2026-01-01T00:00:20.000Z");  // 40 s before now
  CHECK(document["last_ok"].is_null());
  CHECK(document["next_due"] == "2026-01-01T00:00:50.000Z");
  CHECK(document["down_at"] == "2026-01-01T00:01:05.000Z");
  CHECK(document["interval"] == 30);
  CHECK(document["grace"] == 15);
  CHECK(document["beats"] == 7);
  CHECK(document["remote_addr"] == "203.0.113.9");
  CHECK(document["msg"] == "caf\xC3\xA9 \"open\"");

  // Through text and back: real JSON, quotes escaped.
  const auto text = pulse::handlers::heartbeat::dump_json(document);
  CHECK(text.find('\n') == std::string::npos);
  CHECK(nlohmann::json::parse(text)["msg"] == "caf\xC3\xA9 \"open\"");

  auto healthy = sample_client();
  healthy.last_ok = healthy.last_beat;
  healthy.state = ClientState::kDown;
  const auto down = pulse::handlers::heartbeat::client_json(healthy);
  CHECK(down["last_ok"] == "2026-01-01T00:00:20.000Z");
  CHECK(down["online"] == false);
}

TEST_CASE("a listing has counts for every state", "[handlers][heartbeat][json]") {
  pulse::presence::Listing listing;
  listing.counts.by_state = {2, 1, 3, 0};
  listing.clients.push_back(sample_client());
  const auto document = pulse::handlers::heartbeat::listing_json(listing, kAt);
  CHECK(document["server_time"] == "2026-01-01T00:01:00.000Z");
  CHECK(document["total"] == 6);
  CHECK(document["online"] == 3);
  CHECK(document["offline"] == 3);
  CHECK(document["counts"] == pulse::handlers::heartbeat::Json{{"up", 2}, {"late", 1}, {"down", 3}, {"failing", 0}, {"paused", 0}});
  REQUIRE(document["clients"].size() == 1);
  CHECK(document["clients"][0]["id"] == "web-1");
}

TEST_CASE("events and beats render their documented shapes", "[handlers][heartbeat][json]") {
  pulse::presence::PresenceEvent change;
  change.kind = pulse::presence::EventKind::kChange;
  change.previous = ClientState::kUp;
  change.client = sample_client();
  const auto changed = pulse::handlers::heartbeat::event_json(change, kAt);
  CHECK(changed["previous"] == "up");
  CHECK(changed["client"]["state"] == "late");
  CHECK(changed["server_time"] == "2026-01-01T00:01:00.000Z");

  pulse::presence::PresenceEvent join = change;
  join.kind = pulse::presence::EventKind::kJoin;
  join.previous.reset();
  CHECK(pulse::handlers::heartbeat::event_json(join, kAt)["previous"].is_null());

  pulse::presence::PresenceEvent leave = change;
  leave.kind = pulse::presence::EventKind::kLeave;
  leave.reason = pulse::presence::LeaveReason::kExpired;
  const auto left = pulse::handlers::heartbeat::event_json(leave, kAt);
  CHECK(left["id"] == "web-1");
  CHECK(left["reason"] == "expired");
  CHECK_FALSE(left.contains("client"));

  const auto beats = pulse::handlers::heartbeat::beats_json({sample_client(), sample_client()}, kAt);
  CHECK(beats["clients"].size() == 2);

  const auto beat = pulse::handlers::heartbeat::beat_json(sample_client(), kAt);
  for (const char* field : {"id", "state", "server_time", "next_due", "down_at"}) CHECK(beat.contains(field));
}

TEST_CASE("errors are JSON with a stable code and a detail", "[handlers][heartbeat][json]") {
  const auto response = pulse::handlers::heartbeat::json_error(400, "invalid_id", "id is empty");
  CHECK(response.status == 400);
  CHECK(response.header("Content-Type") == "application/json");
  CHECK(response.body.back() == '\n');
  const auto body = nlohmann::json::parse(response.body);
  CHECK(body["error"] == "invalid_id");
  CHECK(body["detail"] == "id is empty");
}
