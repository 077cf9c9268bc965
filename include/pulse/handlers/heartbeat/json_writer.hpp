// A direct JSON writer for the documents that grow with the number of clients: the whole list
// and the event-stream snapshot. At 100,000 clients a DOM (nlohmann::json) took most of a second
// and hundreds of megabytes to build and dump; this appends the same text straight into one
// buffer. client_json() is defined through it, so a client has one JSON form, not two to keep
// in step.
#pragma once

#include <string>
#include <string_view>

#include "pulse/presence/clock.hpp"
#include "pulse/presence/presence_store.hpp"

namespace pulse::handlers::heartbeat {

// `text` as a JSON string, quotes included, escaped as nlohmann::json's dump() escapes it
// (valid UTF-8 kept as is; anything invalid replaced by U+FFFD).
void append_json_string(std::string& out, std::string_view text);
// "2026-01-01T00:00:00.000Z", quoted.
void append_json_time(std::string& out, presence::Time time);
// One client object, fields in client_json()'s order.
void append_client_json(std::string& out, const presence::ClientView& client);
// The answer to a beat (beat_result_json()'s fields and order), without a trailing newline: the
// most frequent document of all, written without a DOM.
void append_beat_result_json(std::string& out, const presence::BeatResult& result, presence::Time server_time);
// The whole listing document (listing_json()'s fields and order), without a trailing newline.
void append_listing_json(std::string& out, const presence::Listing& listing, presence::Time server_time);

}  // namespace pulse::handlers::heartbeat
