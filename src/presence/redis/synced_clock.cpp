// The Redis-synchronised clock: a monotonic reading, an atomic offset, and a ratchet.
#include "pulse/presence/redis/synced_clock.hpp"

#include <algorithm>
#include <mutex>

namespace pulse::presence::redis {
namespace {

std::int64_t steady_ns(SyncedClock::Steady::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

SyncedClock::SyncedClock()
    : offset_ns_(
          std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
              .count() -
          steady_ns(Steady::now())) {}

Time SyncedClock::now() const {
  const std::int64_t computed = steady_ns(Steady::now()) + offset_ns_.load(std::memory_order_relaxed);
  std::int64_t last = last_ns_.load(std::memory_order_relaxed);
  // The ratchet: whoever saw the later time publishes it; nobody returns less than it.
  while (computed > last && !last_ns_.compare_exchange_weak(last, computed, std::memory_order_relaxed)) {
  }
  const std::int64_t result = computed > last ? computed : last;
  return Time(std::chrono::duration_cast<Time::duration>(std::chrono::nanoseconds(result)));
}

void SyncedClock::sync(Time server_time, Steady::time_point sent, Steady::time_point received) noexcept {
  const std::int64_t server_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(server_time.time_since_epoch()).count();
  const std::int64_t round_trip = steady_ns(received) - steady_ns(sent);
  if (round_trip < 0) return;  // answered before it was asked: not a reading
  const std::int64_t half = round_trip / 2;
  // The true offset lies within half the round trip of this reading. An offset already in that
  // interval stays: readings that merely jitter by their round trips would otherwise move the
  // clock back and forth, and every step back shortens a duration measured across it. Outside,
  // it moves to the nearest end: the least correction that agrees with Redis.
  const std::int64_t reading = server_ns - (steady_ns(sent) + half);
  // Syncs come from any thread that opens a connection: one at a time, so that none is lost
  // between reading the offset and storing it, and the round trip matches the offset beside it.
  const std::lock_guard lock(sync_mutex_);
  std::int64_t offset = reading;
  if (synced_.load(std::memory_order_relaxed)) {
    offset = std::clamp(offset_ns_.load(std::memory_order_relaxed), reading - half, reading + half);
  }
  offset_ns_.store(offset, std::memory_order_relaxed);
  round_trip_ns_.store(round_trip, std::memory_order_relaxed);
  synced_.store(true, std::memory_order_relaxed);
}

}  // namespace pulse::presence::redis
