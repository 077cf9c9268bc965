// Exponential back-off with "equal jitter": half the wait is fixed, half is random.
#include "pulse/presence/redis/backoff.hpp"

#include <algorithm>

namespace pulse::presence::redis {

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds ceiling, std::uint64_t seed)
    : initial_(initial), ceiling_(std::max(ceiling, initial)), random_(seed) {}

std::chrono::milliseconds Backoff::next() {
  // 2^20 times the initial wait is past any sensible ceiling: stop doubling there.
  const unsigned doublings = std::min(failures_, 20u);
  ++failures_;
  const auto nominal = std::min(ceiling_, initial_ * (std::int64_t{1} << doublings));
  const auto half = nominal / 2;
  std::uniform_int_distribution<std::int64_t> spread(0, (nominal - half).count());
  return half + std::chrono::milliseconds(spread(random_));
}

}  // namespace pulse::presence::redis
