// Range header evaluation. Anything we cannot parse is ignored rather than refused: a server
// may always answer a Range request with the whole representation (RFC 9110 section 14.2).
#include "pulse/http/byte_range.hpp"

#include <fmt/format.h>

#include <limits>
#include <optional>

#include "pulse/base/parse.hpp"
#include "pulse/http/request.hpp"

namespace pulse::http {
namespace {

constexpr std::uint64_t kSaturated = std::numeric_limits<std::uint64_t>::max();

// 1*DIGIT. Saturates instead of overflowing: a position past 2^64 is past any file's end, which
// is exactly what the saturated value means to the caller.
std::optional<std::uint64_t> parse_position(std::string_view digits) noexcept {
  return base::parse_decimal_saturating<std::uint64_t>(digits);
}

enum class SpecResult { kInvalid, kSatisfiable, kUnsatisfiable };

// One range-spec: "first-last", "first-" or "-suffix".
SpecResult evaluate_spec(std::string_view spec, std::uint64_t size, ByteRange& out) noexcept {
  const auto dash = spec.find('-');
  if (dash == std::string_view::npos) return SpecResult::kInvalid;
  const std::string_view first_text = spec.substr(0, dash);
  const std::string_view last_text = spec.substr(dash + 1);

  if (first_text.empty()) {  // suffix-range
    const auto suffix = parse_position(last_text);
    if (!suffix) return SpecResult::kInvalid;
    if (*suffix == 0 || size == 0) return SpecResult::kUnsatisfiable;
    out.length = std::min(*suffix, size);
    out.first = size - out.length;
    return SpecResult::kSatisfiable;
  }

  const auto first = parse_position(first_text);
  if (!first) return SpecResult::kInvalid;
  std::uint64_t last = kSaturated;
  if (!last_text.empty()) {
    const auto parsed = parse_position(last_text);
    if (!parsed || *parsed < *first) return SpecResult::kInvalid;
    last = *parsed;
  }
  if (*first >= size) return SpecResult::kUnsatisfiable;
  out.first = *first;
  out.length = std::min(last, size - 1) - *first + 1;
  return SpecResult::kSatisfiable;
}

}  // namespace

std::string_view to_string(RangeOutcome outcome) noexcept {
  switch (outcome) {
    case RangeOutcome::kIgnore: return "ignore";
    case RangeOutcome::kPartial: return "partial";
    case RangeOutcome::kUnsatisfiable: return "unsatisfiable";
  }
  return "unknown";
}

RangeDecision evaluate_range(std::string_view range_header, std::uint64_t size) noexcept {
  static constexpr std::string_view kUnit = "bytes";
  range_header = trim_ows(range_header);
  const auto equals = range_header.find('=');
  if (equals == std::string_view::npos || !http::iequals(range_header.substr(0, equals), kUnit)) return {};

  std::string_view set = range_header.substr(equals + 1);
  std::size_t specs = 0;
  std::size_t satisfiable = 0;
  ByteRange first_satisfiable;
  while (true) {
    const auto comma = set.find(',');
    const std::string_view spec = trim_ows(set.substr(0, comma));
    // A list may hold empty elements ("a, , b"); recipients skip them (RFC 9110 section 5.6.1).
    if (!spec.empty()) {
      ++specs;
      ByteRange range;
      switch (evaluate_spec(spec, size, range)) {
        case SpecResult::kInvalid: return {};
        case SpecResult::kSatisfiable:
          if (satisfiable++ == 0) first_satisfiable = range;
          break;
        case SpecResult::kUnsatisfiable: break;
      }
    }
    if (comma == std::string_view::npos) break;
    set.remove_prefix(comma + 1);
  }

  if (specs == 0) return {};
  if (satisfiable == 0) return {RangeOutcome::kUnsatisfiable, {}};
  if (specs > 1) return {};  // no multipart/byteranges: the whole file answers several ranges
  return {RangeOutcome::kPartial, first_satisfiable};
}

std::string content_range(const ByteRange& range, std::uint64_t size) {
  return fmt::format("bytes {}-{}/{}", range.first, range.last(), size);
}

std::string unsatisfied_content_range(std::uint64_t size) {
  return fmt::format("bytes */{}", size);
}

}  // namespace pulse::http
