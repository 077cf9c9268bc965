// CompactString: the memory store's per-client text (ids, messages, peer addresses) in 16 bytes
// where std::string takes 32. Most of these strings are short, and at 100,000 clients every
// 16 bytes kept per client is 1.6 MB.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pulse::presence {

// Up to kInlineBytes of text are kept in place; longer text on the heap at its exact size (no
// spare capacity: these strings are replaced whole, never appended to).
class CompactString {
 public:
  static constexpr std::size_t kInlineBytes = 15;

  CompactString() noexcept { bytes_[kTag] = 0; }
  explicit CompactString(std::string_view text) {
    bytes_[kTag] = 0;
    assign(text);
  }
  CompactString(const CompactString& other) : CompactString(other.view()) {}
  CompactString(CompactString&& other) noexcept {
    std::memcpy(bytes_, other.bytes_, sizeof bytes_);
    other.bytes_[kTag] = 0;
  }
  CompactString& operator=(const CompactString& other) {
    if (this != &other) assign(other.view());
    return *this;
  }
  CompactString& operator=(CompactString&& other) noexcept {
    if (this != &other) {
      release();
      std::memcpy(bytes_, other.bytes_, sizeof bytes_);
      other.bytes_[kTag] = 0;
    }
    return *this;
  }
  ~CompactString() { release(); }

  // `text` may view this string itself: the new bytes are made before the old ones go.
  void assign(std::string_view text) {
    if (text == view()) return;  // the common case: a client sends the same message each beat
    if (text.size() > UINT32_MAX) throw std::length_error("CompactString: text too long");
    alignas(8) unsigned char next[sizeof bytes_];
    if (text.size() <= kInlineBytes) {
      std::memcpy(next, text.data(), text.size());
      next[kTag] = static_cast<unsigned char>(text.size());
    } else {
      // std::allocator rather than new[]: the pointer lives in raw bytes, which no owning type can.
      char* heap = std::allocator<char>().allocate(text.size());
      std::memcpy(heap, text.data(), text.size());
      const auto size = static_cast<std::uint32_t>(text.size());
      std::memcpy(next, &heap, sizeof heap);
      std::memcpy(next + sizeof heap, &size, sizeof size);
      next[kTag] = kOnHeap;
    }
    release();
    std::memcpy(bytes_, next, sizeof bytes_);
  }

  [[nodiscard]] std::string_view view() const noexcept {
    if (!on_heap()) return {reinterpret_cast<const char*>(bytes_), bytes_[kTag]};
    return {heap_data(), heap_size()};
  }
  [[nodiscard]] std::size_t size() const noexcept { return on_heap() ? heap_size() : bytes_[kTag]; }
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }
  [[nodiscard]] std::string str() const { return std::string(view()); }
  // Bytes allocated outside the object (0 for inline text): for memory accounting.
  [[nodiscard]] std::size_t heap_bytes() const noexcept { return on_heap() ? heap_size() : 0; }

  friend bool operator==(const CompactString& a, const CompactString& b) noexcept { return a.view() == b.view(); }
  friend bool operator==(const CompactString& a, std::string_view b) noexcept { return a.view() == b; }

 private:
  static constexpr std::size_t kTag = 15;  // the inline size, or kOnHeap
  static constexpr unsigned char kOnHeap = 0xFF;

  [[nodiscard]] bool on_heap() const noexcept { return bytes_[kTag] == kOnHeap; }
  [[nodiscard]] char* heap_data() const noexcept {
    char* heap = nullptr;
    std::memcpy(&heap, bytes_, sizeof heap);
    return heap;
  }
  [[nodiscard]] std::uint32_t heap_size() const noexcept {
    std::uint32_t size = 0;
    std::memcpy(&size, bytes_ + sizeof(char*), sizeof size);
    return size;
  }
  void release() noexcept {
    if (on_heap()) std::allocator<char>().deallocate(heap_data(), heap_size());
    bytes_[kTag] = 0;
  }

  // Inline: the text, then its size in the last byte. On the heap: pointer, 32-bit size, tag.
  alignas(8) unsigned char bytes_[16];
};
static_assert(sizeof(CompactString) == 16);

}  // namespace pulse::presence
