// EventLog: numbers presence events and keeps the most recent ones, so a watcher that
// reconnects (SSE Last-Event-ID) is sent what it missed instead of a whole snapshot.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "pulse/presence/presence_store.hpp"

namespace pulse::presence {

class EventLog {
 public:
  // `start_sequence` is the last sequence "before" this log: the first event gets the next one.
  EventLog(std::size_t capacity, std::uint64_t start_sequence);

  // Any thread. Gives `event` the next sequence number, keeps it (dropping the oldest beyond the
  // capacity) and returns the number.
  std::uint64_t append(PresenceEvent event);

  // Any thread. The events after `sequence`, oldest first; nullopt when some of them were
  // already dropped, or `sequence` was never issued by this log.
  [[nodiscard]] std::optional<std::vector<PresenceEvent>> after(std::uint64_t sequence) const;
  [[nodiscard]] std::uint64_t last_sequence() const;
  // Any thread. The events kept: at most the capacity.
  [[nodiscard]] std::size_t size() const;

 private:
  const std::size_t capacity_;
  const std::uint64_t start_sequence_;
  mutable std::mutex mutex_;
  std::deque<PresenceEvent> events_;  // guarded by mutex_; consecutive sequences
  std::uint64_t last_sequence_;       // guarded by mutex_
};

}  // namespace pulse::presence
