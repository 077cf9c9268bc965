// libFuzzer driver for evaluate_range: any Range value against any size. A partial decision lies
// inside the representation and is not empty; and every decision agrees with a reference
// evaluator written again from RFC 9110 section 14, in 128-bit arithmetic, so that saturation at
// 2^64 and the off-by-ones of "last-pos" are checked against a second reading of the grammar.
//
// Input: byte 0 chooses how the size is read (a byte, two bytes, eight bytes, or just below 2^64);
// the size bytes follow; the rest is the header value.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "pulse/http/byte_range.hpp"
#include "pulse/http/request.hpp"

using pulse::fuzz::require;
using pulse::http::RangeOutcome;

namespace {

using u128 = unsigned __int128;
constexpr u128 kMax64 = std::numeric_limits<std::uint64_t>::max();

struct Reference {
  RangeOutcome outcome = RangeOutcome::kIgnore;
  std::uint64_t first = 0;
  std::uint64_t length = 0;
};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// 1*DIGIT at `text[i]`, moving `i` past it; saturates at 2^64 - 1 (a position past any file).
std::optional<u128> digits(std::string_view text, std::size_t& i) {
  if (i >= text.size() || !is_digit(text[i])) return std::nullopt;
  u128 value = 0;
  for (; i < text.size() && is_digit(text[i]); ++i) {
    value = value * 10 + static_cast<unsigned>(text[i] - '0');
    if (value > kMax64) value = kMax64 + 1;  // stays above 2^64 - 1 without overflowing
  }
  return value > kMax64 ? kMax64 : value;
}

bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

// ranges-specifier = range-unit "=" range-set; range-set = 1#range-spec (empty list elements are
// skipped); range-spec = int-range / suffix-range. Several ranges are answered with the whole
// representation (no multipart) unless none is satisfiable: byte_range.hpp's documented choice.
Reference reference(std::string_view header, std::uint64_t size) {
  header = trim(header);
  const auto equals = header.find('=');
  if (equals == std::string_view::npos || !pulse::http::iequals(header.substr(0, equals), "bytes")) return {};
  const std::string_view set = header.substr(equals + 1);
  std::size_t specs = 0;
  std::size_t satisfiable = 0;
  Reference first_satisfiable;
  std::size_t start = 0;
  while (start <= set.size()) {
    auto end = set.find(',', start);
    if (end == std::string_view::npos) end = set.size();
    const std::string_view spec = trim(set.substr(start, end - start));
    start = end + 1;
    if (spec.empty()) continue;
    ++specs;
    std::size_t i = 0;
    u128 first = 0;
    u128 last = 0;
    if (spec[0] == '-') {  // suffix-range = "-" suffix-length
      i = 1;
      const auto suffix = digits(spec, i);
      if (!suffix || i != spec.size()) return {};
      if (*suffix == 0 || size == 0) continue;  // unsatisfiable
      const u128 length = *suffix < size ? *suffix : u128{size};
      first = size - length;
      last = size - 1;
    } else {  // int-range = first-pos "-" [ last-pos ]
      const auto parsed_first = digits(spec, i);
      if (!parsed_first || i >= spec.size() || spec[i] != '-') return {};
      ++i;
      first = *parsed_first;
      last = kMax64;
      if (i < spec.size()) {
        const auto parsed_last = digits(spec, i);
        if (!parsed_last || i != spec.size() || *parsed_last < first) return {};
        last = *parsed_last;
      }
      if (first >= size) continue;  // unsatisfiable
      if (last > u128{size} - 1) last = u128{size} - 1;
    }
    if (satisfiable++ == 0) {
      first_satisfiable.first = static_cast<std::uint64_t>(first);
      first_satisfiable.length = static_cast<std::uint64_t>(last - first + 1);
    }
  }
  if (specs == 0) return {};
  if (satisfiable == 0) return {RangeOutcome::kUnsatisfiable, 0, 0};
  if (specs > 1) return {};
  first_satisfiable.outcome = RangeOutcome::kPartial;
  return first_satisfiable;
}

std::uint64_t read_u64(const std::uint8_t* data, std::size_t n) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < n; ++i) value = (value << 8) | data[i];
  return value;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  constexpr std::size_t kSizeBytes[] = {1, 2, 8, 1};
  const unsigned mode = data[0] % 4;
  const std::size_t size_bytes = kSizeBytes[mode];
  if (size < 1 + size_bytes) return 0;
  std::uint64_t representation = read_u64(data + 1, size_bytes);
  if (mode == 3) representation = std::numeric_limits<std::uint64_t>::max() - representation;
  const std::string_view header(reinterpret_cast<const char*>(data) + 1 + size_bytes, size - 1 - size_bytes);

  const auto decision = pulse::http::evaluate_range(header, representation);
  if (decision.outcome == RangeOutcome::kPartial) {
    const auto& range = decision.range;
    require(range.length > 0, "a partial range is not empty");
    require(range.first < representation, "a partial range starts inside the representation");
    require(range.length <= representation - range.first, "a partial range ends inside the representation");
    require(range.last() < representation, "last() is inside the representation");
    const std::string text = pulse::http::content_range(range, representation);
    require(text == "bytes " + std::to_string(range.first) + "-" + std::to_string(range.last()) + "/" +
                        std::to_string(representation),
            "Content-Range is \"bytes first-last/size\"");
  } else if (decision.outcome == RangeOutcome::kUnsatisfiable) {
    require(pulse::http::unsatisfied_content_range(representation) == "bytes */" + std::to_string(representation),
            "an unsatisfiable range says \"bytes */size\"");
  }

  const Reference expected = reference(header, representation);
  require(decision.outcome == expected.outcome, "the decision agrees with the reference evaluator");
  if (expected.outcome == RangeOutcome::kPartial) {
    require(decision.range.first == expected.first && decision.range.length == expected.length,
            "the range agrees with the reference evaluator");
  }
  return 0;
}
