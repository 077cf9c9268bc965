// How a client record and an event look inside Redis, and their decoding here.
//
// A record is one JSON object per client (a field of the {prefix}clients hash):
//   {"id":"web-1","state":"up","health":"ok","interval":30,"grace":15,"message":"","remote_addr":"10.0.0.7",
//    "beats":"12","last_beat":"1767225600000000","last_ok":"1767225600000000",
//    "next_due":"1767225630000000","down_at":"1767225645000000","rate_limit_at":"1767225600100000",
//    "log_bytes":0}
// Times are microseconds since the Unix epoch, and they and the beat count are JSON strings:
// the Lua scripts' cjson writes numbers with 14 significant digits, and a time needs 16.
// interval and grace are whole seconds. last_ok is absent until a beat says ok. Issue 11 added,
// each absent when unset (older records read as before): "paused":1 and "held":1; the open runs,
// oldest first, as "run1_rid":"...","run1_started":"<us>", run2_..., at most kMaxOpenRuns
// (flat, so a listing's scanner stays simple); "last_duration":"<us>"; "exit_code":N; and
// "log_bytes":N, the size of the last log, which is kept apart in the {prefix}logs hash. "credit" is the
// cluster's outage credit when the record was written: an online client's next_due and down_at
// are to be read moved on by the credit earned since (see scripts/common.lua). "holder":"<token>"
// is the holder token of the replica that held the client last (presence_store.hpp's Signal),
// absent when none: only the scripts read it, so decode_client() skips it and ClientView has no
// such field (encode_client() writes none: a restored client is held by nobody).
//
// An event is a stream entry with id "<sequence>-0" and the fields kind (join|change|leave),
// previous (a state, or empty), reason (signed_off|expired) and client (the record as it was
// right after the event).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "pulse/presence/presence_store.hpp"
#include "pulse/presence/redis/connection.hpp"

namespace pulse::presence::redis {

// Throw ProtocolError for a record that is not one. With `credit_now` (the {prefix}credit read
// with the record), an online client's deadlines carry the credit earned since it was written;
// without it the record is taken as written (events, and records a script just wrote).
[[nodiscard]] ClientView decode_client(std::string_view json, std::optional<std::int64_t> credit_now = std::nullopt);
// For restore(): the script takes records in the same form (rate_limit_at is left out).
[[nodiscard]] std::string encode_client(const ClientView& client);

// One entry of a client's history, a list {prefix}history:<id> of the last history_length of
// them, oldest first. Each is a line of fields separated by single spaces, times and durations
// in microseconds: "c <at> <from, or - on a join> <to>" for a state change, and
// "r <at> <ok|fail> <exit status, or -> <duration>" for a run that ended. Throws ProtocolError.
[[nodiscard]] HistoryEntry decode_history_entry(std::string_view line);

// `entry` is one element of an XRANGE/XREAD reply: [id, [field, value, ...]].
[[nodiscard]] PresenceEvent decode_event(const Reply& entry);

[[nodiscard]] std::string to_micros_text(Time time);

}  // namespace pulse::presence::redis
