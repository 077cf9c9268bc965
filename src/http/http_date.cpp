// HTTP-date: one strftime per second per thread for the Date header; parsing of IMF-fixdate,
// RFC 850 and asctime, each checked field by field.
#include "pulse/http/http_date.hpp"

#include <array>

#include "pulse/base/parse.hpp"
#include "pulse/http/request.hpp"

namespace pulse::http {
namespace {

using namespace std::chrono;

constexpr std::array<std::string_view, 7> kShortDays{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 7> kLongDays{"Monday", "Tuesday",  "Wednesday", "Thursday",
                                                    "Friday", "Saturday", "Sunday"};
constexpr std::array<std::string_view, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Consumes `text` left to right; every take_* fails (returns false) without a partial match.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : rest_(text) {}

  [[nodiscard]] bool done() const noexcept { return rest_.empty(); }

  bool take(std::string_view literal) noexcept {
    if (rest_.substr(0, literal.size()) != literal) return false;
    rest_.remove_prefix(literal.size());
    return true;
  }

  // Exactly `count` digits.
  bool take_digits(std::size_t count, int& value) noexcept {
    if (rest_.size() < count) return false;
    const auto digits = base::parse_decimal<unsigned>(rest_.substr(0, count));
    if (!digits) return false;
    value = static_cast<int>(*digits);
    rest_.remove_prefix(count);
    return true;
  }

  template <std::size_t N>
  bool take_one_of(const std::array<std::string_view, N>& names, std::size_t& index) noexcept {
    for (std::size_t i = 0; i < N; ++i) {
      if (take(names[i])) {
        index = i;
        return true;
      }
    }
    return false;
  }

  // time-of-day = hour ":" minute ":" second
  bool take_time(int& hour, int& minute, int& second) noexcept {
    return take_digits(2, hour) && take(":") && take_digits(2, minute) && take(":") && take_digits(2, second);
  }

 private:
  std::string_view rest_;
};

struct Fields {
  int year = 0;
  std::size_t month = 0;  // 0-based index into kMonths
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
};

std::optional<sys_seconds> to_time(const Fields& f) {
  const year_month_day date{year{f.year}, month{static_cast<unsigned>(f.month + 1)}, day{static_cast<unsigned>(f.day)}};
  // A leap second (60) is allowed by the grammar; it lands on the next minute's first second.
  if (!date.ok() || f.hour > 23 || f.minute > 59 || f.second > 60) return std::nullopt;
  return sys_days{date} + hours{f.hour} + minutes{f.minute} + seconds{f.second};
}

// IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
std::optional<sys_seconds> parse_imf_fixdate(std::string_view text) {
  Cursor in(text);
  Fields f;
  std::size_t ignored = 0;
  if (!in.take_one_of(kShortDays, ignored) || !in.take(", ") || !in.take_digits(2, f.day) || !in.take(" ") ||
      !in.take_one_of(kMonths, f.month) || !in.take(" ") || !in.take_digits(4, f.year) || !in.take(" ") ||
      !in.take_time(f.hour, f.minute, f.second) || !in.take(" GMT") || !in.done()) {
    return std::nullopt;
  }
  return to_time(f);
}

// rfc850-date: "Sunday, 06-Nov-94 08:49:37 GMT"
std::optional<sys_seconds> parse_rfc850(std::string_view text, sys_seconds now) {
  Cursor in(text);
  Fields f;
  std::size_t ignored = 0;
  int two_digit_year = 0;
  if (!in.take_one_of(kLongDays, ignored) || !in.take(", ") || !in.take_digits(2, f.day) || !in.take("-") ||
      !in.take_one_of(kMonths, f.month) || !in.take("-") || !in.take_digits(2, two_digit_year) || !in.take(" ") ||
      !in.take_time(f.hour, f.minute, f.second) || !in.take(" GMT") || !in.done()) {
    return std::nullopt;
  }
  // The latest year ending in these two digits that is at most 50 years after `now`.
  const int limit = static_cast<int>(year_month_day{floor<days>(now)}.year()) + 50;
  f.year = limit - (((limit - two_digit_year) % 100) + 100) % 100;
  return to_time(f);
}

// asctime-date: "Sun Nov  6 08:49:37 1994" (day space-padded) or "Sun Nov 16 08:49:37 1994"
std::optional<sys_seconds> parse_asctime(std::string_view text) {
  Cursor in(text);
  Fields f;
  std::size_t ignored = 0;
  if (!in.take_one_of(kShortDays, ignored) || !in.take(" ") || !in.take_one_of(kMonths, f.month) || !in.take(" ")) {
    return std::nullopt;
  }
  if (in.take(" ")) {
    if (!in.take_digits(1, f.day)) return std::nullopt;
  } else if (!in.take_digits(2, f.day)) {
    return std::nullopt;
  }
  if (!in.take(" ") || !in.take_time(f.hour, f.minute, f.second) || !in.take(" ") || !in.take_digits(4, f.year) ||
      !in.done()) {
    return std::nullopt;
  }
  return to_time(f);
}

}  // namespace

std::optional<sys_seconds> parse_http_date(std::string_view text) {
  return parse_http_date(text, floor<seconds>(system_clock::now()));
}

std::optional<sys_seconds> parse_http_date(std::string_view text, sys_seconds now) {
  text = trim_ows(text);
  // The forms differ at the fourth byte: "Sun," (IMF-fixdate), "Sun " (asctime), "Sund" (RFC 850).
  if (text.size() < 4) return std::nullopt;
  if (text[3] == ',') return parse_imf_fixdate(text);
  if (text[3] == ' ') return parse_asctime(text);
  return parse_rfc850(text, now);
}

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
