// EventLog: numbers presence events and keeps the most recent ones, so a watcher that
// reconnects (SSE Last-Event-ID) is sent what it missed instead of a whole snapshot. The memory
// store numbers its events here (append); the Redis store keeps here the numbers Redis gave them
// (insert), and starts over (reset) when Redis no longer holds the events between.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "pulse/presence/presence_store.hpp"

namespace pulse::presence {

// What insert() did with an event that already has its number.
enum class Placement : std::uint8_t {
  kAppended,     // it was the next one
  kAlreadyKept,  // the log is already past it: nothing done
  kGap,          // events between the last kept and this one are missing: nothing done
};

class EventLog {
 public:
  // `start_sequence` is the last sequence "before" this log: the first event gets the next one.
  EventLog(std::size_t capacity, std::uint64_t start_sequence);

  // Any thread. Gives `event` the next sequence number, keeps it (dropping the oldest beyond the
  // capacity) and returns the number.
  std::uint64_t append(PresenceEvent event);

  // Any thread. Keeps `event` under the sequence it carries, if that is the next one. The
  // sequences kept stay consecutive, so after() can tell exactly what is missing.
  Placement insert(PresenceEvent event);
  // Any thread. Forgets every event kept; the next one is `last_sequence` + 1, and after()
  // answers nullopt for anything before `last_sequence` (those watchers need a snapshot).
  void reset(std::uint64_t last_sequence);

  // Any thread. The events after `sequence`, oldest first; nullopt when some of them were
  // already dropped, or `sequence` was never issued by this log.
  [[nodiscard]] std::optional<std::vector<PresenceEvent>> after(std::uint64_t sequence) const;
  [[nodiscard]] std::uint64_t last_sequence() const;
  // Any thread. The events kept: at most the capacity.
  [[nodiscard]] std::size_t size() const;

 private:
  // With mutex_ held: `event` carries the next sequence.
  void keep(PresenceEvent event);

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::uint64_t start_sequence_;      // guarded by mutex_
  std::deque<PresenceEvent> events_;  // guarded by mutex_; consecutive sequences
  std::uint64_t last_sequence_;       // guarded by mutex_
};

}  // namespace pulse::presence
