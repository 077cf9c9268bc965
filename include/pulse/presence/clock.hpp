// Clock: the time source the presence registry reads, injected so tests move time by hand.
#pragma once

#include <atomic>
#include <chrono>

namespace pulse::presence {

class Clock {
 public:
  using Monotonic = std::chrono::steady_clock;
  using Wall = std::chrono::system_clock;

  virtual ~Clock() = default;
  // Decides every state change: never goes backwards, never trusts a client.
  [[nodiscard]] virtual Monotonic::time_point now() const = 0;
  // Only for display (server_time, last_beat as ISO 8601).
  [[nodiscard]] virtual Wall::time_point wall_now() const = 0;
};

class SystemClock final : public Clock {
 public:
  [[nodiscard]] Monotonic::time_point now() const override { return Monotonic::now(); }
  [[nodiscard]] Wall::time_point wall_now() const override { return Wall::now(); }
};

// A clock for tests: starts at an arbitrary instant and moves only when told. Thread-safe.
class ManualClock final : public Clock {
 public:
  [[nodiscard]] Monotonic::time_point now() const override {
    return Monotonic::time_point(std::chrono::nanoseconds(offset_ns_.load()));
  }
  // Starts at kWallStart and moves with now().
  [[nodiscard]] Wall::time_point wall_now() const override {
    const std::chrono::nanoseconds since_start{offset_ns_.load() - kMonotonicStart.count()};
    return Wall::time_point(std::chrono::duration_cast<Wall::duration>(kWallStart + since_start));
  }
  void advance(std::chrono::nanoseconds by) { offset_ns_.fetch_add(by.count()); }

  // 2026-01-01T00:00:00Z, so wall times in test output are readable.
  static constexpr std::chrono::seconds kWallStart{1767225600};

 private:
  // Far from zero, so code that subtracts durations from "now" never underflows the epoch.
  static constexpr std::chrono::nanoseconds kMonotonicStart = std::chrono::hours(1000);
  std::atomic<std::chrono::nanoseconds::rep> offset_ns_{kMonotonicStart.count()};
};

// A (monotonic, wall) pair read at one instant. The registry keeps monotonic times only; this
// turns them into wall-clock times for display (and back, for the state file), so every time in
// one response is rendered against the same "now" and a wall-clock step moves them all together.
struct TimeBase {
  Clock::Monotonic::time_point mono;
  Clock::Wall::time_point wall;

  [[nodiscard]] static TimeBase now(const Clock& clock) { return {clock.now(), clock.wall_now()}; }
  [[nodiscard]] Clock::Wall::time_point to_wall(Clock::Monotonic::time_point t) const {
    return wall + std::chrono::duration_cast<Clock::Wall::duration>(t - mono);
  }
  [[nodiscard]] Clock::Monotonic::time_point to_monotonic(Clock::Wall::time_point t) const {
    return mono + std::chrono::duration_cast<Clock::Monotonic::duration>(t - wall);
  }
};

}  // namespace pulse::presence
