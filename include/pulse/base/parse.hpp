// Small parsing helpers over std::from_chars, shared by every layer that reads numbers from text
// (headers, query strings, flags, state files).
#pragma once

#include <charconv>
#include <concepts>
#include <optional>
#include <string_view>

namespace pulse::base {

// The whole of `text` as an unsigned decimal number: digits only (no sign, no white space, no
// base prefix), and nullopt when it does not fit in T. "007" is 7.
template <std::unsigned_integral T>
[[nodiscard]] constexpr std::optional<T> parse_decimal(std::string_view text) noexcept {
  if (text.empty()) return std::nullopt;
  T value{};
  const char* const end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value, 10);
  if (ec != std::errc{} || ptr != end) return std::nullopt;
  return value;
}

// The longest run of leading decimal digits of `text`, for grammars that go on after the number
// ("10-20", "5s"). `digits` is how many were read (0: none, or too large for T).
template <std::unsigned_integral T>
struct DecimalPrefix {
  T value{};
  std::size_t digits = 0;
};

template <std::unsigned_integral T>
[[nodiscard]] constexpr DecimalPrefix<T> parse_decimal_prefix(std::string_view text) noexcept {
  T value{};
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 10);
  if (ec != std::errc{}) return {};
  return {value, static_cast<std::size_t>(ptr - text.data())};
}

}  // namespace pulse::base
