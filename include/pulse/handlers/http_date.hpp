// Parses HTTP-date (RFC 9110 section 5.6.7): IMF-fixdate and, as recipients must, the obsolete
// RFC 850 and asctime forms. Formatting is http::format_http_date (always IMF-fixdate).
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace pulse::handlers {

// nullopt when `text` is not a valid HTTP-date (case-sensitive, as the grammar is).
[[nodiscard]] std::optional<std::chrono::sys_seconds> parse_http_date(std::string_view text);

// As above; `now` anchors RFC 850's two-digit years: a year that would be more than 50 years
// in the future is taken as the latest past year with the same last two digits.
[[nodiscard]] std::optional<std::chrono::sys_seconds> parse_http_date(std::string_view text,
                                                                      std::chrono::sys_seconds now);

}  // namespace pulse::handlers
