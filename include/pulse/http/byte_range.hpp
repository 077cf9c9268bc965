// Range header (RFC 9110 section 14.2) against a representation of known size: which bytes to send.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pulse::http {

struct ByteRange {
  std::uint64_t first = 0;
  std::uint64_t length = 0;  // never 0 in a kPartial decision

  [[nodiscard]] std::uint64_t last() const noexcept { return first + length - 1; }
  friend bool operator==(const ByteRange&, const ByteRange&) = default;
};

enum class RangeOutcome {
  kIgnore,         // send the whole representation (200): invalid syntax, another unit, or several ranges
  kPartial,        // send `range` (206)
  kUnsatisfiable,  // 416 with "Content-Range: bytes */size"
};

[[nodiscard]] std::string_view to_string(RangeOutcome outcome) noexcept;

struct RangeDecision {
  RangeOutcome outcome = RangeOutcome::kIgnore;
  ByteRange range;  // meaningful for kPartial only
};

// Decides what a Range header value asks of a representation of `size` bytes. Several ranges
// are answered with the whole representation (a server may ignore Range), unless none of them
// is satisfiable.
[[nodiscard]] RangeDecision evaluate_range(std::string_view range_header, std::uint64_t size) noexcept;

// "bytes 0-99/1000" for a 206.
[[nodiscard]] std::string content_range(const ByteRange& range, std::uint64_t size);
// "bytes */1000" for a 416.
[[nodiscard]] std::string unsatisfied_content_range(std::uint64_t size);

}  // namespace pulse::http
