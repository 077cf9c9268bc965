// RequestMetrics: relaxed counters; the histogram keeps per-bucket counts and makes them
// cumulative only when rendered.
#include "pulse/handlers/heartbeat/request_metrics.hpp"

#include <algorithm>

namespace pulse::handlers::heartbeat {

void RequestMetrics::on_result(presence::Signal signal, const presence::BeatResult& result) noexcept {
  if (result.accepted()) {
    const auto index = static_cast<std::size_t>(signal);
    if (index < by_signal_.size()) by_signal_[index].fetch_add(1, std::memory_order_relaxed);
  }
  if (!result.run_duration) return;
  const auto duration = std::max(*result.run_duration, std::chrono::milliseconds(0));
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(kRunDurationBuckets.begin(), kRunDurationBuckets.end(), duration) - kRunDurationBuckets.begin());
  run_buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  run_time_ms_.fetch_add(duration.count(), std::memory_order_relaxed);
}

RequestMetrics::Snapshot RequestMetrics::snapshot() const noexcept {
  Snapshot snapshot;
  for (std::size_t i = 0; i < by_signal_.size(); ++i)
    snapshot.by_signal[i] = by_signal_[i].load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < run_buckets_.size(); ++i) {
    snapshot.run_buckets[i] = run_buckets_[i].load(std::memory_order_relaxed);
  }
  snapshot.run_time = std::chrono::milliseconds(run_time_ms_.load(std::memory_order_relaxed));
  return snapshot;
}

}  // namespace pulse::handlers::heartbeat
