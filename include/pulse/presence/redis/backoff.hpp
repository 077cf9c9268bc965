// Backoff: how long to wait before the next attempt to reach Redis. Exponential (each failure
// doubles the wait, up to a ceiling) and jittered (replicas that lost Redis together do not all
// come back in the same millisecond).
//
// Not thread-safe: its owner (the pool, the follower) guards it.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace pulse::presence::redis {

inline constexpr std::chrono::milliseconds kBackoffInitial{100};
inline constexpr std::chrono::milliseconds kBackoffCeiling{5000};

class Backoff {
 public:
  explicit Backoff(std::chrono::milliseconds initial = kBackoffInitial,
                   std::chrono::milliseconds ceiling = kBackoffCeiling, std::uint64_t seed = std::random_device{}());

  // The wait after one more failure: a random point in [d/2, d], d = initial * 2^(failures - 1),
  // at most the ceiling.
  [[nodiscard]] std::chrono::milliseconds next();
  // After a success: the next failure waits `initial` again.
  void reset() noexcept { failures_ = 0; }
  [[nodiscard]] unsigned failures() const noexcept { return failures_; }

 private:
  const std::chrono::milliseconds initial_;
  const std::chrono::milliseconds ceiling_;
  std::mt19937_64 random_;
  unsigned failures_ = 0;
};

}  // namespace pulse::presence::redis
