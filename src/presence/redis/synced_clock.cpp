// The Redis-synchronised clock: a monotonic reading, an atomic offset, and a ratchet.
#include "pulse/presence/redis/synced_clock.hpp"

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
  const std::int64_t midpoint = steady_ns(sent) + (steady_ns(received) - steady_ns(sent)) / 2;
  offset_ns_.store(server_ns - midpoint, std::memory_order_relaxed);
  round_trip_ns_.store(steady_ns(received) - steady_ns(sent), std::memory_order_relaxed);
  synced_.store(true, std::memory_order_relaxed);
}

}  // namespace pulse::presence::redis
