// DeadlineTimer: one timer-wheel entry chasing a deadline that moves with every request. It is
// re-armed only when the deadline moves earlier; a later one is picked up when the timer fires
// and its owner re-checks, so most updates cost no timer work. Owned by one connection, on its
// loop thread.
#pragma once

#include <optional>

#include "pulse/base/monotonic_clock.hpp"
#include "pulse/net/timer_wheel.hpp"

namespace pulse::http {

class DeadlineTimer {
 public:
  // Makes sure a timer fires no later than `at` (time_point::max(): none). `make_callback()`
  // gives the wheel's callback and is called only when a timer is scheduled.
  template <typename MakeCallback>
  void chase(net::TimerWheel& wheel, base::MonotonicClock::time_point at, MakeCallback&& make_callback) {
    if (at == base::MonotonicClock::time_point::max()) return cancel(wheel);
    if (id_ && at_ <= at) return;
    cancel(wheel);
    at_ = at;
    id_ = wheel.schedule(at, make_callback());
  }
  void cancel(net::TimerWheel& wheel) {
    if (id_) wheel.cancel(*id_);
    id_.reset();
  }
  // Called from the callback: the wheel has dropped the timer.
  void fired() noexcept { id_.reset(); }
  [[nodiscard]] bool armed() const noexcept { return id_.has_value(); }

 private:
  std::optional<net::TimerWheel::TimerId> id_;
  base::MonotonicClock::time_point at_{};
};

}  // namespace pulse::http
