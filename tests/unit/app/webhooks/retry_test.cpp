// Retry: verdicts per status, the full-jitter back-off schedule and the give-up limit, driven by
// chosen random values and clock readings (no waiting).
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <limits>

#include "pulse/app/webhooks/retry.hpp"

using namespace std::chrono_literals;
using pulse::app::webhooks::backoff;
using pulse::app::webhooks::next_attempt;
using pulse::app::webhooks::RetryPolicy;
using pulse::app::webhooks::Verdict;
using pulse::app::webhooks::verdict_of;

namespace {

constexpr std::uint64_t kHighest = std::numeric_limits<std::uint64_t>::max();

RetryPolicy policy() {
  return RetryPolicy{.base = 100ms, .max = 1000ms, .give_up = 10s, .max_retry_after = 5s};
}

}  // namespace

TEST_CASE("verdicts: 2xx sent, 5xx, 429, 408 and no answer retried, anything else failed", "[webhooks]") {
  CHECK(verdict_of(200) == Verdict::kSent);
  CHECK(verdict_of(204) == Verdict::kSent);
  CHECK(verdict_of(0) == Verdict::kRetry);
  CHECK(verdict_of(500) == Verdict::kRetry);
  CHECK(verdict_of(503) == Verdict::kRetry);
  CHECK(verdict_of(429) == Verdict::kRetry);
  CHECK(verdict_of(408) == Verdict::kRetry);  // Request Timeout: the receiver was slow, not unwilling
  CHECK(verdict_of(400) == Verdict::kFailed);
  CHECK(verdict_of(404) == Verdict::kFailed);
  CHECK(verdict_of(410) == Verdict::kFailed);
  CHECK(verdict_of(301) == Verdict::kFailed);
  CHECK(verdict_of(100) == Verdict::kFailed);
}

TEST_CASE("back-off: the ceiling doubles from the base up to the maximum", "[webhooks]") {
  // The largest random value reaches the ceiling exactly when it is one less than a multiple of
  // ceiling + 1; so pick random = ceiling, which always maps to the ceiling itself.
  CHECK(backoff(policy(), 0, 100) == 100ms);
  CHECK(backoff(policy(), 1, 200) == 200ms);
  CHECK(backoff(policy(), 2, 400) == 400ms);
  CHECK(backoff(policy(), 3, 800) == 800ms);
  CHECK(backoff(policy(), 4, 1000) == 1000ms);  // 1600 capped at 1000
  CHECK(backoff(policy(), 40, 1000) == 1000ms);
}

TEST_CASE("back-off: full jitter, anywhere from 0 to the ceiling", "[webhooks]") {
  CHECK(backoff(policy(), 0, 0) == 0ms);
  CHECK(backoff(policy(), 2, 0) == 0ms);
  CHECK(backoff(policy(), 0, 101) == 0ms);  // wraps: uniform over 0..100
  CHECK(backoff(policy(), 0, 57) == 57ms);
  for (std::uint64_t random : {std::uint64_t{1}, std::uint64_t{12345}, kHighest, kHighest / 3}) {
    for (unsigned retry = 0; retry < 100; ++retry) {
      const auto wait = backoff(policy(), retry, random);
      CHECK(wait >= 0ms);
      CHECK(wait <= 1000ms);
    }
  }
}

TEST_CASE("back-off: no overflow for huge retry counts and limits", "[webhooks]") {
  RetryPolicy huge{.base = 1ms, .max = std::chrono::milliseconds(std::numeric_limits<std::int64_t>::max() / 2)};
  CHECK(backoff(huge, 1000, kHighest) <= huge.max);
  CHECK(backoff(huge, 1000, kHighest) >= 0ms);
}

TEST_CASE("next attempt: after the back-off, or after Retry-After, until the give-up limit", "[webhooks]") {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point first{};
  // The back-off: retry 1 (ceiling 200 ms) with random 150.
  CHECK(next_attempt(policy(), first, first + 1s, 1, std::nullopt, 150) == first + 1s + 150ms);
  // Retry-After wins over the back-off, and is capped.
  CHECK(next_attempt(policy(), first, first + 1s, 1, 3000ms, 150) == first + 4s);
  CHECK(next_attempt(policy(), first, first + 1s, 1, 60'000ms, 150) == first + 6s);
  // Past the give-up limit (10 s after the first try): failed.
  CHECK(next_attempt(policy(), first, first + 9900ms, 5, std::nullopt, 50) == first + 9950ms);
  CHECK_FALSE(next_attempt(policy(), first, first + 9900ms, 5, std::nullopt, 200).has_value());
  CHECK_FALSE(next_attempt(policy(), first, first + 9s, 1, 3000ms, 0).has_value());
}

TEST_CASE("a receiver down for an hour stays within the default give-up limit", "[webhooks]") {
  // With the defaults (1 s base, 5 min maximum, 24 h give-up) and the longest waits every time,
  // an alert first tried at t=0 is still being retried after an hour, at most 5 min apart.
  const RetryPolicy defaults{};
  using Clock = std::chrono::steady_clock;
  const Clock::time_point first{};
  Clock::time_point at = first;
  unsigned retry = 0;
  while (at - first < 1h) {
    const auto next = next_attempt(defaults, first, at, retry, std::nullopt, kHighest);
    REQUIRE(next.has_value());
    CHECK(*next - at <= 5min);
    at = *next;
    ++retry;
  }
  CHECK(retry >= 12);  // an hour at 5 min apart at most
}
