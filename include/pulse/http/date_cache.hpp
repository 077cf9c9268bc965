// The IMF-fixdate for the Date header, formatted at most once a second per thread.
#pragma once

#include <ctime>
#include <string>
#include <string_view>

namespace pulse::http {

// "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 section 5.6.7).
[[nodiscard]] std::string format_http_date(std::time_t t);

// Date for "now", cached per thread and refreshed when the second changes. The view stays
// valid until the next call on the same thread.
[[nodiscard]] std::string_view cached_http_date();

}  // namespace pulse::http
