// DeadlineTimer: one timer-wheel entry chasing a deadline that moves with every request. It is
// re-armed only when the deadline moves earlier; a later one is picked up when the timer fires
// and its owner re-checks, so most updates cost no timer work. The entry is embedded (no
// allocation per timer or per re-arm). Owned by one connection, on its loop thread.
#pragma once

#include "pulse/base/monotonic_clock.hpp"
#include "pulse/net/timer_wheel.hpp"

namespace pulse::http {

class DeadlineTimer {
 public:
  // `fire(context)` runs from the wheel when the timer is due; the timer is disarmed by then.
  DeadlineTimer(net::TimerWheel::Entry::Fire fire, void* context) noexcept : entry_(fire, context) {}

  // Makes sure the timer fires no later than `at` (time_point::max(): not at all).
  void chase(net::TimerWheel& wheel, base::MonotonicClock::time_point at) noexcept {
    if (at == base::MonotonicClock::time_point::max()) return cancel();
    if (entry_.scheduled() && entry_.deadline() <= at) return;
    wheel.schedule(entry_, at);
  }
  void cancel() noexcept { (void)entry_.cancel(); }
  [[nodiscard]] bool armed() const noexcept { return entry_.scheduled(); }

 private:
  net::TimerWheel::Entry entry_;
};

}  // namespace pulse::http
