// The packed per-client history ring of the memory store.
#include "pulse/presence/history_ring.hpp"

#include <algorithm>

namespace pulse::presence {

HistoryRing::Slot HistoryRing::pack(const HistoryEntry& entry) noexcept {
  Slot slot;
  slot.at_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(entry.at.time_since_epoch()).count();
  slot.kind = static_cast<std::uint8_t>(entry.kind);
  if (entry.kind == HistoryKind::kChange) {
    slot.a = entry.from ? static_cast<std::uint8_t>(*entry.from) : kNoState;
    slot.b = static_cast<std::uint8_t>(entry.to);
  } else {
    const auto duration = std::clamp(entry.duration, std::chrono::milliseconds(0), kMaxPackedDuration);
    slot.duration_ms = static_cast<std::uint32_t>(duration.count());
    slot.a = static_cast<std::uint8_t>(entry.result);
    slot.b = entry.exit_code.value_or(0);
    slot.c = entry.exit_code ? 1 : 0;
  }
  return slot;
}

HistoryEntry HistoryRing::unpack(const Slot& slot) noexcept {
  HistoryEntry entry;
  entry.at = Time(std::chrono::duration_cast<Time::duration>(std::chrono::nanoseconds(slot.at_ns)));
  entry.kind = static_cast<HistoryKind>(slot.kind);
  if (entry.kind == HistoryKind::kChange) {
    if (slot.a != kNoState) entry.from = static_cast<ClientState>(slot.a);
    entry.to = static_cast<ClientState>(slot.b);
  } else {
    entry.result = static_cast<Health>(slot.a);
    if (slot.c != 0) entry.exit_code = slot.b;
    entry.duration = std::chrono::milliseconds(slot.duration_ms);
  }
  return entry;
}

void HistoryRing::grow(std::size_t limit) {
  const std::size_t capacity = std::min({limit, kMaxCapacity, std::max<std::size_t>(1, std::size_t{capacity_} * 2)});
  auto slots = std::make_unique_for_overwrite<Slot[]>(capacity);
  for (std::size_t i = 0; i < size_; ++i) slots[i] = slots_[(head_ + i) % capacity_];
  slots_ = std::move(slots);
  capacity_ = static_cast<std::uint16_t>(capacity);
  head_ = 0;
}

void HistoryRing::push(const HistoryEntry& entry, std::size_t limit) {
  limit = std::min(limit, kMaxCapacity);
  if (limit == 0) return;
  if (size_ == capacity_ && capacity_ < limit) grow(limit);
  if (size_ < capacity_) {
    slots_[(head_ + size_) % capacity_] = pack(entry);
    ++size_;
    return;
  }
  // Full at its limit: the newest takes the oldest's place.
  slots_[head_] = pack(entry);
  head_ = static_cast<std::uint16_t>((head_ + 1) % capacity_);
}

std::vector<HistoryEntry> HistoryRing::entries() const {
  std::vector<HistoryEntry> entries;
  entries.reserve(size_);
  for (std::size_t i = 0; i < size_; ++i) entries.push_back(unpack(slots_[(head_ + i) % capacity_]));
  return entries;
}

void HistoryRing::clear() noexcept {
  slots_.reset();
  capacity_ = head_ = size_ = 0;
}

}  // namespace pulse::presence
