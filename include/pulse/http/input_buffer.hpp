// InputBuffer: bytes a connection has read and not yet parsed, kept across requests, so bytes
// read ahead for the next (pipelined) request are never dropped. Owned by one connection, on
// its loop thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pulse::http {

class InputBuffer {
 public:
  // Capacity an idle connection may keep for its next request.
  static constexpr std::size_t kIdleKeepBytes = 4 * 1024;

  [[nodiscard]] std::string_view unparsed() const noexcept { return {bytes_.data() + start_, bytes_.size() - start_}; }
  [[nodiscard]] std::size_t size() const noexcept { return bytes_.size() - start_; }
  [[nodiscard]] bool empty() const noexcept { return start_ == bytes_.size(); }
  // Memory held, for tests and memory accounting.
  [[nodiscard]] std::size_t capacity() const noexcept { return bytes_.capacity(); }

  // Compacts first, so the buffer does not grow with the life of a keep-alive connection.
  void append(const char* data, std::size_t size) {
    if (start_ > 0) {
      bytes_.erase(0, start_);
      start_ = 0;
    }
    bytes_.append(data, size);
  }
  void consume(std::size_t size) noexcept { start_ += size; }
  void clear() noexcept {
    bytes_.clear();
    start_ = 0;
  }
  // Once everything is parsed: an idle keep-alive connection should not pin a large buffer
  // left by one big request.
  void shrink_if_consumed() {
    if (!empty()) return;
    if (bytes_.capacity() > kIdleKeepBytes) {
      std::string().swap(bytes_);
    } else {
      bytes_.clear();
    }
    start_ = 0;
  }

 private:
  std::string bytes_;  // the unparsed bytes start at start_
  std::size_t start_ = 0;
};

}  // namespace pulse::http
