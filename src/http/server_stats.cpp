// ServerStats: relaxed atomic counters shared by all workers.
#include "pulse/http/server_stats.hpp"

namespace pulse::http {

std::size_t ServerStats::index_of(int status) noexcept {
  for (std::size_t i = 0; i < std::size(kTrackedStatuses); ++i) {
    if (kTrackedStatuses[i] == status) return i;
  }
  return kStatusSlots - 1;
}

void ServerStats::on_response(int status) noexcept {
  by_status_[index_of(status)].fetch_add(1, std::memory_order_relaxed);
}

void ServerStats::on_connection_opened() noexcept {
  open_connections_.fetch_add(1, std::memory_order_relaxed);
  connections_total_.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t ServerStats::requests_with_status(int status) const noexcept {
  const std::size_t i = index_of(status);
  if (i == kStatusSlots - 1) return 0;
  return by_status_[i].load(std::memory_order_relaxed);
}

std::uint64_t ServerStats::requests_other() const noexcept {
  return by_status_[kStatusSlots - 1].load(std::memory_order_relaxed);
}

std::uint64_t ServerStats::requests_total() const noexcept {
  std::uint64_t total = 0;
  for (const auto& counter : by_status_) total += counter.load(std::memory_order_relaxed);
  return total;
}

}  // namespace pulse::http
