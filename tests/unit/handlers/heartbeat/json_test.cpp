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

TEST_CASE("a client renders pause, hold, runs, durations, exit status and log size", "[handlers][heartbeat][json]") {
  const auto plain = pulse::handlers::heartbeat::client_json(sample_client());
  CHECK(plain["paused"] == false);
  CHECK(plain["held"] == false);
  CHECK(plain["running"] == false);
  CHECK(plain["runs"] == pulse::handlers::heartbeat::Json::array());
  CHECK(plain["last_duration_ms"].is_null());
  CHECK(plain["exit_code"].is_null());
  CHECK(plain["log_bytes"] == 0);

  auto job = sample_client();
  job.state = ClientState::kPaused;
  job.paused = true;
  job.held = true;
  job.runs = {{"", kAt - 30s}, {"nightly-2", kAt - 5s}};
  job.last_duration = 61'234ms;
  job.exit_code = 3;
  job.log_bytes = 10240;
  const auto document = pulse::handlers::heartbeat::client_json(job);
  CHECK(document["state"] == "paused");
  CHECK(document["online"] == false);
  CHECK(document["paused"] == true);
  CHECK(document["held"] == true);
  CHECK(document["running"] == true);
  REQUIRE(document["runs"].size() == 2);
  CHECK(document["runs"][0]["rid"].is_null());  // a start without rid=
  CHECK(document["runs"][0]["started"] == "2026-01-01T00:00:30.000Z");
  CHECK(document["runs"][1]["rid"] == "nightly-2");
  CHECK(document["last_duration_ms"] == 61234);
  CHECK(document["exit_code"] == 3);
  CHECK(document["log_bytes"] == 10240);
  job.exit_code = 0;
  CHECK(pulse::handlers::heartbeat::client_json(job)["exit_code"] == 0);  // 0 is a status, not "none"
}

TEST_CASE("history entries, the history document and the detail", "[handlers][heartbeat][json]") {
  using pulse::presence::HistoryEntry;
  using pulse::presence::HistoryKind;
  const HistoryEntry joined{
      .at = kAt - 60s, .kind = HistoryKind::kChange, .from = std::nullopt, .to = ClientState::kUp};
  const HistoryEntry paused{
      .at = kAt - 50s, .kind = HistoryKind::kChange, .from = ClientState::kUp, .to = ClientState::kPaused};
  const HistoryEntry run{.at = kAt - 10s,
                         .kind = HistoryKind::kRun,
                         .result = pulse::presence::Health::kOk,
                         .exit_code = std::nullopt,
                         .duration = 4200ms};
  const HistoryEntry failed{
      .at = kAt, .kind = HistoryKind::kRun, .result = pulse::presence::Health::kFail, .exit_code = 2, .duration = 0ms};
  using pulse::handlers::heartbeat::history_entry_json;
  using pulse::handlers::heartbeat::Json;
  CHECK(history_entry_json(joined) ==
        Json{{"at", "2026-01-01T00:00:00.000Z"}, {"kind", "change"}, {"from", nullptr}, {"to", "up"}});
  CHECK(history_entry_json(paused)["from"] == "up");
  CHECK(history_entry_json(paused)["to"] == "paused");
  CHECK(history_entry_json(run) == Json{{"at", "2026-01-01T00:00:50.000Z"},
                                        {"kind", "run"},
                                        {"result", "ok"},
                                        {"exit_code", nullptr},
                                        {"duration_ms", 4200}});
  CHECK(history_entry_json(failed)["exit_code"] == 2);
  CHECK(history_entry_json(failed)["result"] == "fail");

  pulse::presence::ClientDetail detail;
  detail.client = sample_client();
  detail.history = {joined, paused, run, failed};
  const auto history = pulse::handlers::heartbeat::history_json(detail, kAt);
  CHECK(history.begin().key() == "id");
  CHECK(history["id"] == "web-1");
  CHECK(history["server_time"] == "2026-01-01T00:01:00.000Z");
  REQUIRE(history["history"].size() == 4);
  CHECK(history["history"][2] == history_entry_json(run));  // oldest first, as the store keeps them

  const auto no_log = pulse::handlers::heartbeat::detail_json(detail, kAt);
  CHECK(no_log["id"] == "web-1");
  CHECK(no_log["log"].is_null());
  CHECK(no_log["history"] == history["history"]);
  CHECK(no_log["server_time"] == "2026-01-01T00:01:00.000Z");
  detail.log = "done\n";
  CHECK(pulse::handlers::heartbeat::detail_json(detail, kAt)["log"] == "done\n");

  pulse::presence::ClientDetail empty;
  empty.client = sample_client();
  CHECK(pulse::handlers::heartbeat::history_json(empty, kAt)["history"] == Json::array());
}

TEST_CASE("events carry the new client fields", "[handlers][heartbeat][json]") {
  pulse::presence::PresenceEvent change;
  change.kind = pulse::presence::EventKind::kChange;
  change.previous = ClientState::kUp;
  change.client = sample_client();
  change.client.state = ClientState::kPaused;
  change.client.paused = true;
  change.client.last_duration = 1000ms;
  const auto document = pulse::handlers::heartbeat::event_json(change, kAt);
  CHECK(document["client"]["state"] == "paused");
  CHECK(document["client"]["paused"] == true);
  CHECK(document["client"]["last_duration_ms"] == 1000);
  CHECK(document["client"].contains("runs"));
  CHECK(document["client"].contains("log_bytes"));
}
