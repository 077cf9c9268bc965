// TimerWheel: a hashed timing wheel for connection deadlines. Owned by one EventLoop; not thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>
#include <vector>

#include "pulse/base/monotonic_clock.hpp"

namespace pulse::net {

class TimerWheel {
 public:
  using TimerId = std::uint64_t;
  using Callback = std::function<void()>;

  static constexpr std::chrono::milliseconds kDefaultTick{10};
  static constexpr std::size_t kDefaultSlots = 1024;

  explicit TimerWheel(base::MonotonicClock::time_point now, std::chrono::milliseconds tick = kDefaultTick,
                      std::size_t slots = kDefaultSlots);

  // Runs `callback` from advance() once `deadline` has passed. Deadlines in the past fire
  // at the next advance(). Returns an id for cancel().
  TimerId schedule(base::MonotonicClock::time_point deadline, Callback callback);
  // Returns false when the timer already fired or was cancelled.
  bool cancel(TimerId id);

  // Fires every timer whose deadline is <= now, in deadline order. Callbacks may schedule
  // and cancel timers (including themselves).
  void advance(base::MonotonicClock::time_point now);

  // How long until the earliest pending deadline (zero if due), or nullopt when empty.
  // Used as the epoll_wait timeout, rounded up to the tick.
  [[nodiscard]] std::optional<std::chrono::milliseconds> time_until_next(base::MonotonicClock::time_point now) const;

  [[nodiscard]] std::size_t size() const noexcept { return timers_.size(); }

 private:
  struct Timer {
    base::MonotonicClock::time_point deadline;
    Callback callback;
  };

  [[nodiscard]] std::uint64_t tick_of(base::MonotonicClock::time_point t) const;

  base::MonotonicClock::time_point origin_;
  std::chrono::milliseconds tick_;
  std::vector<std::vector<TimerId>> slots_;
  std::unordered_map<TimerId, Timer> timers_;
  std::uint64_t current_tick_ = 0;  // every tick < current_tick_ has been processed
  // The first tick from current_tick_ on whose slot is not empty, when known: time_until_next()
  // runs before every epoll_wait, and scanning up to 1024 empty slots each time (keep-alive
  // deadlines lie 15 s, 1500 ticks, ahead) was 3% of the CPU of a short-connection load.
  mutable std::optional<std::uint64_t> first_busy_tick_;
  TimerId next_id_ = 1;
};

}  // namespace pulse::net
