// ResponseSerializer: one pass of appends, no intermediate strings per header.
#include "pulse/http/serializer.hpp"

#include <fmt/format.h>

#include "pulse/http/http_date.hpp"
#include "pulse/http/status.hpp"

#ifndef PULSE_VERSION
#define PULSE_VERSION "dev"
#endif

namespace pulse::http {

std::string_view server_token() noexcept {
  return "pulsehttpd/" PULSE_VERSION;
}

bool status_has_no_body(int status) noexcept {
  return (status >= 100 && status < 200) || status == 204 || status == 304;
}

void serialize_head(const Response& response, const SerializeOptions& options, std::string& out) {
  auto it = std::back_inserter(out);
  // We answer with our own version (RFC 9110 section 6.2), also to HTTP/1.0 clients.
  fmt::format_to(it, "HTTP/1.1 {} {}\r\nDate: {}\r\nServer: {}\r\n", response.status, reason_phrase(response.status),
                 cached_http_date(), server_token());
  for (const auto& h : response.headers) {
    out.append(h.name).append(": ").append(h.value).append("\r\n");
  }
  if (options.chunked) {
    out.append("Transfer-Encoding: chunked\r\n");
  } else if (!status_has_no_body(response.status) && !response.stream) {
    fmt::format_to(it, "Content-Length: {}\r\n", response.content_length());
  }
  if (!options.connection_header.empty()) {
    out.append("Connection: ").append(options.connection_header).append("\r\n");
  }
  out.append("\r\n");
}

}  // namespace pulse::http
