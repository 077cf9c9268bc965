// The direct JSON writer against the library: strings escape exactly as nlohmann::json dumps
// them, times match format_iso8601(), and a listing written directly parses to the document
// that listing_json() builds.
#include "pulse/handlers/heartbeat/json_writer.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "pulse/handlers/heartbeat/json.hpp"

using namespace std::chrono_literals;
using pulse::handlers::heartbeat::append_client_json;
using pulse::handlers::heartbeat::append_json_string;
using pulse::handlers::heartbeat::append_json_time;
using pulse::handlers::heartbeat::append_listing_json;
using pulse::handlers::heartbeat::format_iso8601;
using pulse::handlers::heartbeat::Json;
using pulse::presence::ClientState;
using pulse::presence::ClientView;
using pulse::presence::Time;

namespace {

std::string written_string(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

std::string library_string(std::string_view text) {
  return nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Time at_seconds(std::int64_t seconds, std::int64_t millis = 0) {
  return Time(std::chrono::duration_cast<Time::duration>(std::chrono::seconds(seconds) +
                                                         std::chrono::milliseconds(millis)));
}

ClientView client_with(std::string id, ClientState state) {
  ClientView client;
  client.id = std::move(id);
  client.state = state;
  client.interval = 30s;
  client.grace = 15s;
  client.beats = 3;
  client.last_beat = at_seconds(1767225600, 123);
  client.next_due = client.last_beat + 30s;
  client.down_at = client.next_due + 15s;
  client.remote_addr = "2001:db8::1";
  return client;
}

}  // namespace

TEST_CASE("the writer escapes strings exactly as the JSON library does", "[handlers][heartbeat][json]") {
  const std::string control_chars = std::string("a\x01\x1f", 3) + std::string(1, '\0') + "b";
  for (const std::string& text :
       {std::string(""), std::string("plain"), std::string("quote \" backslash \\ slash /"),
        std::string("tab\tnew\nline\rcr\bback\fform"), control_chars, std::string("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x92\x93"),
        std::string("del \x7f kept"), std::string("bad \xC3 utf8 \xFF")}) {
    CAPTURE(text);
    CHECK(written_string(text) == library_string(text));
  }
}

TEST_CASE("the writer's times are format_iso8601's", "[handlers][heartbeat][json]") {
  for (const Time time : {at_seconds(0), at_seconds(1767225600, 1), at_seconds(1767225659, 999),
                          at_seconds(4102444799, 500), at_seconds(951782400, 42)}) {
    std::string out;
    append_json_time(out, time);
    CHECK(out == "\"" + format_iso8601(time) + "\"");
  }
}

TEST_CASE("a client written directly has every field, in order, with nulls for never", "[handlers][heartbeat][json]") {
  ClientView client = client_with("job-1", ClientState::kFailing);
  client.health = pulse::presence::Health::kFail;
  client.message = "exit 3";
  client.runs = {{"r1", at_seconds(1767225500)}, {"", at_seconds(1767225550, 5)}};
  client.last_duration = 1500ms;
  client.exit_code = 3;
  client.log_bytes = 42;
  client.held = true;
  std::string text;
  append_client_json(text, client);
  const Json document = Json::parse(text);
  std::vector<std::string> keys;
  for (const auto& [key, value] : document.items()) keys.push_back(key);
  CHECK(keys == std::vector<std::string>{"id", "state", "online", "status", "last_beat", "last_ok", "next_due",
                                         "down_at", "interval", "grace", "beats", "remote_addr", "msg", "paused",
                                         "held", "running", "runs", "last_duration_ms", "exit_code", "log_bytes"});
  CHECK(document["state"] == "failing");
  CHECK(document["online"] == true);
  CHECK(document["status"] == "fail");
  CHECK(document["last_ok"].is_null());
  CHECK(document["last_beat"] == format_iso8601(client.last_beat));
  CHECK(document["running"] == true);
  CHECK(document["runs"] == Json::parse(R"([{"rid":"r1","started":")" + format_iso8601(at_seconds(1767225500)) +
                                        R"("},{"rid":null,"started":")" +
                                        format_iso8601(at_seconds(1767225550, 5)) + "\"}]"));
  CHECK(document["last_duration_ms"] == 1500);
  CHECK(document["exit_code"] == 3);
  CHECK(document["log_bytes"] == 42);
  CHECK(document["held"] == true);

  const ClientView fresh = client_with("web-1", ClientState::kPaused);
  std::string plain;
  append_client_json(plain, fresh);
  const Json other = Json::parse(plain);
  CHECK(other["online"] == false);
  CHECK(other["running"] == false);
  CHECK(other["runs"] == Json::array());
  CHECK(other["last_duration_ms"].is_null());
  CHECK(other["exit_code"].is_null());
}

TEST_CASE("a listing written directly parses to listing_json's document", "[handlers][heartbeat][json]") {
  pulse::presence::Listing listing;
  listing.version = 9;
  listing.sequence = 4;
  listing.counts.by_state = {2, 1, 0, 1, 1};
  listing.clients = {client_with("a-1", ClientState::kUp), client_with("a-2", ClientState::kLate),
                     client_with("b \"q\"", ClientState::kPaused)};
  listing.clients[1].last_ok = at_seconds(1767225000);
  const Time server_time = at_seconds(1767225700, 250);
  std::string text;
  append_listing_json(text, listing, server_time);
  CHECK(Json::parse(text) == pulse::handlers::heartbeat::listing_json(listing, server_time));
  CHECK(text.find('\n') == std::string::npos);  // one SSE data line
}

TEST_CASE("the answer to a beat, written directly, has its fields in order and the run's duration",
          "[handlers][heartbeat][json]") {
  pulse::presence::BeatResult result;
  result.client = client_with("job \"1\"", ClientState::kUp);
  result.client.runs = {{"r", at_seconds(1767225500)}};
  result.run_duration = 2500ms;
  const Time server_time = at_seconds(1767225700, 250);
  std::string text;
  pulse::handlers::heartbeat::append_beat_result_json(text, result, server_time);
  const Json document = Json::parse(text);
  std::vector<std::string> keys;
  for (const auto& [key, value] : document.items()) keys.push_back(key);
  CHECK(keys == std::vector<std::string>{"id", "state", "server_time", "next_due", "down_at", "interval", "grace",
                                         "beats", "running", "paused", "duration_ms"});
  CHECK(document["id"] == "job \"1\"");
  CHECK(document["server_time"] == format_iso8601(server_time));
  CHECK(document["next_due"] == format_iso8601(result.client.next_due));
  CHECK(document["interval"] == 30);
  CHECK(document["beats"] == 3);
  CHECK(document["running"] == true);
  CHECK(document["duration_ms"] == 2500);
  result.run_duration.reset();
  text.clear();
  pulse::handlers::heartbeat::append_beat_result_json(text, result, server_time);
  CHECK(Json::parse(text)["duration_ms"].is_null());
}
