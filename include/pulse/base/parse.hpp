// Small parsing helpers over std::from_chars, shared by every layer that reads numbers from text
// (headers, query strings, flags, state files).
#pragma once

#include <charconv>
#include <concepts>
#include <limits>
#include <optional>
#include <string_view>

namespace pulse::base {

// The whole of `text` as an unsigned decimal number: digits only (no sign, no white space, no
// base prefix), and nullopt when it does not fit in T. "007" is 7.
template <std::unsigned_integral T>
[[nodiscard]] std::optional<T> parse_decimal(std::string_view text) noexcept {
  if (text.empty()) return std::nullopt;
  T value{};
  const char* const end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value, 10);
  if (ec != std::errc{} || ptr != end) return std::nullopt;
  return value;
}

// As parse_decimal, but a number too large for T reads as T's maximum instead of failing: for
// grammars where "more than anything" has a meaning (a byte position past any file's end).
template <std::unsigned_integral T>
[[nodiscard]] std::optional<T> parse_decimal_saturating(std::string_view text) noexcept {
  if (const auto value = parse_decimal<T>(text)) return value;
  // Refused, yet nothing but digits: then it was too large.
  const bool only_digits = !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
  if (only_digits) return std::numeric_limits<T>::max();
  return std::nullopt;
}

// The longest run of leading decimal digits of `text`, for grammars that go on after the number
// ("10-20", "5s"). `digits` is how many were read (0: none, or too large for T).
template <std::unsigned_integral T>
struct DecimalPrefix {
  T value{};
  std::size_t digits = 0;
};

template <std::unsigned_integral T>
[[nodiscard]] DecimalPrefix<T> parse_decimal_prefix(std::string_view text) noexcept {
  T value{};
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 10);
  if (ec != std::errc{}) return {};
  return {value, static_cast<std::size_t>(ptr - text.data())};
}

}  // namespace pulse::base
