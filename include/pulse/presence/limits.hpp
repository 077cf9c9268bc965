// Presence limits and defaults: every bound the registry enforces, with its unit in its type.
// The app exposes the defaults as flags (--heartbeat-interval, --heartbeat-retention, ...).
#pragma once

#include <chrono>
#include <cstddef>

namespace pulse::presence {

using namespace std::chrono_literals;

inline constexpr std::size_t kMaxIdBytes = 64;
inline constexpr std::size_t kMaxMessageBytes = 256;
// A beat's body is kept as the client's last log, cut to this on a UTF-8 boundary.
inline constexpr std::size_t kMaxLogBytes = 10 * 1024;
// rid=, which tells overlapping runs of one job apart.
inline constexpr std::size_t kMaxRunIdBytes = 64;
// Runs open at once per client; a start beyond this forgets the oldest.
inline constexpr std::size_t kMaxOpenRuns = 4;
// State changes and runs kept per client for GET /heartbeat/{id}/history (--heartbeat-history).
inline constexpr std::size_t kDefaultHistoryLength = 10;
inline constexpr std::size_t kMaxHistoryLength = 1000;
// A held client (GET /heartbeat/{id}/hold) is refreshed by the server holding the connection
// every kHoldRefresh / 3; if that server vanishes, the client goes late after kHoldRefresh. When
// the connection drops, it is late at once and down after kHoldGrace.
inline constexpr std::chrono::seconds kHoldRefresh = 15s;
inline constexpr std::chrono::seconds kHoldGrace = 5s;
// The peer address the server recorded (an IPv6 address is at most 45 characters; room for a zone).
inline constexpr std::size_t kMaxRemoteAddrBytes = 64;

// A client may promise any interval (and grace) in this range, in whole seconds.
inline constexpr std::chrono::seconds kMinInterval = 1s;
inline constexpr std::chrono::seconds kMaxInterval = std::chrono::days(30);
inline constexpr std::chrono::seconds kMinGrace = 1s;
inline constexpr std::chrono::seconds kMaxGrace = kMaxInterval;
// The default grace is half the interval, but never shorter than this: a 2 s interval should
// not turn a client "down" over one slow network round trip.
inline constexpr std::chrono::seconds kDefaultGraceFloor = 5s;

inline constexpr std::chrono::seconds kDefaultInterval = 30s;
// Clients down for longer than this are forgotten.
inline constexpr std::chrono::seconds kDefaultRetention = std::chrono::hours(24);
inline constexpr std::size_t kDefaultMaxClients = 100'000;
// A single id beating faster than this gets 429 (bursts of this many are allowed).
inline constexpr unsigned kDefaultMaxBeatsPerSecond = 10;
// Change events kept for server-sent-event clients that reconnect with Last-Event-ID.
inline constexpr std::size_t kDefaultEventHistory = 1024;
// Independent locks: beats on different shards never contend.
inline constexpr std::size_t kShardCount = 16;

}  // namespace pulse::presence
