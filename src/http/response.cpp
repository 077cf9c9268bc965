// Response helpers: header access and the small pages every error gets.
#include "pulse/http/response.hpp"

#include <fmt/format.h>

#include "pulse/http/status.hpp"

namespace pulse::http {
std::string escape_html(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (const char c : in) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

Response& Response::set_header(std::string name, std::string value) {
  for (auto& h : headers) {
    if (iequals(h.name, name)) {
      h.value = std::move(value);
      return *this;
    }
  }
  headers.push_back({std::move(name), std::move(value)});
  return *this;
}

std::optional<std::string_view> Response::header(std::string_view name) const {
  if (auto found = find_header(headers, name)) return found;
  for (const auto& block : header_lines) {
    if (!block) continue;
    std::string_view rest(*block);
    while (!rest.empty()) {
      const auto end = rest.find("\r\n");
      const std::string_view line = rest.substr(0, end);
      const auto colon = line.find(':');
      if (colon != std::string_view::npos && iequals(line.substr(0, colon), name)) {
        return trim_ows(line.substr(colon + 1));
      }
      if (end == std::string_view::npos) break;
      rest.remove_prefix(end + 2);
    }
  }
  return std::nullopt;
}

std::uint64_t Response::content_length() const noexcept {
  if (head_content_length) return *head_content_length;
  if (file) return file->length;
  return body_view().size();
}

std::string_view Response::body_view() const noexcept {
  if (shared_body) return std::string_view(*shared_body->data).substr(shared_body->offset, shared_body->length);
  return body;
}

Response Response::text(int status, std::string body, std::string content_type) {
  Response response;
  response.status = status;
  response.body = std::move(body);
  response.headers.push_back({"Content-Type", std::move(content_type)});
  return response;
}

Response Response::error(int status, std::string_view detail) {
  const auto title = fmt::format("{} {}", status, reason_phrase(status));
  std::string body = fmt::format(
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{0}</title></head>\n"
      "<body><h1>{0}</h1>{1}<hr><p>pulsehttpd</p></body></html>\n",
      title, detail.empty() ? std::string{} : fmt::format("<p>{}</p>", escape_html(detail)));
  return text(status, std::move(body), "text/html; charset=utf-8");
}

}  // namespace pulse::http
