// Retry: what one delivery attempt's answer means, and when the next attempt may go. Pure
// functions of their inputs (the random value, the clock reading), so the schedule is tested
// without waiting.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>

namespace pulse::app::webhooks {

enum class Verdict : std::uint8_t {
  kSent,    // 2xx: delivered
  kRetry,   // 5xx, 429, 408, a connection error or a timeout: try again later
  kFailed,  // any other answer (4xx, 3xx): the receiver refuses it; trying again will not help
};

// An HTTP status code's verdict. 0 stands for "no answer" (connection error, timeout).
[[nodiscard]] Verdict verdict_of(long status) noexcept;

struct RetryPolicy {
  std::chrono::milliseconds base{1000};
  std::chrono::milliseconds max{300'000};
  std::chrono::milliseconds give_up{86'400'000};  // after the first attempt
  std::chrono::milliseconds max_retry_after{3'600'000};
};

// The wait before retry number `retry` (0 for the first): full jitter, uniformly in
// [0, min(max, base * 2^retry)], drawn from `random` (any 64-bit value, e.g. from mt19937_64).
// Full jitter spreads the retries of many alerts that failed together (one receiver outage).
[[nodiscard]] std::chrono::milliseconds backoff(const RetryPolicy& policy, unsigned retry,
                                                std::uint64_t random) noexcept;

// When retry number `retry` of an alert first tried at `first_try` may go, at `now`: after the
// back-off, or after the receiver's Retry-After (429, 503) when it gave one (capped at
// max_retry_after). nullopt: past the give-up limit, the alert has failed.
template <typename TimePoint>
[[nodiscard]] std::optional<TimePoint> next_attempt(const RetryPolicy& policy, TimePoint first_try, TimePoint now,
                                                    unsigned retry,
                                                    std::optional<std::chrono::milliseconds> retry_after,
                                                    std::uint64_t random) noexcept {
  const std::chrono::milliseconds wait =
      retry_after ? std::min(*retry_after, policy.max_retry_after) : backoff(policy, retry, random);
  const TimePoint at = now + wait;
  if (at - first_try > policy.give_up) return std::nullopt;
  return at;
}

}  // namespace pulse::app::webhooks
