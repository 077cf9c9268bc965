// Request: one parsed HTTP request, as handlers see it. Plain data; built by the Parser or by hand in tests.
// Beside it, the field and form helpers that requests, responses and clients share.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pulse/base/monotonic_clock.hpp"

namespace pulse::http {

enum class Method { kGet, kHead, kPost, kPut, kDelete, kOptions, kPatch, kTrace, kConnect, kOther };

[[nodiscard]] std::string_view to_string(Method method) noexcept;
// "GET" -> kGet; anything unknown -> kOther.
[[nodiscard]] Method method_from_string(std::string_view name) noexcept;

struct Header {
  std::string name;
  std::string value;
};

// ASCII case-insensitive comparison, as header names and tokens require.
[[nodiscard]] bool iequals(std::string_view a, std::string_view b) noexcept;

// The value of the first of `headers` named `name` (case-insensitive), if any: the one lookup
// behind the header() of requests, responses and the client's responses.
[[nodiscard]] std::optional<std::string_view> find_header(std::span<const Header> headers,
                                                          std::string_view name) noexcept;

struct Request {
  Method method = Method::kGet;
  std::string method_name = "GET";  // as sent, for logs and 405/501 decisions
  std::string target = "/";         // request-target as sent: path plus optional "?query"
  std::string path = "/";           // target before '?', still percent-encoded
  std::string query;                // target after '?', without the '?'
  int version_major = 1;
  int version_minor = 1;
  std::vector<Header> headers;
  std::string body;
  std::string remote_addr;  // peer IP, for logs and the heartbeat registry
  // When the request was complete, by its worker's loop clock (read once per loop iteration,
  // so a handler need not read the clock itself). Unset (the epoch) for a request not from a
  // connection, as in tests.
  base::MonotonicClock::time_point received_at{};

  // First header with this name (case-insensitive), if any.
  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const {
    return find_header(headers, name);
  }
  [[nodiscard]] bool has_header(std::string_view name) const { return header(name).has_value(); }
  // Every line of a list-valued header joined with ", " (empty when absent).
  [[nodiscard]] std::string header_list(std::string_view name) const;

  // False when some query parameter has a malformed %-escape (query_param() then treats it as
  // absent).
  [[nodiscard]] bool query_is_well_formed() const;
  // Value of a query parameter, percent-decoded ('+' as space); nullopt when absent.
  [[nodiscard]] std::optional<std::string> query_param(std::string_view name) const;

  // Convenience for tests: a GET-like request for `target` with a Host header.
  static Request make(Method method, std::string target);
};

// Splits "a/b?x=1" into path and query.
void split_target(std::string_view target, std::string& path, std::string& query);

// Decodes %XX escapes (and '+' as space when `plus_as_space`). nullopt on a malformed escape.
[[nodiscard]] std::optional<std::string> percent_decode(std::string_view in, bool plus_as_space);

// One "name=value" pair of application/x-www-form-urlencoded text (a query string or an HTML-form
// body), still percent-encoded. A bare "name" has no value: `has_value` is false, `value` empty.
struct FormPair {
  std::string_view name;
  std::string_view value;
  bool has_value = false;
};

// Calls `visit(const FormPair&)` for each '&'-separated pair of `text`, in order, until it returns
// false. The one walker of queries and form bodies, so that both split them alike: "a&&b" has an
// empty pair between a and b, a trailing '&' adds none.
template <typename Visit>
void for_each_form_pair(std::string_view text, Visit&& visit) {
  while (!text.empty()) {
    const auto amp = text.find('&');
    const std::string_view pair = text.substr(0, amp);
    const auto eq = pair.find('=');
    const bool has_value = eq != std::string_view::npos;
    if (!visit(FormPair{pair.substr(0, eq), has_value ? pair.substr(eq + 1) : std::string_view{}, has_value})) return;
    text = amp == std::string_view::npos ? std::string_view{} : text.substr(amp + 1);
  }
}

// Strips optional whitespace (SP / HTAB) from both ends of a field value (RFC 9110 section 5.6.3).
[[nodiscard]] constexpr std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// True when the comma-separated header value contains `token` (case-insensitive), e.g.
// Connection: "keep-alive, Upgrade".
[[nodiscard]] bool header_has_token(std::string_view value, std::string_view token) noexcept;

}  // namespace pulse::http
