// TimerWheel: deadlines hashed into slots by tick; cancelled timers are dropped lazily.
#include "pulse/net/timer_wheel.hpp"

#include <algorithm>
#include <cassert>

namespace pulse::net {

TimerWheel::TimerWheel(base::MonotonicClock::time_point now, std::chrono::milliseconds tick, std::size_t slots)
    : origin_(now), tick_(tick), slots_(slots) {
  assert(tick.count() > 0 && slots > 0);
}

std::uint64_t TimerWheel::tick_of(base::MonotonicClock::time_point t) const {
  if (t <= origin_) return 0;
  // Round up: a timer never fires before its deadline.
  const auto elapsed = t - origin_;
  const auto ticks = (elapsed + tick_ - base::MonotonicClock::duration(1)) / tick_;
  return static_cast<std::uint64_t>(ticks);
}

TimerWheel::TimerId TimerWheel::schedule(base::MonotonicClock::time_point deadline, Callback callback) {
  const TimerId id = next_id_++;
  // A deadline already due goes into the next slot to be processed.
  const std::uint64_t tick = std::max(tick_of(deadline), current_tick_);
  slots_[tick % slots_.size()].push_back(id);
  timers_.emplace(id, Timer{deadline, std::move(callback)});
  if (first_busy_tick_ && tick < *first_busy_tick_) first_busy_tick_ = tick;
  return id;
}

bool TimerWheel::cancel(TimerId id) {
  return timers_.erase(id) > 0;
}

void TimerWheel::advance(base::MonotonicClock::time_point now) {
  const std::uint64_t target = tick_of(now);
  // Process every tick up to `target`, but never walk the wheel more than once around:
  // past one revolution every slot has been visited.
  std::uint64_t last = target;
  if (target >= current_tick_ + slots_.size()) last = current_tick_ + slots_.size() - 1;

  std::vector<std::pair<base::MonotonicClock::time_point, TimerId>> due;
  for (std::uint64_t tick = current_tick_; tick <= last; ++tick) {
    auto& slot = slots_[tick % slots_.size()];
    auto keep = slot.begin();
    for (TimerId id : slot) {
      auto it = timers_.find(id);
      if (it == timers_.end()) continue;  // cancelled: drop lazily
      if (it->second.deadline <= now) {
        due.emplace_back(it->second.deadline, id);
      } else {
        *keep++ = id;  // a later revolution of the wheel
      }
    }
    slot.erase(keep, slot.end());
  }
  current_tick_ = target + 1 > current_tick_ ? target : current_tick_;
  // Slots past `last` were not touched, and ids kept for a later revolution come back only one
  // revolution on, after the known first busy tick: it stays right unless it was processed now.
  if (first_busy_tick_ && *first_busy_tick_ <= last) first_busy_tick_.reset();

  std::sort(due.begin(), due.end());
  for (const auto& [deadline, id] : due) {
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;  // cancelled by an earlier callback
    Callback callback = std::move(it->second.callback);
    timers_.erase(it);
    callback();
  }
}

std::optional<std::chrono::milliseconds> TimerWheel::time_until_next(base::MonotonicClock::time_point now) const {
  if (timers_.empty()) return std::nullopt;
  // Find the first non-empty slot from the current tick on: O(slots) at worst, independent of
  // the number of timers. A slot may hold only cancelled ids; waking for it is harmless.
  if (!first_busy_tick_) {
    for (std::uint64_t step = 0; step < slots_.size(); ++step) {
      const std::uint64_t tick = current_tick_ + step;
      if (!slots_[tick % slots_.size()].empty()) {
        first_busy_tick_ = tick;
        break;
      }
    }
  }
  if (first_busy_tick_) {
    const std::uint64_t tick = std::max(*first_busy_tick_, current_tick_);
    const auto at = origin_ + tick * tick_;
    if (at <= now) return std::chrono::milliseconds(0);
    return std::chrono::ceil<std::chrono::milliseconds>(at - now);
  }
  return tick_ * static_cast<std::int64_t>(slots_.size());
}

}  // namespace pulse::net
