// Date header cache: one strftime per second per thread instead of one per response.
#include "pulse/http/date_cache.hpp"

#include <array>

namespace pulse::http {

std::string format_http_date(std::time_t t) {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  // strftime's %a/%b follow the C locale, which is what HTTP needs; we never call setlocale.
  std::array<char, 64> buffer{};
  const auto n = std::strftime(buffer.data(), buffer.size(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buffer.data(), n);
}

std::string_view cached_http_date() {
  thread_local std::time_t cached_second = -1;
  thread_local std::string cached;
  const std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    cached_second = now;
    cached = format_http_date(now);
  }
  return cached;
}

}  // namespace pulse::http
