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
  // Drops the unparsed bytes and gives the memory back.
  void clear() noexcept {
    std::string().swap(bytes_);
    start_ = 0;
  }
  // Once everything is parsed the buffer is given back: an idle keep-alive connection holds no
  // input memory at all (a kept 4 KiB-or-less buffer was a fifth of an idle connection's
  // memory), and the next request's first read allocates exactly what arrived.
  void release_if_consumed() noexcept {
    if (empty()) clear();
  }

 private:
  std::string bytes_;  // the unparsed bytes start at start_
  std::size_t start_ = 0;
};

}  // namespace pulse::http
