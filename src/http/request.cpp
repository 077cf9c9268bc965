// Request helpers: header lookup, query parameters, percent-decoding, token lists.
#include "pulse/http/request.hpp"

#include <array>

namespace pulse::http {
namespace {

struct MethodName {
  Method method;
  std::string_view name;
};
constexpr std::array kMethods{
    MethodName{Method::kGet, "GET"},     MethodName{Method::kHead, "HEAD"},     MethodName{Method::kPost, "POST"},
    MethodName{Method::kPut, "PUT"},     MethodName{Method::kDelete, "DELETE"}, MethodName{Method::kOptions, "OPTIONS"},
    MethodName{Method::kPatch, "PATCH"}, MethodName{Method::kTrace, "TRACE"},   MethodName{Method::kConnect, "CONNECT"},
};

char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string_view to_string(Method method) noexcept {
  for (const auto& entry : kMethods) {
    if (entry.method == method) return entry.name;
  }
  return "OTHER";
}

Method method_from_string(std::string_view name) noexcept {
  for (const auto& entry : kMethods) {
    if (entry.name == name) return entry.method;  // methods are case-sensitive (RFC 9110 9.1)
  }
  return Method::kOther;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

std::optional<std::string_view> find_header(std::span<const Header> headers, std::string_view name) noexcept {
  for (const auto& h : headers) {
    if (iequals(h.name, name)) return std::string_view(h.value);
  }
  return std::nullopt;
}

std::string Request::header_list(std::string_view name) const {
  std::string joined;
  for (const auto& h : headers) {
    if (!iequals(h.name, name)) continue;
    if (!joined.empty()) joined += ", ";
    joined += h.value;
  }
  return joined;
}

bool Request::query_is_well_formed() const {
  bool ok = true;
  for_each_form_pair(query, [&](const FormPair& pair) {
    // No escape spans the '=' (it is no hex digit), so checking both halves checks the pair.
    ok = percent_decode(pair.name, true) && percent_decode(pair.value, true);
    return ok;
  });
  return ok;
}

std::optional<std::string> Request::query_param(std::string_view name) const {
  std::optional<std::string> found;
  for_each_form_pair(query, [&](const FormPair& pair) {
    const auto key = percent_decode(pair.name, true);
    if (!key || *key != name) return true;
    found = percent_decode(pair.value, true);  // "" for a bare name
    return false;
  });
  return found;
}

Request Request::make(Method method, std::string target) {
  Request request;
  request.method = method;
  request.method_name = std::string(to_string(method));
  request.target = std::move(target);
  split_target(request.target, request.path, request.query);
  request.headers.push_back({"Host", "localhost"});
  request.remote_addr = "127.0.0.1";
  return request;
}

void split_target(std::string_view target, std::string& path, std::string& query) {
  const auto q = target.find('?');
  path = std::string(target.substr(0, q));
  query = q == std::string_view::npos ? std::string{} : std::string(target.substr(q + 1));
}

std::optional<std::string> percent_decode(std::string_view in, bool plus_as_space) {
  // Runs without an escape are copied whole: most paths have none at all.
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    const std::size_t next = plus_as_space ? in.find_first_of("%+", i) : in.find('%', i);
    out.append(in.substr(i, next - i));
    if (next == std::string_view::npos) break;
    i = next;
    if (in[i] == '+') {
      out.push_back(' ');
      ++i;
      continue;
    }
    if (i + 2 >= in.size()) return std::nullopt;
    const int hi = hex_value(in[i + 1]);
    const int lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 3;
  }
  return out;
}

bool header_has_token(std::string_view value, std::string_view token) noexcept {
  while (!value.empty()) {
    const auto comma = value.find(',');
    if (iequals(trim_ows(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace pulse::http
