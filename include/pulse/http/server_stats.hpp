// ServerStats: counters every worker bumps and /metrics reads. Lock-free (relaxed atomics):
// each counter is independent, and a scrape needs no consistent snapshot across them.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace pulse::http {

class ServerStats {
 public:
  // Status codes are counted per class of 100 plus the exact common ones, see index_of().
  static constexpr int kTrackedStatuses[] = {100, 101, 200, 201, 204, 206, 301, 304, 400, 401, 403, 404,
                                             405, 408, 413, 414, 416, 429, 431, 500, 501, 503, 505};
  static constexpr std::size_t kStatusSlots = std::size(kTrackedStatuses) + 1;  // + "other"

  void on_response(int status) noexcept;
  void add_bytes_sent(std::uint64_t bytes) noexcept { bytes_sent_.fetch_add(bytes, std::memory_order_relaxed); }
  void on_connection_opened() noexcept;
  void on_connection_closed() noexcept { open_connections_.fetch_sub(1, std::memory_order_relaxed); }
  void on_connection_refused() noexcept { refused_connections_.fetch_add(1, std::memory_order_relaxed); }

  [[nodiscard]] std::uint64_t requests_with_status(int status) const noexcept;
  // Requests whose status is not in kTrackedStatuses.
  [[nodiscard]] std::uint64_t requests_other() const noexcept;
  [[nodiscard]] std::uint64_t requests_total() const noexcept;
  [[nodiscard]] std::uint64_t bytes_sent() const noexcept { return bytes_sent_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::int64_t open_connections() const noexcept {
    return open_connections_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t connections_total() const noexcept {
    return connections_total_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t refused_connections() const noexcept {
    return refused_connections_.load(std::memory_order_relaxed);
  }

 private:
  static std::size_t index_of(int status) noexcept;

  std::array<std::atomic<std::uint64_t>, kStatusSlots> by_status_{};
  std::atomic<std::uint64_t> bytes_sent_{0};
  std::atomic<std::int64_t> open_connections_{0};
  std::atomic<std::uint64_t> connections_total_{0};
  std::atomic<std::uint64_t> refused_connections_{0};
};

}  // namespace pulse::http
