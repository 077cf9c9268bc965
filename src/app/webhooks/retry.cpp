// Retry: verdicts and the back-off schedule.
#include "pulse/app/webhooks/retry.hpp"

namespace pulse::app::webhooks {

Verdict verdict_of(long status) noexcept {
  if (status >= 200 && status < 300) return Verdict::kSent;
  // No answer, the receiver's trouble, "too many requests", or "request timeout" (the receiver
  // gave up waiting for this request, RFC 9110 15.5.9, and the same request may be repeated): a
  // later try may work.
  if (status == 0 || status >= 500 || status == 429 || status == 408) return Verdict::kRetry;
  return Verdict::kFailed;
}

std::chrono::milliseconds backoff(const RetryPolicy& policy, unsigned retry, std::uint64_t random) noexcept {
  using std::chrono::milliseconds;
  const std::int64_t base = std::max<std::int64_t>(policy.base.count(), 1);
  const std::int64_t max = std::max<std::int64_t>(policy.max.count(), 0);
  // base * 2^retry, stopping at max before it can overflow.
  std::int64_t ceiling = base;
  for (unsigned i = 0; i < retry && ceiling < max; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, max);
  return milliseconds(static_cast<std::int64_t>(random % (static_cast<std::uint64_t>(ceiling) + 1)));
}

}  // namespace pulse::app::webhooks
