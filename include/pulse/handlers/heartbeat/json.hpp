// The JSON of the heartbeat API and its events, built with nlohmann::json (never by pasting
// strings). Times are the store's (wall-clock instants), rendered as ISO 8601 in UTC with
// milliseconds; `server_time` is the store's now() when the document was made.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pulse/http/response.hpp"
#include "pulse/presence/clock.hpp"
#include "pulse/presence/presence_store.hpp"

namespace pulse::handlers::heartbeat {

// Keeps fields in the order they are written (id first), for people reading the output.
using Json = nlohmann::ordered_json;

// "2026-01-01T00:00:00.000Z"
[[nodiscard]] std::string format_iso8601(presence::Time time);

// One client: id, state, online, status, last_beat, last_ok (null if never), next_due, down_at,
// interval, grace (seconds), beats, remote_addr, msg, paused, held, running (a run is open),
// runs ([{"rid": null or the rid=, "started"}], oldest first), last_duration_ms (null if no run
// ended yet), exit_code (the last one reported, or null), log_bytes (0: no log).
// Written by append_client_json() (json_writer.hpp) and parsed: one definition of the fields.
[[nodiscard]] Json client_json(const presence::ClientView& client);

// GET /heartbeat and the SSE snapshot: server_time, total, online, offline, counts per state
// (registry-wide), and the clients.
[[nodiscard]] Json listing_json(const presence::Listing& listing, presence::Time server_time);

// The answer to a beat: id, state, server_time, next_due, down_at, interval, grace, beats,
// running, paused.
[[nodiscard]] Json beat_json(const presence::ClientView& client, presence::Time server_time);
// beat_json() of the result's client, with duration_ms: the run this request ended, or null.
[[nodiscard]] Json beat_result_json(const presence::BeatResult& result, presence::Time server_time);

// One history line. A change: at, kind "change", from (null when the client joined), to. A run
// that ended: at, kind "run", result ("ok" or "fail"), exit_code (or null), duration_ms.
[[nodiscard]] Json history_entry_json(const presence::HistoryEntry& entry);
// GET /heartbeat/{id}/history: id, server_time, history (oldest first).
[[nodiscard]] Json history_json(const presence::ClientDetail& detail, presence::Time server_time);
// GET /heartbeat/{id}: client_json() with server_time, log (the last one kept, or null) and
// history (as in history_json()).
[[nodiscard]] Json detail_json(const presence::ClientDetail& detail, presence::Time server_time);

// The data of one SSE change event. join/change: server_time, previous (null for a join), client.
// leave: server_time, id, reason ("signed_off" or "expired").
[[nodiscard]] Json event_json(const presence::PresenceEvent& event, presence::Time server_time);

// The data of a "beats" SSE event: server_time and the clients that beat since the last one.
[[nodiscard]] Json beats_json(const std::vector<presence::ClientView>& clients, presence::Time server_time);

// Compact, one line. Never throws: strings from clients are validated UTF-8, and anything that
// slipped through is replaced rather than aborting a response.
[[nodiscard]] std::string dump_json(const Json& document);

// Compact JSON with a trailing newline (pleasant in a terminal), Content-Type application/json.
[[nodiscard]] http::Response json_response(int status, const Json& body);
// {"error": code, "detail": detail}: `code` is stable for scripts, `detail` is for people.
[[nodiscard]] http::Response json_error(int status, std::string_view code, std::string_view detail);
// How long a client the store refused should wait before trying again.
inline constexpr std::chrono::seconds kRateLimitedRetryAfter{1};
inline constexpr std::chrono::seconds kRegistryFullRetryAfter{60};

// Response + Retry-After: AFTER (seconds).
[[nodiscard]] http::Response with_retry_after(http::Response response, std::chrono::seconds after);
// The answer to a beat or hold that the store refused, nullopt when it took it: 429 with
// Retry-After for an id beating too fast, 503 with Retry-After for a full registry, 400
// `invalid_beat` ("the WHAT is out of bounds"), 404 `not_found` with `not_found_detail`. One
// mapping, so every signal and the hold endpoint answer a refusal alike.
[[nodiscard]] std::optional<http::Response> store_refusal(const presence::BeatResult& result, std::string_view what,
                                                          std::string_view not_found_detail = "no client with this id");
// The 400 for a seconds parameter ("interval", "grace") that parse_seconds() refused: the same
// code and wording wherever it is read (a beat, a hold).
[[nodiscard]] http::Response invalid_seconds(std::string_view name, std::chrono::seconds min, std::chrono::seconds max);

}  // namespace pulse::handlers::heartbeat
