// Keeping the local copy of the event stream consecutive, complete, or honestly reset.
#include "pulse/presence/redis/event_mirror.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "pulse/presence/redis/record_codec.hpp"

namespace pulse::presence::redis {
namespace {

std::string stream_id(std::uint64_t sequence) {
  return fmt::format("{}-0", sequence);
}

bool same_event(const PresenceEvent& a, const PresenceEvent& b) {
  return a.sequence == b.sequence && a.kind == b.kind && a.previous == b.previous && a.client == b.client;
}

}  // namespace

EventMirror::EventMirror(std::size_t capacity, std::string stream_key, std::string sequence_key)
    : capacity_(capacity),
      stream_key_(std::move(stream_key)),
      sequence_key_(std::move(sequence_key)),
      log_(capacity, 0) {}

std::vector<PresenceEvent> EventMirror::decode_entries(const Reply& entries) {
  std::vector<PresenceEvent> events;
  if (entries.is_nil()) return events;
  events.reserve(entries.as_array().size());
  for (const Reply& entry : entries.as_array()) events.push_back(decode_event(entry));
  return events;
}

bool EventMirror::absorb_stream(std::vector<PresenceEvent> events) {
  std::lock_guard lock(mutex_);
  return absorb_locked(events);
}

bool EventMirror::absorb_locked(std::vector<PresenceEvent>& events) {
  bool changed = false;
  for (PresenceEvent& event : events) {
    const std::uint64_t last = log_.last_sequence();
    if (event.sequence <= last) continue;
    // The read saw everything the stream holds after its start, so what lies between the
    // mirror's end and this event is no longer in Redis: start over just before it.
    if (event.sequence != last + 1) log_.reset(event.sequence - 1);
    (void)log_.insert(std::move(event));
    changed = true;
  }
  return changed;
}

bool EventMirror::catch_up(Connection& connection, std::uint64_t seen_before, std::uint64_t redis_last,
                           std::vector<PresenceEvent> produced) {
  if (redis_last < seen_before) {
    // The stream went backwards under us: its numbers now name other events.
    std::lock_guard lock(mutex_);
    if (log_.last_sequence() <= redis_last) return false;  // someone already dealt with it
    log_.reset(redis_last);
    return true;
  }
  const std::uint64_t last = log_.last_sequence();
  if (redis_last <= last) return false;
  if (!produced.empty() && produced.front().sequence == last + 1 && produced.back().sequence == redis_last) {
    return absorb_stream(std::move(produced));
  }
  // Events from other replicas came in between (the follower has not brought them yet): read
  // them, at most as many as the mirror holds.
  const std::uint64_t from = std::max(last + 1, redis_last >= capacity_ ? redis_last - capacity_ + 1 : 1);
  const Reply reply = connection.command(
      {"XRANGE", stream_key_, stream_id(from), stream_id(redis_last), "COUNT", fmt::format("{}", capacity_ + 1)});
  if (reply.is_error()) throw ConnectionError(fmt::format("redis {}: XRANGE: {}", connection.peer(), reply.text));
  return absorb_stream(decode_entries(reply));
}

bool EventMirror::verify_or_prime(Connection& connection) {
  const std::uint64_t last = log_.last_sequence();
  if (last != 0) {
    const auto replies =
        connection.pipeline({{"XRANGE", stream_key_, stream_id(last), stream_id(last)}, {"GET", sequence_key_}});
    if (replies[0].is_error())
      throw ConnectionError(fmt::format("redis {}: XRANGE: {}", connection.peer(), replies[0].text));
    const auto kept = log_.after(last - 1);
    const auto there = decode_entries(replies[0]);
    const bool has_last = kept && kept->size() == 1;
    if (has_last ? (there.size() == 1 && same_event(there.front(), kept->front()))
                 : replies[1].as_integer(0) >= static_cast<long long>(last)) {
      return false;  // the stream goes on from where the mirror ends
    }
  }
  prime(connection);
  return true;
}

void EventMirror::prime(Connection& connection) {
  const auto replies = connection.pipeline(
      {{"XREVRANGE", stream_key_, "+", "-", "COUNT", fmt::format("{}", std::max<std::size_t>(capacity_, 1))},
       {"GET", sequence_key_}});
  if (replies[0].is_error())
    throw ConnectionError(fmt::format("redis {}: XREVRANGE: {}", connection.peer(), replies[0].text));
  std::vector<PresenceEvent> events = decode_entries(replies[0]);
  std::reverse(events.begin(), events.end());
  const auto sequence = static_cast<std::uint64_t>(std::max<long long>(replies[1].as_integer(0), 0));
  std::lock_guard lock(mutex_);
  if (events.empty() || capacity_ == 0) {
    log_.reset(sequence);
    return;
  }
  log_.reset(events.front().sequence - 1);
  (void)absorb_locked(events);
}

}  // namespace pulse::presence::redis
