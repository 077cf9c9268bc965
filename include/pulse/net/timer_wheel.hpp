// TimerWheel: a hashed timing wheel for connection deadlines. Owned by one EventLoop; not thread-safe.
//
// Two ways in. An Entry is intrusive: its owner (a connection's deadline timer) embeds it, and
// scheduling, moving and cancelling it allocate nothing; it costs 48 bytes inside its owner, not
// a map node and a callback of its own per timer. schedule(deadline, callback) is for the few
// one-off timers (a log flush, an accept pause): it allocates an owned entry per call.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "pulse/base/monotonic_clock.hpp"

namespace pulse::net {

class TimerWheel {
 public:
  using TimerId = std::uint64_t;
  using Callback = std::function<void()>;
  using TimePoint = base::MonotonicClock::time_point;

  static constexpr std::chrono::milliseconds kDefaultTick{10};
  static constexpr std::size_t kDefaultSlots = 1024;

  // A timer its owner embeds. Unlinked before `fire(context)` runs, so the callback may
  // schedule it again or destroy it. Destroying a scheduled entry cancels it; a wheel destroyed
  // first unschedules its entries. Used on the wheel's thread only.
  class Entry {
   public:
    using Fire = void (*)(void* context);
    Entry(Fire fire, void* context) noexcept : fire_(fire), context_(context) {}
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;
    ~Entry() { cancel(); }

    [[nodiscard]] bool scheduled() const noexcept { return wheel_ != nullptr; }
    // The deadline it was last scheduled for.
    [[nodiscard]] TimePoint deadline() const noexcept { return deadline_; }
    // Returns false when it was not scheduled (fired already, or never scheduled).
    bool cancel() noexcept;

   private:
    friend class TimerWheel;
    Entry** pprev_ = nullptr;  // the pointer that points at this entry (a slot's head or a `next_`)
    Entry* next_ = nullptr;
    TimerWheel* wheel_ = nullptr;  // set exactly while scheduled
    TimePoint deadline_{};
    Fire fire_;
    void* context_;
  };

  explicit TimerWheel(TimePoint now, std::chrono::milliseconds tick = kDefaultTick, std::size_t slots = kDefaultSlots);
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;
  ~TimerWheel();

  // Runs the entry's callback from advance() once `deadline` has passed; an entry already
  // scheduled moves to the new deadline. Deadlines in the past fire at the next advance().
  void schedule(Entry& entry, TimePoint deadline) noexcept;

  // A one-off timer with a callback of its own. Returns an id for cancel().
  TimerId schedule(TimePoint deadline, Callback callback);
  // Returns false when the timer already fired or was cancelled.
  bool cancel(TimerId id);

  // Fires every timer whose deadline is <= now, in deadline order (equal deadlines in the order
  // they were scheduled). Callbacks may schedule and cancel timers (including themselves).
  void advance(TimePoint now);
  // How long until the earliest pending deadline (zero if due), or nullopt when empty.
  // Used as the epoll_wait timeout, rounded up to the tick.
  [[nodiscard]] std::optional<std::chrono::milliseconds> time_until_next(TimePoint now) const;
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  struct OwnedTimer {
    OwnedTimer(TimerWheel& wheel, TimerId id, Callback callback);
    TimerWheel& wheel;
    TimerId id;
    Callback callback;
    Entry entry;
  };

  [[nodiscard]] std::uint64_t tick_of(TimePoint t) const;
  static void link(Entry*& head, Entry& entry) noexcept;
  void unlink(Entry& entry) noexcept;
  static void fire_owned(void* context);

  TimePoint origin_;
  std::chrono::milliseconds tick_;
  std::vector<Entry*> slots_;  // each the head of a list of entries
  Entry* firing_ = nullptr;    // during advance(): the entries due, in firing order
  std::vector<Entry*> due_;    // advance()'s scratch, kept to save an allocation per call
  std::size_t size_ = 0;
  std::unordered_map<TimerId, std::unique_ptr<OwnedTimer>> owned_;
  std::uint64_t current_tick_ = 0;  // every tick < current_tick_ has been processed
  // The first tick from current_tick_ on whose slot is not empty, when known: time_until_next()
  // runs before every epoll_wait, and scanning up to 1024 empty slots each time (keep-alive
  // deadlines lie 15 s, 1500 ticks, ahead) was 3% of the CPU of a short-connection load.
  mutable std::optional<std::uint64_t> first_busy_tick_;
  TimerId next_id_ = 1;
};

}  // namespace pulse::net
