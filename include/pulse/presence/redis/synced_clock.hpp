// SyncedClock: this process's idea of Redis's clock, so that every replica stamps beats and
// deadlines on one time line.
//
// now() is the local monotonic clock plus an offset learned from Redis TIME: the offset is the
// server's time minus the midpoint of the local send and receive instants. So the error of one
// reading is at most half its round trip (Redis answered at some instant between the two), and
// between readings it grows by the local clock's drift (ppm: microseconds per 250 ms sweep).
// Two replicas therefore disagree by at most half of each one's round trip plus their drift
// since the last sync; on one LAN that is well under a millisecond, against deadlines of seconds.
//
// A later reading moves the offset only when it disagrees by more than its own half round trip,
// and then only to the edge of that bound: on one machine or LAN the offset settles instead of
// following each reading's jitter (which, under load, is milliseconds).
//
// Before the first sync the offset comes from the local wall clock. now() never goes
// backwards: a new offset that would move it back is absorbed by holding time until the clock
// catches up. Thread-safe: any thread may call now() and sync().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>

#include "pulse/presence/clock.hpp"

namespace pulse::presence::redis {

class SyncedClock final : public Clock {
 public:
  using Steady = std::chrono::steady_clock;

  SyncedClock();

  [[nodiscard]] Time now() const override;

  // Redis said `server_time` in answer to a TIME sent at `sent` and answered at `received`.
  void sync(Time server_time, Steady::time_point sent, Steady::time_point received) noexcept;

  [[nodiscard]] bool synced() const noexcept { return synced_.load(std::memory_order_relaxed); }
  // The round trip of the last sync: twice the bound on its error.
  [[nodiscard]] std::chrono::nanoseconds last_round_trip() const noexcept {
    return std::chrono::nanoseconds(round_trip_ns_.load(std::memory_order_relaxed));
  }

 private:
  // Nanoseconds: Time since the epoch minus the steady clock's reading.
  std::atomic<std::int64_t> offset_ns_;
  std::atomic<std::int64_t> round_trip_ns_{0};
  std::atomic<bool> synced_{false};
  mutable std::atomic<std::int64_t> last_ns_{0};  // the latest now() handed out
  std::mutex sync_mutex_;                          // one sync() at a time; now() never takes it
};

}  // namespace pulse::presence::redis
