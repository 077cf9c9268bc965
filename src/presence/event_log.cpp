// EventLog: a bounded, numbered history of presence events.
#include "pulse/presence/event_log.hpp"

#include <utility>

namespace pulse::presence {

EventLog::EventLog(std::size_t capacity, std::uint64_t start_sequence)
    : capacity_(capacity), start_sequence_(start_sequence), last_sequence_(start_sequence) {}

std::uint64_t EventLog::append(PresenceEvent event) {
  std::lock_guard lock(mutex_);
  event.sequence = last_sequence_ + 1;
  keep(std::move(event));
  return last_sequence_;
}

Placement EventLog::insert(PresenceEvent event) {
  std::lock_guard lock(mutex_);
  if (event.sequence <= last_sequence_) return Placement::kAlreadyKept;
  if (event.sequence != last_sequence_ + 1) return Placement::kGap;
  keep(std::move(event));
  return Placement::kAppended;
}

void EventLog::keep(PresenceEvent event) {
  last_sequence_ = event.sequence;
  if (capacity_ == 0) return;
  if (events_.size() == capacity_) events_.pop_front();
  events_.push_back(std::move(event));
}

void EventLog::reset(std::uint64_t last_sequence) {
  std::lock_guard lock(mutex_);
  events_.clear();
  start_sequence_ = last_sequence;
  last_sequence_ = last_sequence;
}

std::optional<std::vector<PresenceEvent>> EventLog::after(std::uint64_t sequence) const {
  std::lock_guard lock(mutex_);
  if (sequence < start_sequence_ || sequence > last_sequence_) return std::nullopt;
  // Sequences in events_ are consecutive and end at last_sequence_.
  const std::uint64_t missing = last_sequence_ - sequence;
  if (missing > events_.size()) return std::nullopt;
  const auto first = events_.end() - static_cast<std::ptrdiff_t>(missing);
  return std::vector<PresenceEvent>(first, events_.end());
}

std::uint64_t EventLog::last_sequence() const {
  std::lock_guard lock(mutex_);
  return last_sequence_;
}

std::size_t EventLog::size() const {
  std::lock_guard lock(mutex_);
  return events_.size();
}

}  // namespace pulse::presence
