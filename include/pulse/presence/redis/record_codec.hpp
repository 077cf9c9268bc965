// How a client record and an event look inside Redis, and their decoding here.
//
// A record is one JSON object per client (a field of the {prefix}clients hash):
//   {"id":"web-1","state":"up","health":"ok","interval":30,"grace":15,"message":"","remote_addr":"10.0.0.7",
//    "beats":"12","last_beat":"1767225600000000","last_ok":"1767225600000000",
//    "next_due":"1767225630000000","down_at":"1767225645000000","rate_limit_at":"1767225600100000"}
// Times are microseconds since the Unix epoch, and they and the beat count are JSON strings:
// the Lua scripts' cjson writes numbers with 14 significant digits, and a time needs 16.
// interval and grace are whole seconds. last_ok is absent until a beat says ok.
//
// An event is a stream entry with id "<sequence>-0" and the fields kind (join|change|leave),
// previous (a state, or empty), reason (signed_off|expired) and client (the record as it was
// right after the event).
#pragma once

#include <string>
#include <string_view>

#include "pulse/presence/presence_store.hpp"
#include "pulse/presence/redis/connection.hpp"

namespace pulse::presence::redis {

// Throw ProtocolError for a record that is not one.
[[nodiscard]] ClientView decode_client(std::string_view json);
// For restore(): the script takes records in the same form (rate_limit_at is left out).
[[nodiscard]] std::string encode_client(const ClientView& client);

// `entry` is one element of an XRANGE/XREAD reply: [id, [field, value, ...]].
[[nodiscard]] PresenceEvent decode_event(const Reply& entry);

[[nodiscard]] std::string to_micros_text(Time time);

}  // namespace pulse::presence::redis
