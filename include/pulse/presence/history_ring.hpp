// HistoryRing: one client's last state changes and runs in the memory store, 16 bytes an entry
// (a HistoryEntry takes 40), allocated on the first entry and grown by doubling up to the
// registry's history length, so a client that never changed state pays for one entry, not ten.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "pulse/presence/presence_store.hpp"

namespace pulse::presence {

class HistoryRing {
 public:
  static constexpr std::size_t kMaxCapacity = UINT16_MAX;

  // Appends `entry`, dropping the oldest once `limit` entries are kept; `limit` 0 keeps nothing.
  // Run durations saturate at kMaxPackedDuration. The caller passes the same limit every time.
  void push(const HistoryEntry& entry, std::size_t limit);
  // Oldest first.
  [[nodiscard]] std::vector<HistoryEntry> entries() const;
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  // Bytes allocated for the entries (for memory accounting).
  [[nodiscard]] std::size_t heap_bytes() const noexcept { return capacity_ * sizeof(Slot); }
  void clear() noexcept;

  // Durations are kept in 32 bits of milliseconds: 49.7 days, longer than any run is left open
  // (the longest interval plus grace is 60 days only for a client that never sends an end).
  static constexpr std::chrono::milliseconds kMaxPackedDuration{UINT32_MAX};

 private:
  // kChange: a = from (kNoState when the client joined), b = to. kRun: a = result, b = exit code,
  // c = 1 when an exit code was reported.
  struct Slot {
    std::int64_t at_ns = 0;
    std::uint32_t duration_ms = 0;
    std::uint8_t kind = 0;
    std::uint8_t a = 0;
    std::uint8_t b = 0;
    std::uint8_t c = 0;
  };
  static_assert(sizeof(Slot) == 16);
  static constexpr std::uint8_t kNoState = 0xFF;

  [[nodiscard]] static Slot pack(const HistoryEntry& entry) noexcept;
  [[nodiscard]] static HistoryEntry unpack(const Slot& slot) noexcept;
  void grow(std::size_t limit);

  std::unique_ptr<Slot[]> slots_;
  std::uint16_t capacity_ = 0;
  std::uint16_t head_ = 0;  // the oldest entry
  std::uint16_t size_ = 0;
};

}  // namespace pulse::presence
