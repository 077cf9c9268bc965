// HTTP-date (RFC 9110 section 5.6.7): formatting (always IMF-fixdate, cached once a second per
// thread for the Date header) and parsing (IMF-fixdate and, as recipients must, the obsolete
// RFC 850 and asctime forms).
#pragma once

#include <chrono>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace pulse::http {

// "Sun, 06 Nov 1994 08:49:37 GMT".
[[nodiscard]] std::string format_http_date(std::time_t t);

// Date for "now", cached per thread and refreshed when the second changes. The view stays
// valid until the next call on the same thread.
[[nodiscard]] std::string_view cached_http_date();

// nullopt when `text` is not a valid HTTP-date (case-sensitive, as the grammar is).
[[nodiscard]] std::optional<std::chrono::sys_seconds> parse_http_date(std::string_view text);

// As above; `now` anchors RFC 850's two-digit years: a year that would be more than 50 years
// in the future is taken as the latest past year with the same last two digits.
[[nodiscard]] std::optional<std::chrono::sys_seconds> parse_http_date(std::string_view text,
                                                                      std::chrono::sys_seconds now);

}  // namespace pulse::http
