// EventMirror: this process's copy of the tail of the Redis event stream, from which
// events_after() answers without a round trip.
//
// The stream's ids are "<sequence>-0", and sequences are consecutive (one INCR per event), so
// the mirror is an EventLog whose numbers come from Redis: an event is kept when it is the next
// one, and a jump means Redis no longer has the events between (trimmed past MAXLEN, or lost
// with Redis's data), so the mirror starts over after the jump and older watchers get a snapshot.
// A stream that went backwards (a failover that lost the primary's last writes) resets it too.
//
// Fed by the follower thread (everything, from every replica) and by each call that saw a
// newer sequence in its reply (so a caller reads its own writes, and a listing's sequence is
// always covered). Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "pulse/presence/event_log.hpp"
#include "pulse/presence/presence_store.hpp"
#include "pulse/presence/redis/connection.hpp"

namespace pulse::presence::redis {

class EventMirror {
 public:
  EventMirror(std::size_t capacity, std::string stream_key, std::string sequence_key);

  // `events` are what the stream holds after some entry, in order, none skipped (an XREAD or
  // XRANGE reply). Returns whether the mirror changed.
  bool absorb_stream(std::vector<PresenceEvent> events);

  // A call read last_sequence() as `seen_before`, then Redis answered that the stream ends at
  // `redis_last`, and the call itself appended `produced`. Brings the mirror up to `redis_last`
  // (from `produced` when they follow on, else with an XRANGE on `connection`). Returns whether
  // the mirror changed. Throws ConnectionError.
  bool catch_up(Connection& connection, std::uint64_t seen_before, std::uint64_t redis_last,
                std::vector<PresenceEvent> produced);

  // After (re)connecting: keeps the mirror if the stream still holds its last event, else
  // starts over from the stream's last `capacity` entries. Returns whether the mirror changed.
  // Throws ConnectionError.
  bool verify_or_prime(Connection& connection);

  [[nodiscard]] std::optional<std::vector<PresenceEvent>> after(std::uint64_t sequence) const {
    return log_.after(sequence);
  }
  [[nodiscard]] std::uint64_t last_sequence() const { return log_.last_sequence(); }
  [[nodiscard]] std::size_t size() const { return log_.size(); }
  [[nodiscard]] const std::string& stream_key() const noexcept { return stream_key_; }
  [[nodiscard]] const std::string& sequence_key() const noexcept { return sequence_key_; }

  // Decodes an XRANGE / XREVRANGE / one stream of an XREAD reply.
  [[nodiscard]] static std::vector<PresenceEvent> decode_entries(const Reply& entries);

 private:
  // With mutex_ held.
  bool absorb_locked(std::vector<PresenceEvent>& events);
  void prime(Connection& connection);

  const std::size_t capacity_;
  const std::string stream_key_;
  const std::string sequence_key_;
  // Serialises every change, so a reset never interleaves with a run of inserts. Never held
  // across a round trip.
  std::mutex mutex_;
  EventLog log_;
};

}  // namespace pulse::presence::redis
