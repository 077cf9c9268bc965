// Clock: the time source a presence store reads, injected so tests move time by hand.
//
// Every time a store hands out is a wall-clock instant (Time, Unix epoch), so that replicas on
// different machines can share deadlines. A store never reads the raw wall clock: SystemClock is
// the wall clock read once at start-up and then advanced by the monotonic clock, so a clock step
// (NTP, a person) never makes a client late or down, and time never runs backwards.
#pragma once

#include <atomic>
#include <chrono>

namespace pulse::presence {

using Time = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  // Never goes backwards. Decides every state change; never trusts a client.
  [[nodiscard]] virtual Time now() const = 0;
};

// The wall clock at construction, moved on by the monotonic clock.
class SystemClock final : public Clock {
 public:
  SystemClock() : wall_start_(std::chrono::system_clock::now()), mono_start_(std::chrono::steady_clock::now()) {}
  [[nodiscard]] Time now() const override {
    return wall_start_ +
           std::chrono::duration_cast<Time::duration>(std::chrono::steady_clock::now() - mono_start_);
  }

 private:
  const Time wall_start_;
  const std::chrono::steady_clock::time_point mono_start_;
};

// A clock for tests: starts at kWallStart and moves only when told. Thread-safe.
class ManualClock final : public Clock {
 public:
  [[nodiscard]] Time now() const override {
    return Time(std::chrono::duration_cast<Time::duration>(kWallStart + std::chrono::nanoseconds(offset_ns_.load())));
  }
  void advance(std::chrono::nanoseconds by) { offset_ns_.fetch_add(by.count()); }

  // 2026-01-01T00:00:00Z, so times in test output are readable.
  static constexpr std::chrono::seconds kWallStart{1767225600};

 private:
  std::atomic<std::chrono::nanoseconds::rep> offset_ns_{0};
};

}  // namespace pulse::presence
