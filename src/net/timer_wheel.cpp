// TimerWheel: deadlines hashed into slots by tick, each slot an intrusive list of entries.
#include "pulse/net/timer_wheel.hpp"

#include <algorithm>
#include <cassert>

namespace pulse::net {

bool TimerWheel::Entry::cancel() noexcept {
  if (wheel_ == nullptr) return false;
  wheel_->unlink(*this);
  return true;
}

TimerWheel::OwnedTimer::OwnedTimer(TimerWheel& owner, TimerId timer_id, Callback timer_callback)
    : wheel(owner), id(timer_id), callback(std::move(timer_callback)), entry(&TimerWheel::fire_owned, this) {}

TimerWheel::TimerWheel(TimePoint now, std::chrono::milliseconds tick, std::size_t slots)
    : origin_(now), tick_(tick), slots_(slots, nullptr) {
  assert(tick.count() > 0 && slots > 0);
}

TimerWheel::~TimerWheel() {
  // Entries embedded in objects that outlive the wheel must not reach back into it.
  const auto release = [](Entry* entry) {
    while (entry != nullptr) {
      Entry* next = entry->next_;
      entry->pprev_ = nullptr;
      entry->next_ = nullptr;
      entry->wheel_ = nullptr;
      entry = next;
    }
  };
  for (Entry* head : slots_) release(head);
  release(firing_);
}

std::uint64_t TimerWheel::tick_of(TimePoint t) const {
  if (t <= origin_) return 0;
  // Round up: a timer never fires before its deadline.
  const auto elapsed = t - origin_;
  const auto ticks = (elapsed + tick_ - base::MonotonicClock::duration(1)) / tick_;
  return static_cast<std::uint64_t>(ticks);
}

void TimerWheel::link(Entry*& head, Entry& entry) noexcept {
  entry.next_ = head;
  entry.pprev_ = &head;
  if (head != nullptr) head->pprev_ = &entry.next_;
  head = &entry;
}

void TimerWheel::unlink(Entry& entry) noexcept {
  *entry.pprev_ = entry.next_;
  if (entry.next_ != nullptr) entry.next_->pprev_ = entry.pprev_;
  entry.pprev_ = nullptr;
  entry.next_ = nullptr;
  entry.wheel_ = nullptr;
  --size_;
}

void TimerWheel::schedule(Entry& entry, TimePoint deadline) noexcept {
  if (entry.wheel_ != nullptr) {
    entry.cancel();  // from wherever it waits, this wheel or another
  }
  entry.wheel_ = this;
  ++size_;
  entry.deadline_ = deadline;
  // A deadline already due goes into the next slot to be processed.
  const std::uint64_t tick = std::max(tick_of(deadline), current_tick_);
  link(slots_[tick % slots_.size()], entry);
  if (first_busy_tick_ && tick < *first_busy_tick_) first_busy_tick_ = tick;
}

TimerWheel::TimerId TimerWheel::schedule(TimePoint deadline, Callback callback) {
  const TimerId id = next_id_++;
  auto owned = std::make_unique<OwnedTimer>(*this, id, std::move(callback));
  schedule(owned->entry, deadline);
  owned_.emplace(id, std::move(owned));
  return id;
}

bool TimerWheel::cancel(TimerId id) {
  // Erasing destroys the entry, which unlinks it.
  return owned_.erase(id) > 0;
}

void TimerWheel::fire_owned(void* context) {
  auto* timer = static_cast<OwnedTimer*>(context);
  TimerWheel& wheel = timer->wheel;
  Callback callback = std::move(timer->callback);
  wheel.owned_.erase(timer->id);  // fired: cancel() now says so
  callback();
}

void TimerWheel::advance(TimePoint now) {
  const std::uint64_t target = tick_of(now);
  // Process every tick up to `target`, but never walk the wheel more than once around:
  // past one revolution every slot has been visited.
  std::uint64_t last = target;
  if (target >= current_tick_ + slots_.size()) last = current_tick_ + slots_.size() - 1;

  due_.clear();
  for (std::uint64_t tick = current_tick_; tick <= last; ++tick) {
    const std::size_t slot_begin = due_.size();
    for (Entry* entry = slots_[tick % slots_.size()]; entry != nullptr; entry = entry->next_) {
      if (entry->deadline_ <= now) due_.push_back(entry);  // else: a later revolution of the wheel
    }
    // A slot lists its newest entry first: restore the order they were scheduled in.
    std::reverse(due_.begin() + static_cast<std::ptrdiff_t>(slot_begin), due_.end());
  }
  current_tick_ = target + 1 > current_tick_ ? target : current_tick_;
  // Slots past `last` were not touched, and entries kept for a later revolution come back only
  // one revolution on, after the known first busy tick: it stays right unless it was processed now.
  if (first_busy_tick_ && *first_busy_tick_ <= last) first_busy_tick_.reset();
  if (due_.empty()) return;

  std::stable_sort(due_.begin(), due_.end(),
                   [](const Entry* a, const Entry* b) { return a->deadline_ < b->deadline_; });
  // Into the firing list, in firing order (linked from the back): a callback that cancels or
  // destroys an entry still due takes it out of that list, so none fires after its cancel.
  for (auto it = due_.rbegin(); it != due_.rend(); ++it) {
    Entry& entry = **it;
    *entry.pprev_ = entry.next_;
    if (entry.next_ != nullptr) entry.next_->pprev_ = entry.pprev_;
    link(firing_, entry);
  }
  due_.clear();
  while (firing_ != nullptr) {
    Entry& entry = *firing_;
    unlink(entry);
    entry.fire_(entry.context_);  // may destroy `entry`: not touched after this
  }
}

std::optional<std::chrono::milliseconds> TimerWheel::time_until_next(TimePoint now) const {
  if (size_ == 0) return std::nullopt;
  // Find the first non-empty slot from the current tick on: O(slots) at worst, independent of
  // the number of timers.
  if (!first_busy_tick_) {
    for (std::uint64_t step = 0; step < slots_.size(); ++step) {
      const std::uint64_t tick = current_tick_ + step;
      if (slots_[tick % slots_.size()] != nullptr) {
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
