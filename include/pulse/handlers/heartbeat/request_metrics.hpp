// RequestMetrics: what this process's heartbeat API saw, for /metrics: requests the store
// recorded, by signal, and how long the job runs they ended took (a histogram). The store's own
// counters (beats, transitions) are cluster-wide with a shared store; these are per replica.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "pulse/presence/presence_store.hpp"

namespace pulse::handlers::heartbeat {

inline constexpr std::size_t kSignalCount = 8;
inline constexpr std::array<presence::Signal, kSignalCount> kAllSignals{
    presence::Signal::kBeat,  presence::Signal::kStart, presence::Signal::kFail,  presence::Signal::kExit,
    presence::Signal::kPause, presence::Signal::kHold,  presence::Signal::kAlive, presence::Signal::kRelease};

// Upper bounds of the run-duration histogram's buckets: jobs last from a second (a quick cron
// task) to a day (a nightly backup that ran long); beyond, +Inf.
inline constexpr std::array<std::chrono::seconds, 13> kRunDurationBuckets{
    std::chrono::seconds(1),    std::chrono::seconds(5),    std::chrono::seconds(10),    std::chrono::seconds(30),
    std::chrono::seconds(60),   std::chrono::seconds(300),  std::chrono::seconds(600),   std::chrono::seconds(1800),
    std::chrono::seconds(3600), std::chrono::seconds(7200), std::chrono::seconds(21600), std::chrono::seconds(43200),
    std::chrono::seconds(86400)};

// Thread-safe (relaxed atomics): any worker or store thread records, /metrics reads.
class RequestMetrics {
 public:
  // A request the store answered: counted by signal when it was recorded (accepted), and its
  // run's duration observed when it ended one.
  void on_result(presence::Signal signal, const presence::BeatResult& result) noexcept;

  struct Snapshot {
    std::array<std::uint64_t, kSignalCount> by_signal{};  // in kAllSignals order
    // Runs per bucket, not cumulative: [i] for durations in (bound[i-1], bound[i]]; the last
    // for those above every bound.
    std::array<std::uint64_t, kRunDurationBuckets.size() + 1> run_buckets{};
    std::chrono::milliseconds run_time{0};  // the sum of every duration observed
  };
  // Each value is read atomically, not all of them at one instant (as Prometheus allows).
  [[nodiscard]] Snapshot snapshot() const noexcept;

 private:
  std::array<std::atomic<std::uint64_t>, kSignalCount> by_signal_{};
  std::array<std::atomic<std::uint64_t>, kRunDurationBuckets.size() + 1> run_buckets_{};
  std::atomic<std::int64_t> run_time_ms_{0};
};

}  // namespace pulse::handlers::heartbeat
