// libFuzzer driver for HTTP dates and conditional requests (RFC 9110 sections 5.6.7 and 13):
// parse_http_date, evaluate_preconditions and if_range_holds on any header values. Nothing
// crashes (UBSan watches the date arithmetic); a parsed date formats back to an IMF-fixdate that
// parses to itself, and the three date forms agree on one instant; the preconditions follow the
// RFC's order and comparison rules, checked as relations between related requests.
//
// Input: newline-separated fields: If-Match, If-None-Match, If-Modified-Since,
// If-Unmodified-Since, If-Range, a date to parse, the file's entity tag, its Last-Modified. The
// first byte says which of the four precondition headers are present (bits 0-3).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "pulse/http/conditional.hpp"
#include "pulse/http/http_date.hpp"
#include "pulse/http/request.hpp"

using namespace std::chrono;
using pulse::fuzz::require;
using pulse::http::ConditionalHeaders;
using pulse::http::Precondition;
using pulse::http::Validators;

namespace {

// 2026-01-01T00:00:00Z: anchors RFC 850's two-digit years, so that a run does not depend on today.
constexpr sys_seconds kNow{seconds{1767225600}};
// Sun, 06 Nov 1994 08:49:37 GMT: Last-Modified when the input gives none.
constexpr sys_seconds kDefaultLastModified{seconds{784111777}};

int year_of(sys_seconds t) {
  return static_cast<int>(year_month_day{floor<days>(t)}.year());
}

// Years with four digits, which is all the three date forms can write.
bool writable(sys_seconds t) {
  const int year = year_of(t);
  return year >= 1000 && year <= 9999;
}

std::string format_with(sys_seconds t, const char* format) {
  const std::time_t time = t.time_since_epoch().count();
  std::tm tm{};
  ::gmtime_r(&time, &tm);
  char buffer[64];
  const auto n = std::strftime(buffer, sizeof buffer, format, &tm);
  return std::string(buffer, n);
}

void check_date(std::string_view text, sys_seconds now) {
  const auto parsed = pulse::http::parse_http_date(text, now);
  if (!parsed) return;
  const auto trimmed = pulse::http::trim_ows(text);
  if (trimmed.size() > 3 && trimmed[3] != ',' && trimmed[3] != ' ') {
    // RFC 850: the two-digit year is the latest one not more than 50 years after now.
    const int year = year_of(*parsed);
    const int limit = year_of(now) + 50;
    require(year <= limit && year > limit - 100, "an RFC 850 year lies within 50 years of now");
  }
  if (!writable(*parsed)) return;
  // What we would write in Last-Modified for this instant must read back as the same instant,
  // in each of the three forms a recipient accepts.
  const std::string imf = pulse::http::format_http_date(parsed->time_since_epoch().count());
  require(pulse::http::parse_http_date(imf, now) == parsed, "a formatted date parses to itself");
  require(pulse::http::format_http_date(pulse::http::parse_http_date(imf, now)->time_since_epoch().count()) == imf,
          "formatting a parsed IMF-fixdate is stable");
  require(pulse::http::parse_http_date(format_with(*parsed, "%a %b %e %H:%M:%S %Y"), now) == parsed,
          "asctime form parses to the same instant");
  require(pulse::http::parse_http_date(format_with(*parsed, "%A, %d-%b-%y %H:%M:%S GMT"), *parsed) == parsed,
          "RFC 850 form parses to the same instant");
}

std::string_view field(const std::vector<std::string_view>& fields, std::size_t i) {
  return i < fields.size() ? fields[i] : std::string_view{};
}

// A strong entity tag made of the input's etagc bytes (RFC 9110 section 8.8.3).
std::string entity_tag(std::string_view material) {
  if (material.empty()) return pulse::http::make_etag(0x1a2b, 0x400, 0x17f3c);
  std::string tag = "\"";
  for (const char c : material) {
    const auto u = static_cast<unsigned char>(c);
    if (u == 0x21 || (u >= 0x23 && u != 0x7f)) tag.push_back(c);
  }
  return tag + "\"";
}

Precondition evaluate(const ConditionalHeaders& headers, const Validators& validators) {
  const auto result = pulse::http::evaluate_preconditions(headers, validators);
  require(result == Precondition::kProceed || result == Precondition::kNotModified ||
              result == Precondition::kPreconditionFailed,
          "a precondition decision is one of three");
  if (result == Precondition::kPreconditionFailed) {
    require(headers.if_match || headers.if_unmodified_since, "only If-Match or If-Unmodified-Since fail (412)");
  }
  if (result == Precondition::kNotModified) {
    require(headers.if_none_match || headers.if_modified_since, "only If-None-Match or If-Modified-Since give 304");
  }
  return result;
}

void check_preconditions(const ConditionalHeaders& headers, const Validators& validators) {
  const auto result = evaluate(headers, validators);

  // Section 13.2.2: If-Unmodified-Since is ignored when If-Match is present, If-Modified-Since
  // when If-None-Match is.
  if (headers.if_match) {
    auto without = headers;
    without.if_unmodified_since.reset();
    require(evaluate(without, validators) == result, "If-Match makes If-Unmodified-Since irrelevant");
  }
  if (headers.if_none_match) {
    auto without = headers;
    without.if_modified_since.reset();
    require(evaluate(without, validators) == result, "If-None-Match makes If-Modified-Since irrelevant");
    // A well-formed tag that is not ours, put first, changes nothing (unless the value is "*").
    if (pulse::http::trim_ows(*headers.if_none_match) != "*" && validators.etag != "\"not-ours\"") {
      auto prefixed = headers;
      const std::string value = "\"not-ours\", " + std::string(*headers.if_none_match);
      prefixed.if_none_match = value;
      require(evaluate(prefixed, validators) == result, "a tag that is not ours does not change If-None-Match");
    }
  }

  // Requests whose answer the RFC fixes, with this file's validators.
  const std::string weak = "W/" + validators.etag;
  ConditionalHeaders probe;
  probe.if_none_match = validators.etag;
  require(evaluate(probe, validators) == Precondition::kNotModified, "If-None-Match: our tag is 304");
  probe.if_none_match = weak;
  require(evaluate(probe, validators) == Precondition::kNotModified, "If-None-Match compares weakly");
  probe.if_none_match = "*";
  require(evaluate(probe, validators) == Precondition::kNotModified, "If-None-Match: * is 304");
  probe = {};
  probe.if_match = validators.etag;
  require(evaluate(probe, validators) == Precondition::kProceed, "If-Match: our tag proceeds");
  probe.if_match = weak;
  require(evaluate(probe, validators) == Precondition::kPreconditionFailed, "If-Match compares strongly");
  probe.if_match = "*";
  require(evaluate(probe, validators) == Precondition::kProceed, "If-Match: * proceeds");

  require(pulse::http::if_range_holds(validators.etag, validators), "If-Range: our tag holds");
  require(!pulse::http::if_range_holds(weak, validators), "If-Range: a weak tag never holds");
  if (writable(validators.last_modified) && writable(validators.last_modified - 1s)) {
    const auto date = [](sys_seconds t) { return pulse::http::format_http_date(t.time_since_epoch().count()); };
    const std::string same = date(validators.last_modified);
    const std::string earlier = date(validators.last_modified - 1s);
    probe = {};
    probe.if_modified_since = same;
    require(evaluate(probe, validators) == Precondition::kNotModified, "If-Modified-Since: Last-Modified is 304");
    probe.if_modified_since = earlier;
    require(evaluate(probe, validators) == Precondition::kProceed, "If-Modified-Since: a second earlier proceeds");
    probe = {};
    probe.if_unmodified_since = same;
    require(evaluate(probe, validators) == Precondition::kProceed, "If-Unmodified-Since: Last-Modified proceeds");
    probe.if_unmodified_since = earlier;
    require(evaluate(probe, validators) == Precondition::kPreconditionFailed,
            "If-Unmodified-Since: a second earlier is 412");
    require(pulse::http::if_range_holds(same, validators), "If-Range: Last-Modified holds");
    require(!pulse::http::if_range_holds(earlier, validators), "If-Range: another date does not hold");
  }
}

void check_if_range(std::string_view if_range, const Validators& validators) {
  if (!pulse::http::if_range_holds(if_range, validators)) return;
  const auto trimmed = pulse::http::trim_ows(if_range);
  const bool by_tag = trimmed.starts_with(validators.etag);
  const bool by_date = pulse::http::parse_http_date(if_range) == validators.last_modified;
  require(by_tag || by_date, "If-Range holds only for our tag or our Last-Modified");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const unsigned present = data[0];
  std::vector<std::string_view> fields;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  while (true) {
    const auto newline = rest.find('\n');
    fields.push_back(rest.substr(0, newline));
    if (newline == std::string_view::npos) break;
    rest.remove_prefix(newline + 1);
  }

  check_date(field(fields, 5), kNow);
  check_date(field(fields, 5), sys_seconds{seconds{static_cast<std::int64_t>(present) * 86400 * 365}});

  Validators validators;
  validators.etag = entity_tag(field(fields, 6));
  validators.last_modified = pulse::http::parse_http_date(field(fields, 7), kNow).value_or(kDefaultLastModified);

  ConditionalHeaders headers;
  if ((present & 1) != 0) headers.if_match = field(fields, 0);
  if ((present & 2) != 0) headers.if_none_match = field(fields, 1);
  if ((present & 4) != 0) headers.if_modified_since = field(fields, 2);
  if ((present & 8) != 0) headers.if_unmodified_since = field(fields, 3);
  check_preconditions(headers, validators);
  check_if_range(field(fields, 4), validators);
  return 0;
}
